// npm run bench:firmware — the MicroPython firmware's figures:
//   1. RAM: gc.mem_alloc() under real MicroPython 1.27 (WebAssembly, 32-bit like the RP2040)
//      after importing the firmware, and with the board started and the server idle; baseline:
//      the same interpreter with nothing imported.
//   2. Flash: the bytes of the files that go on the board.
//   3. Command round trip over loopback against the firmware under CPython and against the
//      TypeScript runtime (`tether device --sim`), same run, same board config, with the ratio.
//   4. Soak: 100,000 requests from each of two clients under MicroPython 1.27 (WebAssembly): the
//      heap in use and its largest free block before and every 20,000 requests, so that a leak or
//      a heap that splits over days shows up (a TLS handshake needs one block of about 17 KB).
// Flags: --ram (1 only), --soak (4 only); none: all of them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { loadFirmwareMicroPython } from '../test/support/micropython.js';
import { FIRMWARE_DIR, REPO_ROOT } from '../test/support/firmware-board.js';
import { GREENHOUSE_BOARD, SOAK_HEAP, TLS_BLOCK_KB, soak, type HeapFigure } from '../test/support/firmware-soak.js';

const ROUND_TRIPS = Number(process.env['BENCH_ROUND_TRIPS'] ?? 3000);
const SOAK_FRAMES = Number(process.env['BENCH_SOAK_FRAMES'] ?? 100_000);
const GOAL_IDLE_KB = { direct: 44, hub: 48 };
const VECTOR_BOARD = join(REPO_ROOT, 'test', 'vectors', 'board.json');

// As in the protocol bench: the bench on core 0, each server on core 1, one at a time.
const PINNED = process.env['TETHER_BENCH_PINNED'] === '1' || (availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0);
if (PINNED && process.env['TETHER_BENCH_PINNED'] !== '1') {
  const self = spawnSync('taskset', ['-c', '0', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, TETHER_BENCH_PINNED: '1' } });
  process.exit(self.status ?? 1);
}
const onServerCore = (cmd: string[]) => (PINNED ? ['taskset', '-c', '1', ...cmd] : cmd);

// --- 1. RAM -------------------------------------------------------------------------------


/**
 * The WebAssembly port collects garbage only between calls from JavaScript (it cannot scan the
 * C stack of a running call), so each figure is taken at the start of a call of its own, after
 * gc.collect(), and what the steps built lives in globals between calls.
 */
/** What the served-client figure's client sends: its token, then one request of each common kind. */
const SERVED_REQUESTS = [
  { action: 'auth', token: GREENHOUSE_BOARD.auth.tokens[0]?.token },
  { id: 1, action: 'read_pin', pin: 20 },
  { id: 2, action: 'write_pin', pin: 20, value: 1, timeout: 5 },
  { id: 3, action: 'pwm', pin: 16, freq: 1000, duty: 0.25, timeout: 5 },
  { id: 4, action: 'read_sensor', name: 'air' },
  { id: 5, action: 'subscribe', pins: [22] },
  { id: 6, action: 'get_state' },
  { id: 7, action: 'ping' },
];

