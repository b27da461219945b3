// npm run bench:pymodaq — the AQ-MULTI round trip of `tether device`'s PyMoDAQ transport
// (docs/pymodaq.md), each row beside a baseline measured in the same run: a minimal Python ROUTER
// that answers the same JSON from a dict in memory (bench/pymodaq/baseline_router.py, pyzmq).
//
// The client is Python too (bench/pymodaq/dealer_client.py): a DEALER socket with a uuid identity
// sending what the Raspberry plugin sends, time.perf_counter around each send and receive. Tether
// runs as `tether device --sim --config examples/bench.yaml` in a child process, as a user starts
// it; its CPU per request comes from /proc (every thread of the process, the ZeroMQ I/O thread
// included), and so does the baseline's.
//
// Rows: (1) the 0D viewer's grab, 6 sensors + 2 pins — the AHT10 waits its 80 ms conversion, also
// under --sim, so this row is the chip's time; (2) the same without the AHT10, 5 sensors + 2 pins,
// which is the transport and the dispatcher; (3) one AQ of a pin, the smallest request; (4) the
// same 80 ms after each reply, which shows what waking from row 1's pause costs by itself.
//
//   node dist/bench/pymodaq-bench.js [--quick]
//   TETHER_PYZMQ_PYTHON: the Python with pyzmq (default /usr/bin/python3, Debian's python3-zmq)
//   BENCH_PYMODAQ_ROUND_TRIPS (rows 2 and 3, default 5000), BENCH_PYMODAQ_SLOW_ROUND_TRIPS (row 1,
//   default 400; row 4 runs a quarter of it)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { MachineLoad } from './hub/machine-load.js';
import { percentile, ROOT, sleep, table } from './hub/common.js';

const argv = process.argv.slice(2);
for (const a of argv) {
  if (a !== '--quick') {
    console.error(`unknown argument ${a}; usage: pymodaq-bench.js [--quick]`);
    process.exit(2);
  }
}
const QUICK = argv.includes('--quick');
const PYTHON = process.env['TETHER_PYZMQ_PYTHON'] ?? '/usr/bin/python3';
const FAST_N = Number(process.env['BENCH_PYMODAQ_ROUND_TRIPS'] ?? (QUICK ? 1000 : 5000));
const SLOW_N = Number(process.env['BENCH_PYMODAQ_SLOW_ROUND_TRIPS'] ?? (QUICK ? 100 : 400));
const GAP_N = Math.ceil(SLOW_N / 4);
const BLOCKS = 10;
const IDLE_MS = 3000;
const AHT10_CONVERSION_MS = 80;
const HELPERS = path.join(ROOT, 'bench', 'pymodaq');

// As in `npm run bench`: the client on CPU 0, both servers on CPU 1, like a PC and a board.
const PINNED = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const onCpu = (cpu: number, command: string[]): string[] => (PINNED ? ['taskset', '-c', String(cpu), ...command] : command);

const sensor = (add: string) => ({ register: 'add', add });
const pin = (p: string) => ({ register: 'pin', pin: p });
const PINS = [pin('18'), pin('23')];
const PIN_AQ = { type: 'AQ', register: 'pin', pin: '18' };
const TMP_AND_EMC = ['0x48', '0x49', '0x4A', '0x4B', '0x4C'].map(sensor);

interface Row {
  label: string;
  request: object;
  n: number;
  warmup: number;
  /** How many values an ACK carries: a list of this length, or one value when undefined. */
  items: number | undefined;
  /** A pause before each request, outside the timing. */
  gapMs?: number;
}

const ROWS: Row[] = [
  {
    label: '1. AQ-MULTI 6 sensors + 2 pins (0D viewer; AHT10 80 ms)',
    request: { type: 'AQ-MULTI', components: [sensor('0x38'), ...TMP_AND_EMC, ...PINS] },
    n: SLOW_N,
    warmup: 5,
    items: 8,
  },
  {
    label: '2. AQ-MULTI 5 sensors + 2 pins (no AHT10)',
    request: { type: 'AQ-MULTI', components: [...TMP_AND_EMC, ...PINS] },
    n: FAST_N,
    warmup: 300,
    items: 7,
  },
  { label: '3. AQ of one pin', request: PIN_AQ, n: FAST_N, warmup: 300, items: undefined },
  // Row 1's server sleeps 80 ms before each reply; waking a process that slept costs CPU and time
  // of its own (protocol v1 too), which this row shows apart from the AHT10's read.
  { label: `4. AQ of one pin, ${AHT10_CONVERSION_MS} ms after the last reply`, request: PIN_AQ, n: GAP_N, warmup: 5, items: undefined, gapMs: AHT10_CONVERSION_MS },
];

