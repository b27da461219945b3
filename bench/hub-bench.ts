// npm run bench:hub — the hub's benchmarks, each with its goal and, where one makes sense, a
// baseline measured in the same run:
//
//   1. reconnect time after a 3 s outage (FaultProxy between a real board and the hub);
//   2. command round trip REST → hub → board → reply, with 1 board and with 1,000 linked,
//      beside a trivial Fastify echo route timed by the same HTTP client;
//   3. the hub's own memory and CPU with 1,000 boards sending a reading a second each;
//   4. readings committed per second at saturation, one reading a message and then 16 as a
//      `batch` event, beside HubStore.commit alone;
//   5. (--only=scale, not in the default run) 10,000 boards on one hub and the restart storm
//      (bench/hub/scale.ts);
//   6. (--only=cluster, not in the default run) three hubs on one PostgreSQL and one Mosquitto
//      against one hub: throughput, forwarded commands, failover (bench/hub/cluster.ts).
//
// The hub runs in a process of its own (bench/hub/hub-process.ts: startHub as `tether hub`
// builds it), the 1,000 boards in another (bench/hub/swarm.ts), so each one's figures are its own.
//
//   node dist/bench/hub-bench.js [--quick] [--only=reconnect,command,resources,saturation,scale,cluster] [--profile] [--keep] [--plain-gc]
//
// --plain-gc: the hub's node without the flags `tether service install hub` gives a hub with one
// CPU (src/hub/cpu-share.ts), to measure what they change.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { hubNodeFlags } from '../src/hub/cpu-share.js';
import { SqliteStore } from '../src/hub/store/sqlite/sqlite-store.js';
import { FaultProxy } from '../test/support/fault-proxy.js';
import { cpuShare, MB, percentile, RpcChild, sleep, table, type ProcessStats } from './hub/common.js';
import { KeepAliveClient, type HttpAnswer } from './hub/http-client.js';
import { MachineLoad } from './hub/machine-load.js';
import { printProfile, type ProfileSummary } from './hub/profile.js';
import { benchCluster } from './hub/cluster.js';
import { benchScale } from './hub/scale.js';
import { probeFor, saturationVerdicts, type Latency } from './hub/saturation-probe.js';
import { startSimBoard, type SimBoard } from './hub/sim-board.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
const KEEP = argv.includes('--keep');
const PLAIN_GC = argv.includes('--plain-gc');
const ONLY = new Set((argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? 'reconnect,command,resources,saturation').split(','));
for (const a of argv) {
  if (!['--quick', '--profile', '--keep', '--plain-gc'].includes(a) && !a.startsWith('--only=')) {
    console.error(`unknown argument ${a}; usage: hub-bench.js [--quick] [--only=reconnect,command,resources,saturation,scale,cluster] [--profile] [--keep] [--plain-gc]`);
    process.exit(2);
  }
}

const BOARDS = Number(process.env['BENCH_HUB_BOARDS'] ?? 1000);
const S = QUICK
  ? { reconnectRounds: 2, reconnectParallel: 3, roundTrips: 500, warmup: 100, resourceMs: 5000, settleMs: 2000, saturateMs: 3000, baselineRows: 100_000 }
  : { reconnectRounds: 3, reconnectParallel: 4, roundTrips: 2000, warmup: 200, resourceMs: 10_000, settleMs: 3000, saturateMs: 5000, baselineRows: 300_000 };
const OUTAGE_MS = Number(process.env['BENCH_HUB_OUTAGE_MS'] ?? 3000);
const WINDOW = 64;
/**
 * Readings per message in the saturation passes: one, as a board that keeps up sends them, then
 * a batch, as a board with a backlog sends them to a hub that takes batches (protocol.md §10.4).
 */
const SATURATION_BATCHES = [1, 16] as const;

/** What one saturation pass measured. */
interface SaturationPass {
  batch: number;
  sat: { outcome: string; startAt: number; sendUntil: number; lastAckAt: number; before: SwarmStats; after: SwarmStats; inflight: number };
  h0: HubStats;
  h1: HubStats;
  firstSecond: HubStats['loop'];
  steady: HubStats['loop'];
  echo: Latency;
  command: Latency;
  committedRows: number;
  load: string;
  profile: ProfileSummary | undefined;
}
const GOALS = { reconnectMs: 1000, p99Ms: 20 };

