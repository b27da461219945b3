// npm run bench: command latency and throughput of `tether device --sim` over loopback, each
// measured in the same run as a raw NDJSON echo baseline (a bare Node TCP server), with ratios.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const ROUND_TRIPS = Number(process.env['BENCH_ROUND_TRIPS'] ?? 5000);
const PIPELINED = Number(process.env['BENCH_PIPELINED'] ?? 100_000);
const WINDOW = 1000;
const GOAL_P50_RATIO = 1.5;
const GOAL_PIPELINED = 50_000;

/**
 * Where each process runs. Left to the scheduler, a server that answers in a few µs is often woken
 * on the client's own core and one that takes a little longer on the other, which swings a
 * round trip between ~25 and ~70 µs on a VM; so the bench runs itself on core 0 and both
 * servers on core 1, like a client and a board on two machines, with the same cost for both.
 */
// Once re-run under taskset, availableParallelism() sees only core 0, so the flag carries the answer.
const PINNED =
  process.env['TETHER_BENCH_PINNED'] === '1' || (availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0);
const SERVER_CORE = ['taskset', '-c', '1'];

if (PINNED && process.env['TETHER_BENCH_PINNED'] !== '1') {
  const self = spawnSync('taskset', ['-c', '0', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TETHER_BENCH_PINNED: '1' },
  });
  process.exit(self.status ?? 1);
}

interface Server {
  child: ChildProcess;
  port: number;
}

function startServer(args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    // stderr is kept and shown only if the server fails to start, so it cannot hold the bench's pipes open.
    const [command, ...rest] = PINNED ? [...SERVER_CORE, process.execPath, ...args] : [process.execPath, ...args];
    const child = spawn(command as string, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (out += d));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /listening on (\S+):(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[2]) });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

/** A minimal line client: the same code measures the baseline and Tether. */
class Lines {
  private buffer = '';
  private waiters: Array<(line: string) => void> = [];
  private ready: string[] = [];
  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.ready.push(line);
      }
    });
  }
  static open(port: number): Promise<Lines> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Lines(s)));
      s.once('error', reject);
    });
  }
  next(): Promise<string> {
    const line = this.ready.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  close(): void {
    this.socket.destroy();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Round trips measured in interleaved blocks (baseline, then each Tether command, repeated), so
 * that a burst of load from elsewhere on the machine falls on all of them alike.
 */
async function roundTrips(targets: Array<{ port: number; line: string; check: (reply: string) => void }>): Promise<Array<{ p50: number; p99: number }>> {
  const conns = await Promise.all(targets.map((t) => Lines.open(t.port)));
  const samples: number[][] = targets.map(() => []);
  const once = async (i: number, record: boolean) => {
    const t = targets[i]!;
    const c = conns[i]!;
    const t0 = process.hrtime.bigint();
    c.socket.write(t.line);
    const reply = await c.next();
    if (record) samples[i]!.push(Number(process.hrtime.bigint() - t0) / 1000);
    t.check(reply);
  };
  for (let i = 0; i < targets.length; i++) for (let k = 0; k < 500; k++) await once(i, false);
  const BLOCKS = 10;
  for (let block = 0; block < BLOCKS; block++) {
    for (let i = 0; i < targets.length; i++) {
      for (let k = 0; k < ROUND_TRIPS / BLOCKS; k++) await once(i, true);
    }
  }
  for (const c of conns) c.close();
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99) };
  });
}

async function pipelined(port: number, line: string, check: (reply: string) => void): Promise<number> {
  const c = await Lines.open(port);
  const chunk = line.repeat(WINDOW);
  const t0 = process.hrtime.bigint();
  let inFlight = 0;
  let sent = 0;
  let received = 0;
  const pump = () => {
    while (sent < PIPELINED && inFlight < 2 * WINDOW) {
      c.socket.write(chunk);
      sent += WINDOW;
      inFlight += WINDOW;
    }
  };
  pump();
  while (received < PIPELINED) {
    const reply = await c.next();
    if (received % 997 === 0) check(reply);
    received++;
    inFlight--;
    if (inFlight <= WINDOW) pump();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  c.close();
  return PIPELINED / seconds;
}

const isOk = (reply: string) => {
  if (!reply.includes('"ok":true')) throw new Error(`unexpected reply: ${reply}`);
};
const isEcho = (want: string) => (reply: string) => {
  if (reply + '\n' !== want) throw new Error(`unexpected echo: ${reply}`);
};

const fmt = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const echo = await startServer([join('dist', 'bench', 'echo-server.js')]);
  const device = await startServer([join('bin', 'tether.js'), 'device', '--sim', '--host', '127.0.0.1', '--port', '0']);
  try {
    const readPin = '{"action":"read_pin","pin":25,"id":1}\n';
    const ping = '{"action":"ping","id":1}\n';
    console.log(`tether protocol bench — node ${process.version}, loopback, ${ROUND_TRIPS} round trips each (interleaved in 10 blocks), ${PIPELINED} pipelined commands`);
    console.log(PINNED ? 'bench client on CPU 0, echo server and tether device on CPU 1 (taskset)\n' : 'not pinned to CPUs (no taskset or one core): expect more spread between runs\n');
    const [base, tRead, tPing] = (await roundTrips([
      { port: echo.port, line: readPin, check: isEcho(readPin) },
      { port: device.port, line: readPin, check: isOk },
      { port: device.port, line: ping, check: isOk },
    ])) as [{ p50: number; p99: number }, { p50: number; p99: number }, { p50: number; p99: number }];
    const baseTput = await pipelined(echo.port, readPin, isEcho(readPin));
    const tTput = await pipelined(device.port, readPin, isOk);

    const rows: Array<[string, string, string, string]> = [
      ['raw NDJSON echo (baseline)', `${fmt(base.p50)} µs`, `${fmt(base.p99)} µs`, '1.00'],
      ['tether read_pin', `${fmt(tRead.p50)} µs`, `${fmt(tRead.p99)} µs`, (tRead.p50 / base.p50).toFixed(2)],
      ['tether ping', `${fmt(tPing.p50)} µs`, `${fmt(tPing.p99)} µs`, (tPing.p50 / base.p50).toFixed(2)],
    ];
    console.log('single command round trip      p50         p99         p50 / baseline');
    for (const r of rows) console.log(`  ${r[0].padEnd(28)} ${r[1].padEnd(11)} ${r[2].padEnd(11)} ${r[3]}`);
    console.log('\npipelined, one connection      commands/s   / baseline');
    console.log(`  ${'raw NDJSON echo (baseline)'.padEnd(28)} ${Math.round(baseTput).toString().padEnd(12)} 1.00`);
    console.log(`  ${'tether read_pin'.padEnd(28)} ${Math.round(tTput).toString().padEnd(12)} ${(tTput / baseTput).toFixed(2)}`);

    const p50Ratio = tRead.p50 / base.p50;
    console.log('\ngoals');
    console.log(`  read_pin p50 ≤ ${GOAL_P50_RATIO} × echo p50: ${p50Ratio.toFixed(2)} × — ${p50Ratio <= GOAL_P50_RATIO ? 'met' : 'MISSED'}`);
    console.log(`  pipelined ≥ ${GOAL_PIPELINED} commands/s: ${Math.round(tTput)} — ${tTput >= GOAL_PIPELINED ? 'met' : 'MISSED'}`);
  } finally {
    echo.child.kill('SIGTERM');
    device.child.kill('SIGTERM');
  }
}

await main();