/** A child process whose stdout we read line by line. */
class Child {
  private readonly lines: string[] = [];
  private readonly waiters: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  private stderr = '';
  private ended: string | undefined;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    if (proc.stdout !== null) {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        const w = this.waiters.shift();
        if (w !== undefined) w.resolve(line);
        else this.lines.push(line);
      });
    }
    proc.on('exit', (code, signal) => {
      this.ended = `${name} exited (${signal ?? code})${this.stderr === '' ? '' : `:\n${this.stderr}`}`;
      for (const w of this.waiters.splice(0)) w.reject(new Error(this.ended));
    });
    proc.on('error', (e) => {
      this.ended = `${name}: ${e.message}`;
      for (const w of this.waiters.splice(0)) w.reject(new Error(this.ended));
    });
  }

  static start(name: string, command: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Child {
    const [file, ...args] = command;
    return new Child(name, spawn(file as string, args, { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] }));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  next(timeoutMs: number): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended !== undefined) return Promise.reject(new Error(this.ended));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: nothing within ${timeoutMs / 1000} s${this.stderr === '' ? '' : `:\n${this.stderr}`}`)), timeoutMs);
      this.waiters.push({
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** The first line that matches, skipping others (log lines). */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(await this.next(Math.max(1, deadline - Date.now())));
      if (m !== null) return m;
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    this.proc.kill('SIGTERM');
    await gone;
    clearTimeout(timer);
  }
}

/** CPU time of every thread of a process so far, ns (the kernel's scheduler statistics). */
function cpuNs(pid: number): number {
  let sum = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ', 1)[0]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return sum;
}

interface RunReply {
  ms?: number[];
  reply?: unknown;
  error?: string;
}

/** The Python DEALER client (bench/pymodaq/dealer_client.py), one command a line. */
class Client {
  constructor(private readonly child: Child) {}

  async call<T>(command: object, timeoutMs: number): Promise<T> {
    this.child.proc.stdin?.write(JSON.stringify(command) + '\n');
    const answer = JSON.parse(await this.child.next(timeoutMs)) as T & { error?: string; reply?: unknown };
    if (answer.error !== undefined) throw new Error(`${answer.error}${answer.reply === undefined ? '' : `: ${JSON.stringify(answer.reply)}`} (request ${JSON.stringify(command)})`);
    return answer;
  }

  async run(name: string, row: Row, n: number): Promise<number[]> {
    const r = await this.call<RunReply>({ op: 'run', name, request: row.request, n, gap_ms: row.gapMs ?? 0 }, 30_000 + n * (2500 + (row.gapMs ?? 0)));
    return r.ms ?? [];
  }
}

interface Target {
  name: string;
  label: string;
  server: Child;
}

/** A reply as the row expects it: an ACK with a list of `items` numbers, or one number. */
function shapeOf(reply: unknown, row: Row): string | undefined {
  const r = reply as { state?: unknown; value?: unknown };
  if (r.state !== 'ACK') return 'not an ACK';
  if (row.items === undefined) return typeof r.value === 'number' ? undefined : 'the value is not a number';
  if (!Array.isArray(r.value) || r.value.length !== row.items) return `the value is not a list of ${row.items}`;
  return r.value.every((v) => typeof v === 'number') ? undefined : 'an item is not a number';
}

interface Figures {
  samples: number[];
  cpuNs: number;
}

const fmtMs = (ms: number) => `${ms.toFixed(ms >= 10 ? 1 : 3)} ms`;
const fmtRatio = (x: number) => `${x.toFixed(x >= 10 ? 0 : 2)} ×`;
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

function pythonVersions(): string {
  const probe = spawnSync(PYTHON, ['-c', 'import sys, zmq; print(sys.version.split()[0], zmq.__version__, zmq.zmq_version())'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import zmq (${(probe.stderr || probe.error?.message || '').trim().split('\n').at(-1) ?? ''}): ` +
        'apt-get install python3-zmq, or set TETHER_PYZMQ_PYTHON to a Python that has pyzmq',
    );
  }
  const [py, pyzmq, libzmq] = probe.stdout.trim().split(' ');
  return `Python ${py}, pyzmq ${pyzmq} (libzmq ${libzmq})`;
}