/**
 * Where each process runs. As in the protocol bench: with two cores and taskset, the bench (the
 * HTTP client, the real boards and the FaultProxy) and the swarm run on CPU 0 and the hub alone
 * on CPU 1, like boards and a hub on separate machines; the baselines (echo route, storage) run
 * on CPU 1 too, where the hub runs. Once re-run under taskset, availableParallelism() sees one core.
 */
const PINNED =
  process.env['TETHER_BENCH_PINNED'] === '1' || (availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0);
if (PINNED && process.env['TETHER_BENCH_PINNED'] !== '1') {
  const self = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TETHER_BENCH_PINNED: '1' },
  });
  process.exit(self.status ?? 1);
}
const HUB_CPU = PINNED ? 1 : undefined;
/**
 * The hub's node flags: those `tether service install hub` writes for the CPUs the hub has here
 * (one when pinned), and --expose-gc for the heap figures.
 */
const HUB_NODE_ARGS = ['--expose-gc', ...(PLAIN_GC ? [] : hubNodeFlags(PINNED ? 1 : availableParallelism()))];

type HubStats = ProcessStats & { heapAfterGc?: number; loop: { p50: number; p99: number; max: number }; commits: { count: number; readings: number; events: number; linkStates: number; ms: number } };
type SwarmStats = ProcessStats & { counters: { readingsSent: number; readingsAcked: number; msgsSent: number; commandsAnswered: number; readingsSkipped: number; closedAfterWelcome: number }; up: number };

const load = new MachineLoad();
/** What else ran on the machine between two marks. */
function otherLoad(from: number, to: number): string {
  const l = load.between(from, to);
  if (l === undefined) return 'other processes: not measured';
  const warn = l.other > 0.05 ? ' — the figures above are disturbed by it' : '';
  return `other processes on the machine meanwhile: ${(100 * l.other).toFixed(1)} % of a core; VM steal ${(100 * l.steal).toFixed(1)} %${warn}`;
}

const fmtMs = (ms: number) => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

interface Ids {
  swarm: Array<{ id: string; token: string }>;
  reconnect: Array<{ id: string; token: string }>;
  command: { id: string; token: string };
}

/** Registers every board before the hub starts, as `tether hub add-device` would. */
async function register(dbFile: string): Promise<Ids> {
  const store = SqliteStore.open(dbFile);
  try {
    const add = async (id: string) => ({ id, token: (await store.addDevice(id)).token });
    const swarm: Ids['swarm'] = [];
    for (let i = 0; i < BOARDS; i++) swarm.push(await add(`swarm-${String(i).padStart(4, '0')}`));
    const reconnect: Ids['reconnect'] = [];
    for (let i = 0; i < S.reconnectParallel; i++) reconnect.push(await add(`reconnect-${i}`));
    return { swarm, reconnect, command: await add('bench-cmd') };
  } finally {
    await store.close();
  }
}

function countReadings(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

// ── 1. Reconnect after an outage ─────────────────────────────────────────────────────────

interface ReconnectSample {
  /** heal() → the board's link 'up' again. */
  ms: number;
  /** When the board gave up the dead connection, relative to heal() (negative: during the outage). */
  downMs: number;
  /** Connections the board opened from the outage's start until it was up. */
  dials: number;
}

interface ReconnectVariant {
  label: string;
  keepaliveMs?: number;
  handshakeTimeoutMs?: number;
  note: string;
}

async function reconnectVariant(hubLinkPort: number, ids: Ids['reconnect'], v: ReconnectVariant): Promise<ReconnectSample[]> {
  const rigs: Array<{ proxy: FaultProxy; board: SimBoard }> = [];
  try {
    for (const { id, token } of ids) {
      const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hubLinkPort } });
      const board = await startSimBoard({
        port: proxy.port,
        id,
        token,
        ...(v.keepaliveMs !== undefined ? { keepaliveMs: v.keepaliveMs } : {}),
        ...(v.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: v.handshakeTimeoutMs } : {}),
      });
      rigs.push({ proxy, board });
    }
    await Promise.all(rigs.map((r) => r.board.upAfter(0, 10_000)));
    const samples: ReconnectSample[] = [];
    for (let round = 0; round < S.reconnectRounds; round++) {
      await sleep(500);
      const results = await Promise.all(
        rigs.map(async ({ proxy, board }) => {
          // A random phase, so the outage starts anywhere between the hub's keepalive pings.
          await sleep(Math.random() * 1000);
          const start = performance.now();
          proxy.blackhole();
          await sleep(OUTAGE_MS);
          proxy.heal();
          const healAt = performance.now();
          const upAt = await board.upAfter(healAt);
          const since = board.states.filter((s) => s.at >= start && s.at <= upAt);
          const down = since.find((s) => s.state === 'down');
          return { ms: upAt - healAt, downMs: (down?.at ?? NaN) - healAt, dials: since.filter((s) => s.state === 'connecting').length };
        }),
      );
      samples.push(...results);
    }
    return samples;
  } finally {
    for (const r of rigs) {
      await r.board.close();
      await r.proxy.close();
    }
  }
}

