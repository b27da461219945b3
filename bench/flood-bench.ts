// npm run bench:flood — how long a real board takes to link to the hub while the hub's link port
// is flooded with silent connections (protocol.md §10.8), beside the same board's time without a
// flood, measured in the same run:
//
//   baseline  no flood;
//   held      N silent connections opened just before each dial, spread over loopback addresses
//             (the hub keeps at most 8 per address and 256 in all, the oldest silent giving way);
//   refilled  the attacker opens a new connection for each one the hub closes, as fast as it can,
//             so N are always open or on their way.
//
// The hub runs in a process of its own (bench/hub/hub-process.ts, as `tether hub` builds it), the
// flood in another (bench/hub/flood-process.ts), the board here (HubLink on sim hardware, with its
// own defaults: 750 ms to dial and get the welcome, jittered backoff).
//
//   node dist/bench/flood-bench.js [--quick] [--n=1000] [--rounds=10] [--sources=40]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../src/hub/store/sqlite/sqlite-store.js';
import { cpuShare, percentile, RpcChild, sleep, table, type ProcessStats } from './hub/common.js';
import { MachineLoad } from './hub/machine-load.js';
import { startSimBoard } from './hub/sim-board.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const option = (name: string, fallback: number): number => {
  const arg = argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
};
for (const a of argv) {
  if (a !== '--quick' && !/^--(n|rounds|sources)=\d+$/.test(a)) {
    console.error(`unknown argument ${a}; usage: flood-bench.js [--quick] [--n=1000] [--rounds=10] [--sources=40]`);
    process.exit(2);
  }
}
const N = option('n', 1000);
const ROUNDS = option('rounds', QUICK ? 5 : 10);
const SOURCES = option('sources', 40);
const GOAL_MS = 2000;
const DEVICE = 'flood-board';

/** With two cores and taskset: the hub alone on CPU 1, the attacker on CPU 0 (the board floats). */
const PINNED = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

type HubStats = ProcessStats & { loop: { p50: number; p99: number; max: number } };

interface Sample {
  ms: number;
  dials: number;
}

const fmtMs = (ms: number) => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The kernel's count of connections dropped because a listen queue was full (all sockets of the machine). */
function listenOverflows(): number | undefined {
  try {
    const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const at = names.indexOf('ListenOverflows');
    return at === -1 ? undefined : Number(values[at]);
  } catch {
    return undefined;
  }
}

/** Starts a board, times it from before its start to its link's 'up', and closes it. */
async function linkOnce(port: number, token: string): Promise<Sample> {
  const t0 = performance.now();
  const board = await startSimBoard({ port, id: DEVICE, token });
  try {
    const up = await board.upAfter(t0, 30_000);
    // The first dial's 'connecting' comes before the bench listens; count the later ones.
    return { ms: up - t0, dials: 1 + board.states.filter((s) => s.state === 'connecting' && s.at <= up).length };
  } finally {
    await board.close();
  }
}