async function measureRam(hub: boolean): Promise<{ empty: number; platform: number; imported: number; idle: number; session: number; served: number; names: { platform: number; idle: number; served: number } }> {
  const fw = await loadFirmwareMicroPython();
  /** The heap in use after a step, and how many names (qstrs) are interned then. */
  const figure = async (code: string): Promise<{ bytes: number; names: number }> => {
    await fw.runAsync(code);
    // A collection in a call of its own first: the stack of the call that ran the step may
    // still hold stale pointers into what the step let go of (the collector is conservative).
    fw.run('import gc\ngc.collect()');
    const out = fw.run('gc.collect()\nprint(gc.mem_alloc())');
    const names = Number(/n_qstr=(\d+)/.exec(fw.run('import micropython\nmicropython.qstr_info()'))?.[1] ?? NaN);
    return { bytes: Number(out.trim().split('\n').at(-1)), names };
  };
  const empty = await figure('pass');
  // What a board has built in: machine and network are C on a Pico W (here: the test shims and
  // their simulated chips), asyncio (with the submodules it loads on first use) and json are
  // frozen or C, and so is binascii, which this port has as frozen Python (0.8 KB and 45
  // one-character names of its tables, none of them the firmware's).
  const platform = await figure('import json, asyncio, binascii, machine, network, simhw, simchips\nasyncio.Event, asyncio.wait_for');
  // What main.py imports before the start (app, and tether/start.py with everything it builds
  // from); drivers load when the config names them, the hub link only with config/hub.json.
  const imported = await figure(`
import sys
from tether import app, start, boards
from tether.session import Session
from tether.pipe import Pipe
from tether.net import Net
${hub ? 'from tether.link import HubLink' : ''}
`);
  // As start.run() with these config files, except that this port has no sockets: the server is
  // built but does not listen, and the hub link keeps retrying an unreachable hub.
  const idle = await figure(`
raw = json.loads(${JSON.stringify(JSON.stringify(GREENHOUSE_BOARD))})
simchips.populate(raw)
support = boards.detect()
cfg = start.config.normalize(raw, support)
del raw
clock = app.Clock()
led = app.Led(support.LED)
led_task = asyncio.create_task(led.run())
net = Net({'ssid': 'bench', 'password': 'secret'}, led)
hub = ${hub ? "{'host': '127.0.0.1', 'port': 7341, 'device_id': 'pico', 'token': 'x' * 43}" : 'None'}
board, server, link = await start.build(cfg, clock, support, net, hub, False)
start.unload()
del start
await asyncio.sleep_ms(20)
`);
  // One connected client: its session, line buffer and writer task (this port has no sockets).
  const session = await figure(`
class W:
    def write(self, b): pass
    async def drain(self): pass
    def close(self): pass
    async def wait_closed(self): pass
s = Session(board, server.dispatcher, None, W(), cfg['max_frame_bytes'])
s.pipe = Pipe(s.w)
await asyncio.sleep_ms(20)
`);
  // A client that authenticated and sent one request of each common kind, its connection still
  // open: the names its replies and tether/extras.py (the auth) interned stay, as on a board.
  const served = await figure(`
class R:
    def __init__(self, data):
        self.data = data
    async def readinto(self, mv):
        if not self.data:
            await asyncio.Event().wait()
        n = min(len(mv), len(self.data))
        mv[:n] = self.data[:n]
        self.data = self.data[n:]
        return n
s2 = Session(board, server.dispatcher, R(${JSON.stringify(SERVED_REQUESTS.map((r) => JSON.stringify(r)).join('\n') + '\n')}.encode()), W(), cfg['max_frame_bytes'])
s2_task = asyncio.create_task(s2.run())
await asyncio.sleep_ms(200)
`);
  fw.run('s2_task.cancel()\nboard.safe_all()');
  return {
    empty: empty.bytes,
    platform: platform.bytes,
    imported: imported.bytes,
    idle: idle.bytes,
    session: session.bytes,
    served: served.bytes,
    names: { platform: platform.names, idle: idle.names, served: served.names },
  };
}

/**
 * Bytes of the name tables (qstr pools) MicroPython allocates while names number `from` to `to`
 * are interned, counting from the first name made at run time: pools of 20, 40, 80 … entries
 * (py/qstr.c), each a 24-byte header and 7 bytes an entry (pointer, 2-byte hash, length) in
 * 16-byte heap blocks. A board's built-in names (machine, network, asyncio frozen) are in
 * flash, so the firmware's names start at 0 there; here the shims' names come first.
 */
function nameTables(from: number, to: number): number {
  let bytes = 0;
  for (let start = 0, size = 20; start < to; start += size, size *= 2) {
    if (start >= from) bytes += Math.ceil((24 + 7 * size) / 16) * 16;
  }
  return bytes;
}