async function benchReconnect(hubLinkPort: number, ids: Ids['reconnect']): Promise<{ rows: string[][]; ok: boolean }> {
  const all: ReconnectVariant[] = [
    { label: 'keepalive 1000 ms (default)', note: 'outage declared after 3.5 s of silence; HubLink\'s own welcome timeout' },
    { label: 'keepalive 500 ms', keepaliveMs: 500, note: 'outage declared after 1.75 s of silence; HubLink\'s own welcome timeout' },
    { label: 'keepalive 1000 ms, welcome timeout 1 s', handshakeTimeoutMs: 1000, note: 'not a default: HubLink handshakeTimeoutMs 1000' },
    { label: 'keepalive 500 ms, welcome timeout 1 s', keepaliveMs: 500, handshakeTimeoutMs: 1000, note: 'not a default: HubLink handshakeTimeoutMs 1000' },
  ];
  // --quick measures only the two configurations a board can be given today.
  const variants = QUICK ? all.slice(0, 2) : all;
  const n = S.reconnectRounds * S.reconnectParallel;
  console.log(`\n1. reconnect after a ${OUTAGE_MS / 1000} s outage — FaultProxy black hole between a real board (HubLink, sim hardware) and the hub, then heal()`);
  console.log(`   measured from heal() to the board's HubLink state 'up'; ${n} outages per row (${S.reconnectRounds} rounds × ${S.reconnectParallel} boards, each through its own proxy)`);
  const rows: string[][] = [['board link', 'n', 'p50', 'max', 'old link given up before heal', 'dials (median)', 'goal ≤ 1 s (max)']];
  let defaultOk = true;
  const details: string[] = [];
  const mark = load.mark();
  for (const v of variants) {
    const samples = await reconnectVariant(hubLinkPort, ids, v);
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    const dials = samples.map((s) => s.dials).sort((a, b) => a - b);
    const early = samples.filter((s) => s.downMs < 0).length;
    const max = sorted[sorted.length - 1] ?? NaN;
    const ok = max <= GOALS.reconnectMs;
    if (v.handshakeTimeoutMs === undefined) defaultOk &&= ok;
    rows.push([v.label, String(samples.length), fmtMs(percentile(sorted, 50)), fmtMs(max), `${early} of ${samples.length}`, String(percentile(dials, 50)), verdict(ok)]);
    details.push(
      `   ${v.label} (${v.note}):\n     heal→up ms: ${samples.map((s) => Math.round(s.ms)).join(', ')}\n     board gave up the dead connection at (ms from heal): ${samples.map((s) => Math.round(s.downMs)).join(', ')}`,
    );
  }
  console.log(table(rows));
  console.log(details.join('\n'));
  console.log(`   ${otherLoad(mark, load.mark())}`);
  return { rows, ok: defaultOk };
}

// ── 2. Command round trip ────────────────────────────────────────────────────────────────

/** Sequential round trips, interleaved in 10 blocks (baseline, hub, baseline, …). */
async function roundTrips(targets: Array<{ send: () => Promise<HttpAnswer>; check: (a: HttpAnswer) => void }>): Promise<Latency[]> {
  const samples: number[][] = targets.map(() => []);
  const once = async (i: number, record: boolean) => {
    const t = targets[i]!;
    const t0 = performance.now();
    const answer = await t.send();
    const ms = performance.now() - t0;
    if (record) samples[i]!.push(ms);
    t.check(answer);
  };
  for (let i = 0; i < targets.length; i++) for (let k = 0; k < S.warmup; k++) await once(i, false);
  const BLOCKS = 10;
  for (let block = 0; block < BLOCKS; block++) {
    for (let i = 0; i < targets.length; i++) for (let k = 0; k < S.roundTrips / BLOCKS; k++) await once(i, true);
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, n: s.length };
  });
}

const COMMAND = JSON.stringify({ action: 'read_pin', pin: 15 });