interface Scenario {
  label: string;
  samples: Sample[];
  hub: { cpu: number; loopP99: number };
  overflows: number | undefined;
  note: string;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(tmpdir(), 'tether-flood-bench-'));
  const data = path.join(tmp, 'data');
  fs.mkdirSync(data);
  const logFile = path.join(tmp, 'hub.log');
  const children: RpcChild[] = [];
  const load = new MachineLoad();
  try {
    console.log(`tether flood bench — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores${QUICK ? ', --quick' : ''}`);
    console.log(PINNED ? 'hub alone on CPU 1, the flood on CPU 0 (taskset); the board not pinned' : 'not pinned to CPUs (no taskset or one core): the hub shares cores with the flood');
    console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min)`);
    load.start();
    const store = SqliteStore.open(path.join(data, 'tether.db'));
    const { token } = await store.addDevice(DEVICE);
    await store.close();
    const logFd = fs.openSync(logFile, 'a');
    const hubProc = RpcChild.start('hub', 'hub-process.js', [data], { cpu: PINNED ? 1 : undefined, stderr: logFd });
    children.push(hubProc);
    const { link: port } = await hubProc.call<{ link: number }>('info');
    const flood = RpcChild.start('flood', 'flood-process.js', [], { cpu: PINNED ? 0 : undefined });
    children.push(flood);

    const scenarios: Scenario[] = [];
    const measure = async (label: string, note: string, round: () => Promise<Sample>) => {
      const before = await hubProc.call<HubStats>('stats', { resetLoop: true });
      const overflows = listenOverflows();
      const samples: Sample[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        samples.push(await round());
        await sleep(200);
      }
      const after = await hubProc.call<HubStats>('stats');
      const overflowsAfter = listenOverflows();
      scenarios.push({
        label,
        note,
        samples,
        hub: { cpu: cpuShare(before, after), loopP99: after.loop.p99 },
        overflows: overflows === undefined || overflowsAfter === undefined ? undefined : overflowsAfter - overflows,
      });
    };

    await linkOnce(port, token); // warm-up: the first link of a run also pays for module loading
    await measure('baseline: no flood', 'the board alone', () => linkOnce(port, token));

    const opened: number[] = [];
    await measure(`held: ${fmtInt(N)} silent connections`, 'opened just before each dial', async () => {
      const started = await flood.call<{ connected: number; sources: number; ms: number }>('start', { port, count: N, sources: SOURCES });
      opened.push(started.ms);
      try {
        return await linkOnce(port, token);
      } finally {
        await flood.call('stop');
      }
    });

    const started = await flood.call<{ connected: number; closedByPeer: number; sources: number }>('start', { port, count: N, sources: SOURCES, refill: true });
    await sleep(1000); // past the opening burst, into the steady churn
    const churnFrom = { at: performance.now(), closed: (await flood.call<{ closedByPeer: number }>('counts')).closedByPeer };
    await measure(`refilled: ${fmtInt(N)}, each closed one re-opened at once`, 'a steady churn', () => linkOnce(port, token));
    const churnTo = await flood.call<{ closedByPeer: number; connected: number }>('stop');
    const churn = ((churnTo.closedByPeer - churnFrom.closed) * 1000) / (performance.now() - churnFrom.at);

    const base = scenarios[0] as Scenario;
    const baseP50 = percentile(base.samples.map((s) => s.ms).sort((a, b) => a - b), 50);
    console.log(`\nboard link time — from the board's start (Board, sim hardware, HubLink) to its link state 'up'; ${ROUNDS} links per row, one after another`);
    console.log(`flood: from ${started.sources} loopback address${started.sources === 1 ? '' : 'es'} (127.0.0.1, the board's own, among them)`);
    const rows: string[][] = [['scenario', 'p50', 'max', 'p50 ÷ baseline', 'dials (max)', 'hub CPU', 'hub loop p99', 'listen overflows', `goal ≤ ${GOAL_MS / 1000} s (max)`]];
    let floodOk = true;
    for (const s of scenarios) {
      const sorted = s.samples.map((x) => x.ms).sort((a, b) => a - b);
      const max = sorted[sorted.length - 1] ?? NaN;
      const ok = max <= GOAL_MS;
      if (s !== base) floodOk &&= ok;
      rows.push([
        s.label,
        fmtMs(percentile(sorted, 50)),
        fmtMs(max),
        s === base ? '—' : `${(percentile(sorted, 50) / baseP50).toFixed(1)} ×`,
        String(Math.max(...s.samples.map((x) => x.dials))),
        `${(100 * s.hub.cpu).toFixed(0)} %`,
        fmtMs(s.hub.loopP99),
        s.overflows === undefined ? '?' : fmtInt(s.overflows),
        s === base ? '—' : ok ? 'PASS' : 'MISS',
      ]);
    }
    console.log(table(rows));
    for (const s of scenarios) console.log(`  ${s.label} (${s.note}): ${s.samples.map((x) => Math.round(x.ms)).join(', ')} ms`);
    const openedSorted = [...opened].sort((a, b) => a - b);
    console.log(`  held: the flood took ${fmtMs(percentile(openedSorted, 50))} (median) to open its ${fmtInt(N)} connections before each dial`);
    console.log(`  refilled: the hub closed ${fmtInt(churn)} silent connections a second (the attacker's re-opening rate); ${fmtInt(churnTo.connected)} opened in all`);
    console.log('  listen overflows: connections the kernel dropped because the listen queue was full (whole machine); a dropped dial waits for its 750 ms timeout');
    const log = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '');
    console.log(`  hub log: ${log.length} lines in all for ${fmtInt(churnTo.connected + N * ROUNDS)} silent connections (one line a minute per address, not one per connection)`);
    const other = load.between(0, load.mark());
    if (other !== undefined) {
      console.log(`  other processes on the machine meanwhile: ${(100 * other.other).toFixed(1)} % of a core; VM steal ${(100 * other.steal).toFixed(1)} %${other.other > 0.05 ? ' — the figures above are disturbed by it' : ''}`);
    }
    console.log(`\ngoal: a board links within ${GOAL_MS / 1000} s during the flood: ${floodOk ? 'PASS' : 'MISS'}`);
  } finally {
    load.stop();
    for (const c of children.reverse()) await c.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