// --- 2. Flash -----------------------------------------------------------------------------

function flashFiles(): Array<{ path: string; bytes: number }> {
  const files: Array<{ path: string; bytes: number }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (name === '__pycache__' || name === 'tests') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.py') || name.endsWith('.json')) files.push({ path: relative(FIRMWARE_DIR, p), bytes: statSync(p).size });
    }
  };
  walk(FIRMWARE_DIR);
  return files.sort((a, b) => b.bytes - a.bytes);
}

// --- 3. Round trips -----------------------------------------------------------------------

function started(child: ChildProcess, pattern: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    child.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
    child.once('exit', (code) => reject(new Error(`server exited (${String(code)}): ${seen}`)));
    lines.on('line', (line) => {
      const m = pattern.exec(line);
      if (m?.[1] !== undefined) resolve(Number(m[1]));
    });
  });
}

async function roundTrips(port: number, n: number): Promise<number[]> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await new Promise((r) => socket.once('connect', r));
  const lines = createInterface({ input: socket });
  const iterator = lines[Symbol.asyncIterator]();
  const times: number[] = [];
  await (async () => {
    socket.write('{"action":"setup_pin","pin":2,"mode":"output","value":0}\n');
    await iterator.next();
  })();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    socket.write(`{"action":"read_pin","pin":2,"id":${i}}\n`);
    const r = await iterator.next();
    if (r.done === true || !String(r.value).includes('"ok":true')) throw new Error(`bad reply: ${String(r.value)}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  socket.destroy();
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function measure(cmd: string[], pattern: RegExp): Promise<number[]> {
  const [command, ...args] = onServerCore(cmd);
  const child = spawn(command as string, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const port = await started(child, pattern);
    await roundTrips(port, 300); // warm-up
    return await roundTrips(port, ROUND_TRIPS);
  } finally {
    child.kill('SIGTERM');
  }
}

// --- 4. Soak ------------------------------------------------------------------------------

/**
 * The two clients of the soak: one that waits for each reply before it sends the next request
 * (most clients, the CLI and SDK calls in turn), and one that pipelines 50 requests, which reach
 * the board about 20 to a read.
 */
const SOAK_CLIENTS = [
  { batch: 1, what: 'a client that waits for each reply' },
  { batch: 50, what: 'a client that pipelines 50 requests at a time' },
] as const;
const SOAK_EVERY = 20_000;

// --- report -------------------------------------------------------------------------------

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
console.log(`Tether firmware bench (MicroPython ${'1.27'} WASM for RAM; CPython ${spawnSync('python3', ['--version']).stdout.toString().trim()} for round trips)\n`);

const only = (flag: string) => process.argv.includes(flag);
const all = !only('--ram') && !only('--soak');

if (all || only('--ram')) {
  for (const hub of [false, true]) {
    const ram = await measureRam(hub);
    console.log(`1${hub ? 'b' : 'a'}. RAM, gc.mem_alloc() under MicroPython 1.27 (WebAssembly, 32-bit), ${hub ? 'direct mode + hub link' : 'direct mode'}:`);
    const own = (x: number) => x - ram.platform;
    const goal = GOAL_IDLE_KB[hub ? 'hub' : 'direct'];
    console.log(`   empty interpreter                      ${kb(ram.empty)}`);
    console.log(`   + platform (asyncio, json, binascii, machine/network shims, sim chips): baseline ${kb(ram.platform)}`);
    console.log(`   after importing the firmware           ${kb(ram.imported)}  firmware's own ${kb(own(ram.imported))}`);
    console.log(`   board started, server idle             ${kb(ram.idle)}  firmware's own ${kb(own(ram.idle))}   goal ≤ ${goal} KB: ${own(ram.idle) <= goal * 1024 ? 'met' : 'MISSED'}`);
    console.log(`   with one client connected              ${kb(ram.session)}  (+${kb(ram.session - ram.idle)} for the session)`);
    console.log(`   a second one, authenticated, after one request of each common kind: ${kb(ram.served)}  (+${kb(ram.served - ram.session)})`);
    for (const [when, count] of [['idle', ram.names.idle], ['after that client', ram.names.served]] as const) {
      const names = count - ram.names.platform;
      const board = nameTables(0, names);
      const here = nameTables(ram.names.platform, count);
      console.log(`   names the firmware interns (qstrs), ${when}: ${names}: a board allocates ${kb(board)} of name tables for them, this port ${kb(here)} (its shims' names came first), so a board's figure is ${kb(Math.abs(board - here))} ${board >= here ? 'higher' : 'lower'}`);
    }
  }
}