function commandTargets(hubHttp: number, apiToken: string, echoPort: number, device: string) {
  const headers = { authorization: `Bearer ${apiToken}` };
  const hubClient = new KeepAliveClient(hubHttp, headers);
  const echoClient = new KeepAliveClient(echoPort, headers);
  return {
    close: () => {
      hubClient.close();
      echoClient.close();
    },
    targets: [
      {
        send: () => echoClient.post('/api/echo', COMMAND),
        check: (a: HttpAnswer) => {
          if (a.status !== 200 || a.body !== COMMAND) throw new Error(`echo: unexpected answer ${a.status} ${a.body}`);
        },
      },
      {
        send: () => hubClient.post(`/api/devices/${device}/commands`, COMMAND),
        check: (a: HttpAnswer) => {
          if (a.status !== 200 || !a.body.includes('"ok":true')) throw new Error(`hub: unexpected answer ${a.status} ${a.body}`);
        },
      },
    ],
  };
}

// ── the run ──────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(tmpdir(), 'tether-hub-bench-'));
  const data = path.join(tmp, 'data');
  fs.mkdirSync(data);
  const dbFile = path.join(data, 'tether.db');
  const logFile = path.join(tmp, 'hub.log');
  const children: RpcChild[] = [];
  const boards: SimBoard[] = [];
  const t0 = performance.now();
  const summary: string[] = [];
  try {
    console.log(
      `tether hub bench — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${PINNED ? 2 : availableParallelism()} cores${QUICK ? ', --quick' : ''}; ${BOARDS} swarm boards`,
    );
    console.log(
      PINNED
        ? 'hub, echo baseline and storage baseline on CPU 1; bench (HTTP client, real boards, FaultProxy) and the board swarm on CPU 0 (taskset)'
        : 'not pinned to CPUs (no taskset or one core): the hub shares cores with the boards; expect more spread',
    );
    console.log(`hub's node flags: ${HUB_NODE_ARGS.join(' ')}${PLAIN_GC ? ' (--plain-gc: without those a hub with this many CPUs is given)' : ''}`);
    // Other work on the machine shows in every figure here: say how busy it was.
    console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min)`);
    load.start();
    const startMark = load.mark();
    const tReg = performance.now();
    const ids = await register(dbFile);
    console.log(`registered ${ids.swarm.length + ids.reconnect.length + 1} boards in ${fmtMs(performance.now() - tReg)}; data in ${data}`);

    const logFd = fs.openSync(logFile, 'a');
    const hub = RpcChild.start('hub', 'hub-process.js', [data], { cpu: HUB_CPU, nodeArgs: HUB_NODE_ARGS, stderr: logFd });
    children.push(hub);
    fs.closeSync(logFd);
    const info = await hub.call<{ link: number; http: number; token: string }>('info');
    const hubStats = (opts: { gc?: boolean; resetLoop?: boolean } = {}) => hub.call<HubStats>('stats', opts);
    await sleep(1000);
    const idleStats = await hubStats({ gc: true, resetLoop: true });

    // 1.
    let reconnectOk: boolean | undefined;
    if (ONLY.has('reconnect')) {
      const r = await benchReconnect(info.link, ids.reconnect);
      reconnectOk = r.ok;
      summary.push(`1. reconnect (default keepalive and keepalive 500 ms): ${verdict(r.ok)}`);
    }

    // The board the commands go to: a real board linked straight to the hub.
    const echo = RpcChild.start('echo', 'echo-http.js', [], { cpu: HUB_CPU });
    children.push(echo);
    const echoPort = (await echo.call<{ port: number }>('info')).port;
    const cmdBoard = await startSimBoard({ port: info.link, id: ids.command.id, token: ids.command.token });
    boards.push(cmdBoard);
    await cmdBoard.upAfter(0, 10_000);
    await sleep(300);
    const cmd = commandTargets(info.http, info.token, echoPort, ids.command.id);

    const latencyRows: string[][] = [['boards linked', 'target', 'n', 'p50', 'p99', 'max', 'p50 / base', 'p99 / base']];
    const latencyRow = (linked: string, base: Latency, hubL: Latency) => {
      latencyRows.push([linked, 'echo route (baseline)', String(base.n), fmtMs(base.p50), fmtMs(base.p99), fmtMs(base.max), '1.00', '1.00']);
      latencyRows.push([linked, 'hub → board → reply', String(hubL.n), fmtMs(hubL.p50), fmtMs(hubL.p99), fmtMs(hubL.max), (hubL.p50 / base.p50).toFixed(2), (hubL.p99 / base.p99).toFixed(2)]);
    };
    let loneLoop: HubStats['loop'] | undefined;
    const commandMarks: number[] = [];
    if (ONLY.has('command')) {
      commandMarks.push(load.mark());
      await hubStats({ resetLoop: true });
      const [base, hubL] = (await roundTrips(cmd.targets)) as [Latency, Latency];
      loneLoop = (await hubStats()).loop;
      commandMarks.push(load.mark());
      latencyRow('1', base, hubL);
    }
    const oneBoard = await hubStats({ gc: true, resetLoop: true });
    await sleep(S.settleMs);
    const oneBoardLater = await hubStats({ gc: true });

    // The swarm: BOARDS fake boards, each with its own token, on CPU 0 with the bench.
    const needSwarm = ONLY.has('command') || ONLY.has('resources') || ONLY.has('saturation');
    if (!needSwarm) return;
    const swarm = RpcChild.start('swarm', 'swarm.js', [], { cpu: PINNED ? 0 : undefined });
    children.push(swarm);
    const connected = await swarm.call<{ ms: number; up: number }>('connect', { port: info.link, boards: ids.swarm, concurrency: 100 });
    console.log(`\nswarm: ${connected.up} boards linked in ${fmtMs(connected.ms)} (100 handshakes at a time)`);
    await swarm.call('readings');
    await sleep(S.settleMs);

    // 3. (measured before the commands of 2. so that they do not count in the hub's CPU)
    if (ONLY.has('resources')) {
      const mark = load.mark();
      const h0 = await hubStats({ resetLoop: true });
      const s0 = await swarm.call<SwarmStats>('stats');
      if (PROFILE) await hub.call('profileStart');
      await sleep(S.resourceMs);
      const h1 = await hubStats();
      const s1 = await swarm.call<SwarmStats>('stats');
      const profile = PROFILE ? await hub.call<ProfileSummary>('profileStop', { top: 25, file: path.join(tmp, 'hub-idle.cpuprofile') }) : undefined;
      const h1gc = await hubStats({ gc: true });
      const seconds = (s1.at - s0.at) / 1000;
      const acked = (s1.counters.readingsAcked - s0.counters.readingsAcked) / seconds;
      const committed = (h1.commits.readings - h0.commits.readings) / ((h1.at - h0.at) / 1000);
      console.log(`\n3. hub resources — the hub process's own figures (process.memoryUsage, process.cpuUsage${PINNED ? ', alone on CPU 1' : ''})`);
      const rows = [
        ['hub state', 'RSS', 'heap used', 'heap after GC', 'CPU (one core)', 'event loop p99'],
        ['started, no board linked', fmtMb(idleStats.mem.rss), fmtMb(idleStats.mem.heapUsed), fmtMb(idleStats.heapAfterGc ?? NaN), '-', '-'],
        [
          '1 board linked, idle',
          fmtMb(oneBoardLater.mem.rss),
          fmtMb(oneBoardLater.mem.heapUsed),
          fmtMb(oneBoardLater.heapAfterGc ?? NaN),
          pct(cpuShare(oneBoard, oneBoardLater)),
          fmtMs(oneBoardLater.loop.p99),
        ],
        [`${fmtInt(s1.up + 1)} boards, 1 reading/s each`, fmtMb(h1.mem.rss), fmtMb(h1.mem.heapUsed), fmtMb(h1gc.heapAfterGc ?? NaN), pct(cpuShare(h0, h1)), fmtMs(h1.loop.p99)],
        [
          'per board (difference / boards)',
          `${((h1.mem.rss - oneBoardLater.mem.rss) / s1.up / 1024).toFixed(1)} KB`,
          '',
          `${(((h1gc.heapAfterGc ?? NaN) - (oneBoardLater.heapAfterGc ?? NaN)) / s1.up / 1024).toFixed(1)} KB`,
          `${(((cpuShare(h0, h1) - cpuShare(oneBoard, oneBoardLater)) * 1e6) / s1.up).toFixed(0)} µs CPU/s`,
          '',
        ],
      ];
      console.log(table(rows));
      console.log(
        `   over ${seconds.toFixed(1)} s: the swarm's readings were acked at ${fmtInt(acked)}/s, the hub committed ${fmtInt(committed)} readings/s in ${fmtInt((h1.commits.count - h0.commits.count) / seconds)} commits/s; ` +
          `swarm CPU ${pct(cpuShare(s0, s1))}; readings skipped for a full window: ${s1.counters.readingsSkipped}; connections lost: ${s1.counters.closedAfterWelcome}`,
      );
      console.log(`   ${otherLoad(mark, load.mark())}`);
      console.log('   goal: none set in the issue — figures only');
      if (profile !== undefined) {
        console.log(`\n   hub CPU profile over the same ${seconds.toFixed(0)} s (inspector, 200 µs sampling; the profiler's own cost is in it):`);
        printProfile(profile, '   ');
        console.log(`   (profile kept as ${path.join(tmp, 'hub-idle.cpuprofile')})`);
      }
      summary.push(`3. resources at ${fmtInt(s1.up)} boards: RSS ${fmtMb(h1.mem.rss)}, heap after GC ${fmtMb(h1gc.heapAfterGc ?? NaN)}, CPU ${pct(cpuShare(h0, h1))} of a core (no goal)`);
    }

    // 2. with the swarm linked and reading
    if (ONLY.has('command')) {
      const mark = load.mark();
      await hubStats({ resetLoop: true });
      const [base, hubL] = (await roundTrips(cmd.targets)) as [Latency, Latency];
      const crowdLoop = (await hubStats()).loop;
      const end = load.mark();
      const swarmUp = (await swarm.call<SwarmStats>('stats')).up;
      latencyRow(fmtInt(swarmUp + 1), base, hubL);
      console.log(`\n2. command round trip — POST /api/devices/${ids.command.id}/commands ${COMMAND} (a real board, HubLink + sim hardware, linked straight to the hub)`);
      console.log(`   one keep-alive HTTP connection (node:http), sequential; ${S.roundTrips} per row after ${S.warmup} warm-up, baseline and hub interleaved in 10 blocks;`);
      console.log(`   baseline: the same client against a trivial Fastify route that echoes the body (POST /api/echo)${PINNED ? ', on CPU 1 like the hub' : ''}`);
      console.log(table(latencyRows));
      if (loneLoop !== undefined) console.log(`   hub event-loop delay during the runs: p99 ${fmtMs(loneLoop.p99)} (1 board), ${fmtMs(crowdLoop.p99)} (${fmtInt(swarmUp + 1)} boards); max ${fmtMs(crowdLoop.max)}`);
      const lone = commandMarks.length === 2 ? load.between(commandMarks[0] as number, commandMarks[1] as number) : undefined;
      const crowd = load.between(mark, end);
      if (lone !== undefined && crowd !== undefined) {
        console.log(`   other processes on the machine meanwhile: ${(100 * lone.other).toFixed(1)} % of a core (1 board), ${(100 * crowd.other).toFixed(1)} % (${fmtInt(swarmUp + 1)} boards); VM steal ${(100 * Math.max(lone.steal, crowd.steal)).toFixed(1)} % at most${Math.max(lone.other, crowd.other) > 0.05 ? ' — the figures above are disturbed by it' : ''}`);
      }
      const ok = hubL.p99 <= GOALS.p99Ms;
      console.log(`   goal: p99 ≤ ${GOALS.p99Ms} ms with ${fmtInt(BOARDS)} boards linked: ${fmtMs(hubL.p99)} — ${verdict(ok)}`);
      summary.push(`2. command round trip p99 at ${fmtInt(swarmUp + 1)} boards: ${fmtMs(hubL.p99)} (p50 ${fmtMs(hubL.p50)}; echo baseline p99 ${fmtMs(base.p99)}) — ${verdict(ok)}`);
    }
    cmd.close();

    // 4. saturation: one reading a message, then the same boards sending `batch` events
    if (ONLY.has('saturation')) {
      await swarm.call('quiet');
      await sleep(1500); // the last once-a-second readings are acked
      const passes: SaturationPass[] = [];
      for (const batch of SATURATION_BATCHES) {
        const before = countReadings(dbFile);
        const mark = load.mark();
        const h0 = await hubStats({ resetLoop: true });
        const last = batch === SATURATION_BATCHES[SATURATION_BATCHES.length - 1];
        if (PROFILE && last) await hub.call('profileStart');
        const running = swarm.call<SaturationPass['sat']>('saturate', {
          window: WINDOW,
          durationMs: S.saturateMs,
          batch,
        });
        // The first second holds the burst of every board's first window; the loop's delays after it are the steady state's.
        await sleep(1000);
        const firstSecond = (await hubStats({ resetLoop: true })).loop;
        // REST → board round trips (and the echo route) while the swarm saturates the hub.
        const probe = commandTargets(info.http, info.token, echoPort, ids.command.id);
        const [echo, command] = (await probeFor(S.saturateMs - 1500, probe.targets)) as [Latency, Latency];
        probe.close();
        const steady = (await hubStats()).loop;
        const sat = await running;
        const h1 = await hubStats();
        const profile = PROFILE && last ? await hub.call<ProfileSummary>('profileStop', { top: 25, file: path.join(tmp, 'hub-saturation.cpuprofile') }) : undefined;
        // Every reading acknowledged is committed (ack means committed): counted with the hub running.
        const committedRows = countReadings(dbFile) - before;
        passes.push({ batch, sat, h0, h1, firstSecond, steady, echo, command, committedRows, load: otherLoad(mark, load.mark()), profile });
        await sleep(1000);
      }

      await swarm.call('close');
      await cmdBoard.close();
      boards.length = 0;
      await hub.call('close').catch(() => undefined);
      await hub.stop();

      // The storage baseline: commits the size the hub made them in the batched pass.
      const headline = passes[passes.length - 1] as SaturationPass;
      const commitsOf = (p: SaturationPass) => p.h1.commits.count - p.h0.commits.count;
      const hc = commitsOf(headline);
      const perBatch = Math.max(1, Math.round(hc > 0 ? (headline.h1.commits.linkStates - headline.h0.commits.linkStates) / hc : 0));
      const batchRows = hc > 0 ? Math.max(1, Math.round((headline.h1.commits.readings - headline.h0.commits.readings) / hc)) : 2000;
      const baseline = RpcChild.start('store-baseline', 'store-baseline.js', [], { cpu: HUB_CPU });
      children.push(baseline);
      type BaseResult = { rows: number; ms: number; perSecond: number; commits: number };
      const likeHub = await baseline.call<BaseResult>('run', { dir: fs.mkdtempSync(path.join(tmp, 'store-a-')), rows: S.baselineRows, boards: BOARDS, boardsPerBatch: perBatch, batch: batchRows });
      const bare = await baseline.call<BaseResult>('run', { dir: fs.mkdtempSync(path.join(tmp, 'store-b-')), rows: S.baselineRows, boards: BOARDS, boardsPerBatch: 0, batch: batchRows });

      console.log(`\n4. readings committed per second at saturation — ${fmtInt(headline.sat.after.up)} swarm boards, each keeping ${WINDOW} messages unacknowledged, sending for ${S.saturateMs / 1000} s; first one reading a message, then ${SATURATION_BATCHES[SATURATION_BATCHES.length - 1]} readings a message as \`batch\` events (protocol.md §10.4)`);
      console.log('   hub: readings rows counted in the store ÷ time from the first reading sent to the last ack');
      const rate = (p: SaturationPass) => p.committedRows / ((p.sat.lastAckAt - p.sat.startAt) / 1000);
      const rows = [
        ['what', 'readings', 'seconds', 'readings/s', 'hub (batches) / this'],
        [`storage: HubStore.commit, ${fmtInt(batchRows)} a batch, ${perBatch} boards' link states each (as the hub's commits)`, fmtInt(likeHub.rows), (likeHub.ms / 1000).toFixed(2), fmtInt(likeHub.perSecond), (rate(headline) / likeHub.perSecond).toFixed(2)],
        [`storage: HubStore.commit, ${fmtInt(batchRows)} a batch, readings only`, fmtInt(bare.rows), (bare.ms / 1000).toFixed(2), fmtInt(bare.perSecond), (rate(headline) / bare.perSecond).toFixed(2)],
        ...passes.map((p) => [`hub, through the link protocol, ${p.batch === 1 ? 'one reading a message' : `${p.batch} readings a message`}`, fmtInt(p.committedRows), ((p.sat.lastAckAt - p.sat.startAt) / 1000).toFixed(2), fmtInt(rate(p)), '-']),
      ];
      console.log(table(rows));
      for (const p of passes) {
        const sentReadings = p.sat.after.counters.readingsSent - p.sat.before.counters.readingsSent;
        const ackedReadings = p.sat.after.counters.readingsAcked - p.sat.before.counters.readingsAcked;
        const commits = commitsOf(p);
        const commitReadings = p.h1.commits.readings - p.h0.commits.readings;
        const hubBusy = cpuShare(p.h0, p.h1);
        const commitShare = (p.h1.commits.ms - p.h0.commits.ms) / (p.h1.at - p.h0.at);
        console.log(`\n   ${p.batch === 1 ? 'one reading a message' : `${p.batch} readings a message`}:`);
        console.log(`   the swarm sent ${fmtInt(sentReadings)} readings and got ${fmtInt(ackedReadings)} acknowledged (${p.sat.outcome}${p.sat.inflight > 0 ? `, ${p.sat.inflight} still in flight` : ''}); rows in the store: ${fmtInt(p.committedRows)}`);
        console.log(
          `   hub CPU ${pct(hubBusy)} of its core; ${fmtInt(commits)} commits of ${fmtInt(commits > 0 ? commitReadings / commits : 0)} readings and ${(commits > 0 ? (p.h1.commits.linkStates - p.h0.commits.linkStates) / commits : 0).toFixed(0)} link states on average, ` +
            `holding the thread ${pct(commitShare)} of the time; swarm CPU ${pct(cpuShare(p.sat.before, p.sat.after))}; ` +
            `hub CPU per reading committed ${((hubBusy * (p.h1.at - p.h0.at) * 1000) / Math.max(1, commitReadings)).toFixed(2)} µs`,
        );
        console.log(`   hub event-loop delay: max ${fmtMs(p.firstSecond.max)} in the first second (every board's first window at once), then p50 ${fmtMs(p.steady.p50)}, p99 ${fmtMs(p.steady.p99)}, max ${fmtMs(p.steady.max)} while sending`);
        console.log(`   ${p.load}`);
        const goals = saturationVerdicts(
          { readingsPerSecond: rate(p), storagePerSecond: likeHub.perSecond, loop: p.steady, firstSecondMax: p.firstSecond.max, echo: p.echo, command: p.command },
          fmtMs,
          fmtInt,
          p.batch === 1 ? 'one reading a message' : `${p.batch} readings a message`,
        );
        for (const line of goals.lines) console.log(line);
        if (p.committedRows !== ackedReadings) console.log(`   NOTE: rows in the store (${p.committedRows}) differ from readings acknowledged (${ackedReadings})`);
        summary.push(...goals.summary);
        if (p.profile !== undefined) {
          console.log('\n   hub CPU profile during this run (inspector, 200 µs sampling):');
          printProfile(p.profile, '   ');
          console.log(`   (profile kept as ${path.join(tmp, 'hub-saturation.cpuprofile')})`);
        }
      }
    }

    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '') : [];
    const count = (re: RegExp) => log.filter((l) => re.test(l)).length;
    console.log(
      `\nhub log: ${log.length} lines, ${count(/ warn /)} warnings, ${count(/ error /)} errors, ${count(/link down/)} links down (the reconnect runs' outages and the boards closed at the end)`,
    );
    for (const l of log.filter((l) => / error /.test(l)).slice(0, 5)) console.log(`   ${l}`);
    if (reconnectOk !== undefined || summary.length > 0) {
      console.log('\nsummary');
      for (const s of summary.sort()) console.log(`  ${s}`);
    }
    console.log(`\nwhole run: ${otherLoad(startMark, load.mark())}`);
    console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s; load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(', ')} (the bench's own processes count in it)`);
  } catch (err) {
    // The hub's log goes with the temp folder: show its end first.
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-20) : [];
    if (log.length > 0) console.error(`the hub's log ended with:\n${log.join('\n')}`);
    throw err;
  } finally {
    load.stop();
    for (const b of boards) await b.close();
    for (const c of children) await c.stop();
    if (KEEP) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if ([...ONLY].some((only) => only !== 'scale' && only !== 'cluster')) await main();
if (ONLY.has('scale')) {
  load.start();
  try {
    const summary = await benchScale({ pinned: PINNED, hubCpu: HUB_CPU, hubNodeArgs: HUB_NODE_ARGS, quick: QUICK, keep: KEEP, profile: PROFILE, load, otherLoad, roundTrips, commandTargets });
    console.log(`\nsummary (scale)\n${summary.map((s) => `  ${s}`).join('\n')}`);
  } finally {
    load.stop();
  }
}
if (ONLY.has('cluster')) {
  load.start();
  try {
    const summary = await benchCluster({ pinned: PINNED, hubCpu: HUB_CPU, hubNodeArgs: HUB_NODE_ARGS, quick: QUICK, keep: KEEP, load, otherLoad, roundTrips });
    console.log(`\nsummary (cluster)\n${summary.map((s) => `  ${s}`).join('\n')}`);
  } finally {
    load.stop();
  }
}