function gitCommit(): string {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log(
    `tether PyMoDAQ bench — node ${process.version}, ${pythonVersions()}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, commit ${gitCommit()}${QUICK ? ', --quick' : ''}`,
  );
  console.log(
    PINNED
      ? 'Python client on CPU 0; the baseline ROUTER and tether device on CPU 1 (taskset)'
      : 'not pinned to CPUs (no taskset or one core): expect more spread between runs',
  );
  console.log(`load average at the start: ${load()} (1, 5, 15 min)`);

  const servers: Child[] = [];
  const machine = new MachineLoad();
  try {
    const baseline = Child.start('baseline ROUTER', onCpu(1, [PYTHON, path.join(HELPERS, 'baseline_router.py'), '127.0.0.1']));
    servers.push(baseline);
    const device = Child.start(
      'tether device',
      onCpu(1, [process.execPath, path.join(ROOT, 'bin', 'tether.js'), 'device', '--sim', '--config', 'examples/bench.yaml', '--host', '127.0.0.1', '--port', '0', '--pymodaq-port', '0']),
    );
    servers.push(device);
    const clientChild = Child.start('Python DEALER client', onCpu(0, [PYTHON, path.join(HELPERS, 'dealer_client.py')]), 'pipe');
    servers.push(clientChild);
    const client = new Client(clientChild);

    const basePort = (await baseline.waitFor(/listening on \S+:(\d+)/, 10_000))[1];
    const listening = (await device.waitFor(/listening on .*/, 20_000))[0];
    const ready = /PyMoDAQ \(ZeroMQ\) on (\S+):(\d+)/.exec(listening);
    if (ready === null) throw new Error(`tether device serves no PyMoDAQ port (no pymodaq: in examples/bench.yaml, or a build without the transport): ${listening}`);
    const targets: Target[] = [
      { name: 'baseline', label: 'Python ROUTER from memory', server: baseline },
      { name: 'tether', label: `tether device --sim, ZeroMQ on ${ready[1]}:${ready[2]}`, server: device },
    ];
    const endpoints: Record<string, string> = { baseline: `tcp://127.0.0.1:${basePort}`, tether: `tcp://127.0.0.1:${ready[2]}` };
    for (const t of targets) await client.call({ op: 'open', name: t.name, endpoint: endpoints[t.name] }, 5000);

    // Both answer every row with the same shape, over a DEALER (2 frames) and a REQ (3 frames).
    for (const row of ROWS) {
      for (const t of targets) {
        const r = await client.call<{ dealer: unknown; req: unknown }>({ op: 'check', name: t.name, request: row.request }, 10_000);
        for (const [via, reply] of Object.entries(r)) {
          const why = shapeOf(reply, row);
          if (why !== undefined) throw new Error(`${t.name} over ${via.toUpperCase()} answered row "${row.label}" with ${JSON.stringify(reply)}: ${why}`);
        }
      }
    }
    const example = await client.call<{ dealer: unknown }>({ op: 'check', name: 'tether', request: ROWS[1]?.request }, 10_000);
    console.log(`\nrequest of row 2: ${JSON.stringify(ROWS[1]?.request)}`);
    console.log(`tether's reply:   ${JSON.stringify(example.dealer)}`);

    for (const row of ROWS) for (const t of targets) await client.run(t.name, row, row.warmup);

    // What each server burns doing nothing (timers, the simulated board), to read row 1's CPU by.
    const idle = new Map<string, number>();
    const idle0 = targets.map((t) => cpuNs(t.server.pid));
    const idleAt = performance.now();
    await sleep(IDLE_MS);
    const idleMs = performance.now() - idleAt;
    targets.forEach((t, i) => idle.set(t.name, (cpuNs(t.server.pid) - (idle0[i] ?? NaN)) / 1e6 / idleMs));

    // Interleaved blocks, so that load from elsewhere on the machine falls on every row alike.
    const figures = new Map<string, Figures>();
    const key = (row: Row, t: Target) => `${row.label}|${t.name}`;
    machine.start();
    const from = machine.mark();
    for (let b = 0; b < BLOCKS; b++) {
      for (const row of ROWS) {
        const n = Math.ceil(row.n / BLOCKS);
        for (const t of targets) {
          const c0 = cpuNs(t.server.pid);
          const ms = await client.run(t.name, row, n);
          const c1 = cpuNs(t.server.pid);
          const f = figures.get(key(row, t)) ?? { samples: [], cpuNs: 0 };
          f.samples.push(...ms);
          f.cpuNs += c1 - c0;
          figures.set(key(row, t), f);
        }
      }
    }
    const to = machine.mark();
    machine.stop();

    const stats = (row: Row, t: Target) => {
      const f = figures.get(key(row, t)) ?? { samples: [], cpuNs: NaN };
      const s = [...f.samples].sort((a, b) => a - b);
      return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), cpuUs: f.cpuNs / 1000 / s.length };
    };
    const [base, tether] = targets as [Target, Target];
    console.log(`\nround trip, one at a time over one DEALER each; ${BLOCKS} interleaved blocks after a warm-up; CPU: the server process, all threads, per request`);
    const rows: string[][] = [['', 'n', 'baseline p50 / p99', 'tether p50 / p99', 'p50 / base', 'p99 / base', 'CPU/request base', 'CPU/request tether']];
    const summary: string[] = [];
    for (const row of ROWS) {
      const b = stats(row, base);
      const t = stats(row, tether);
      rows.push([
        row.label,
        String(t.n),
        `${fmtMs(b.p50)} / ${fmtMs(b.p99)}`,
        `${fmtMs(t.p50)} / ${fmtMs(t.p99)}`,
        fmtRatio(t.p50 / b.p50),
        fmtRatio(t.p99 / b.p99),
        `${b.cpuUs.toFixed(0)} µs`,
        `${t.cpuUs.toFixed(0)} µs`,
      ]);
      summary.push(`${row.label}: tether p50 ${fmtMs(t.p50)}, p99 ${fmtMs(t.p99)}; baseline ${fmtMs(b.p50)} / ${fmtMs(b.p99)}; ${fmtRatio(t.p50 / b.p50)} at p50`);
    }
    console.log(table(rows));
    const grab = stats(ROWS[0] as Row, tether);
    const noAht = stats(ROWS[1] as Row, tether);
    console.log(
      `   row 1 waits for the AHT10's ${AHT10_CONVERSION_MS} ms conversion (a timer under --sim), which the baseline does not: ` +
        `tether's p50 is ${fmtMs(grab.p50 - AHT10_CONVERSION_MS)} over ${AHT10_CONVERSION_MS} ms; row 2, the same without the AHT10, takes ${fmtMs(noAht.p50)}`,
    );
    const woken = stats(ROWS[3] as Row, tether);
    console.log(
      `   tether's CPU in row 1: ${grab.cpuUs.toFixed(0)} µs a grab, which includes waking after the ${AHT10_CONVERSION_MS} ms pause: ` +
        `a pin AQ ${AHT10_CONVERSION_MS} ms after the last reply (row 4) costs ${woken.cpuUs.toFixed(0)} µs, back to back (row 3) ${stats(ROWS[2] as Row, tether).cpuUs.toFixed(0)} µs`,
    );
    const idleShare = (t: Target) => idle.get(t.name) ?? NaN;
    console.log(
      `   idle, over ${IDLE_MS / 1000} s before the runs: the baseline used ${(100 * idleShare(base)).toFixed(2)} % of a core, tether ${(100 * idleShare(tether)).toFixed(2)} % ` +
        `(${((idleShare(tether) * grab.p50) * 1000).toFixed(0)} µs of CPU in a row-1 round trip's ${fmtMs(grab.p50)})`,
    );
    const other = machine.between(from, to);
    if (other !== undefined) {
      console.log(
        `   other processes on the machine meanwhile: ${(100 * other.other).toFixed(1)} % of a core, steal ${(100 * other.steal).toFixed(1)} %${other.other > 0.05 ? ' — DISTURBED: figures include other work' : ''}`,
      );
    }

    console.log('\nsummary');
    for (const s of summary) console.log(`  ${s}`);
    console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s; load average at the end: ${load()}`);
  } finally {
    machine.stop();
    for (const s of servers.reverse()) await s.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