if (all) {
  const files = flashFiles();
  const total = files.reduce((s, f) => s + f.bytes, 0);
  console.log(`\n2. Flash: ${files.length} files, ${kb(total)} (.py source and tether/messages.json; largest: ${files.slice(0, 4).map((f) => `${f.path} ${kb(f.bytes)}`).join(', ')})`);

  const fw = await measure(['python3', join(FIRMWARE_DIR, 'tests', 'host', 'run_board.py'), '--config', VECTOR_BOARD], /"port": (\d+)/);
  const ts = await measure([process.execPath, join(REPO_ROOT, 'bin', 'tether.js'), 'device', '--sim', '--config', VECTOR_BOARD, '--host', '127.0.0.1', '--port', '0'], /listening on \S+:(\d+)/);
  console.log(`\n3. read_pin round trip over loopback, ${ROUND_TRIPS} sequential requests${PINNED ? ' (bench on CPU 0, server on CPU 1)' : ''}:`);
  console.log(`   TypeScript runtime (baseline)   p50 ${pct(ts, 50).toFixed(3)} ms   p99 ${pct(ts, 99).toFixed(3)} ms`);
  console.log(`   firmware under CPython          p50 ${pct(fw, 50).toFixed(3)} ms   p99 ${pct(fw, 99).toFixed(3)} ms   ratio p50 ${(pct(fw, 50) / pct(ts, 50)).toFixed(2)}`);
}

for (const [n, client] of SOAK_CLIENTS.entries()) {
  if (!all && !only('--soak')) break;
  console.log(`\n4${'ab'[n] ?? ''}. Soak: ${SOAK_FRAMES} requests from ${client.what}, direct mode, MicroPython 1.27 (WebAssembly), first heap area ${kb(SOAK_HEAP)}:`);
  console.log('   requests    heap used   largest free block   heap areas');
  const seen: HeapFigure[] = [];
  const t0 = Date.now();
  const { replies, failed, area } = await soak(SOAK_FRAMES, client.batch, SOAK_EVERY, (f) => {
    seen.push(f);
    console.log(`   ${String(f.frames).padStart(8)}    ${kb(f.used).padStart(9)}   ${kb(f.largest).padStart(18)}   ${kb(f.total)}`);
  });
  const first = seen[0] as HeapFigure;
  const last = seen.at(-1) as HeapFigure;
  const smallest = Math.min(...seen.slice(1).map((f) => f.largest));
  const grew = seen.find((f) => f.total !== area);
  console.log(`   ${replies} replies (${failed} errors) in ${((Date.now() - t0) / 1000).toFixed(1)} s; used after − before: ${last.used >= first.used ? '+' : '−'}${kb(Math.abs(last.used - first.used))}`);
  const verdict = grew !== undefined ? `not measured: the heap had grown to ${kb(grew.total)} at ${grew.frames}` : smallest >= TLS_BLOCK_KB * 1024 ? 'met' : 'MISSED';
  console.log(`   smallest largest-free-block during the soak ${kb(smallest)} (before: ${kb(first.largest)}); a TLS session needs ~${TLS_BLOCK_KB} KB in one block: ${verdict}`);
}
// The hub-mode RAM run left a MicroPython link task retrying an unreachable hub on JS timers;
// the soak's session task polls on JS timers too.
process.exit(0);
