// `hub-bench --only=scale`: one hub with 10,000 boards linked (BENCH_HUB_SCALE_BOARDS), each
// sending a reading every 10 s over link protocol 2 (keys, sealed frames), then the restart
// storm: the hub is SIGKILLed with every board linked and started again on the same data folder
// and port, and every board dials back with its own jittered backoff (protocol.md §10.3).
//
//   5a. linking them all, the hub's start-up with them registered;
//   5b. the hub's RSS, heap after GC and CPU with them all reading;
//   5c. the REST → board command round trip beside the echo route, in the same run;
//   5d. the storm: time from the kill until every board is welcomed again, per board (p50, p99,
//       max, the slowest board), the handshakes the hub completed per second, how the boards'
//       failed attempts ended.
//
// The boards are bench/hub/swarm.ts processes (one per 2,500 boards, BENCH_HUB_SCALE_PER_SWARM),
// each board dialling from its own loopback address, with HubLink's dial loop (the product's
// Backoff and handshake timeouts).
import fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { FILES_BESIDES_BOARDS, processFileLimits } from '../../src/hub/file-limit.js';
import { cpuShare, MB, percentile, RpcChild, sleep, table, type ProcessStats } from './common.js';
import type { HttpAnswer } from './http-client.js';
import type { MachineLoad } from './machine-load.js';
import { printProfile, type ProfileSummary } from './profile.js';
import { startSimBoard, type SimBoard } from './sim-board.js';

export interface Latency {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

type Target = { send: () => Promise<HttpAnswer>; check: (a: HttpAnswer) => void };

/** What the scale run takes from hub-bench.ts: where processes run, the load meter and the command timing. */
export interface ScaleContext {
  pinned: boolean;
  hubCpu: number | undefined;
  /** Node flags for the hub's process. */
  hubNodeArgs: string[];
  quick: boolean;
  keep: boolean;
  /** Print the hub's CPU profile of the steady state and of the storm. */
  profile: boolean;
  load: MachineLoad;
  otherLoad(from: number, to: number): string;
  roundTrips(targets: Target[]): Promise<Latency[]>;
  commandTargets(hubHttp: number, apiToken: string, echoPort: number, device: string): { close(): void; targets: Target[] };
}

const BOARDS = Number(process.env['BENCH_HUB_SCALE_BOARDS'] ?? 10_000);
/**
 * Boards per swarm process: fewer sockets per event loop, shorter turns, so that a board's hello
 * follows its connection at once (a late hello looks silent to the hub, §10.8).
 */
const PER_SWARM = Number(process.env['BENCH_HUB_SCALE_PER_SWARM'] ?? 2500);
const READING_MS = 10_000;
const GOALS = { p99Ms: 20, relinkAllMs: 60_000 };
/** Open files a hub needs beyond one per board (the product's figure), and room for handshakes of boards that gave up. */
const FILE_MARGIN = FILES_BESIDES_BOARDS + 512;

type HubStats = ProcessStats & { heapAfterGc?: number; loop: { p50: number; p99: number; max: number } };
type HubInfo = { link: number; http: number; token: string; pid: number; processStartedAt: number; startedAt: number };
type Counters = { dials: number; dialTimeouts: number; noConnection: number; noChallenge: number; noWelcome: number; refused: number; closedBeforeWelcome: number; rejected: number; closedAfterWelcome: number };
type Relinked = { at: number; loop: { p99: number; max: number }; counters: Counters; boards: Array<{ id: string; upAt: number | null; dials: number }> };

const fmtMs = (ms: number) => (ms >= 100 ? `${Math.round(ms).toLocaleString('en-US')} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const epochMs = () => performance.timeOrigin + performance.now();

/**
 * The open files each process needs, and the soft limit to give the children when the bench's
 * own is lower; an error that says what to do when even the hard limit is too low.
 */
function fileLimitFor(boards: number): number | undefined {
  const limits = processFileLimits();
  const need = boards + FILE_MARGIN;
  if (limits === undefined || limits.soft >= need) return undefined;
  if (limits.hard >= need) return need;
  throw new Error(
    `${fmtInt(boards)} boards need ${fmtInt(need)} open files in the hub process (one per link, plus ${FILE_MARGIN}), but this shell allows at most ${fmtInt(limits.hard)} (ulimit -Hn): ` +
      `raise the hard limit (e.g. \`ulimit -n ${need}\` as root, or nofile in /etc/security/limits.conf) or run fewer boards with BENCH_HUB_SCALE_BOARDS=${Math.max(100, limits.hard - FILE_MARGIN)}`,
  );
}

function stats(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

export async function benchScale(ctx: ScaleContext): Promise<string[]> {
  const summary: string[] = [];
  const fileLimit = fileLimitFor(BOARDS);
  const tmp = fs.mkdtempSync(path.join(tmpdir(), 'tether-hub-scale-'));
  const data = path.join(tmp, 'data');
  fs.mkdirSync(data);
  const logFile = path.join(tmp, 'hub.log');
  const children: RpcChild[] = [];
  let cmdBoard: SimBoard | undefined;
  const swarmCount = Math.max(1, Math.ceil(BOARDS / PER_SWARM));
  const startHubProcess = (port: number | undefined) => {
    const logFd = fs.openSync(logFile, 'a');
    const hub = RpcChild.start('hub', 'hub-process.js', [data, ...(port !== undefined ? [String(port)] : [])], {
      cpu: ctx.hubCpu,
      nodeArgs: ctx.hubNodeArgs,
      stderr: logFd,
      ...(fileLimit !== undefined ? { fileLimit } : {}),
    });
    fs.closeSync(logFd);
    children.push(hub);
    return hub;
  };
  try {
    console.log(`\n5. ${fmtInt(BOARDS)} boards on one hub, then the restart storm — link protocol 2 (keys, sealed frames), a reading every ${READING_MS / 1000} s each`);
    console.log(`   load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}; ${swarmCount} swarm process${swarmCount === 1 ? '' : 'es'}${fileLimit !== undefined ? `; open-file limit raised to ${fmtInt(fileLimit)} for the children` : ''}`);
    const tReg = performance.now();
    const store = SqliteStore.open(path.join(data, 'tether.db'));
    const swarmIds: Array<{ id: string; token: string }> = [];
    let cmdId: { id: string; token: string };
    try {
      const add = async (id: string) => ({ id, token: (await store.addDevice(id)).token });
      for (let i = 0; i < BOARDS; i++) swarmIds.push(await add(`scale-${String(i).padStart(5, '0')}`));
      cmdId = await add('bench-cmd');
    } finally {
      await store.close();
    }
    const registerMs = performance.now() - tReg;

    // 5a. the hub, started with them all registered, and every board linked.
    let hub = startHubProcess(undefined);
    let info = await hub.call<HubInfo>('info');
    const firstStartMs = info.startedAt - info.processStartedAt;
    const echo = RpcChild.start('echo', 'echo-http.js', [], { cpu: ctx.hubCpu });
    children.push(echo);
    const echoPort = (await echo.call<{ port: number }>('info')).port;
    cmdBoard = await startSimBoard({ port: info.link, id: cmdId.id, token: cmdId.token });
    await cmdBoard.upAfter(0, 10_000);
    const swarms = Array.from({ length: swarmCount }, () => {
      const swarm = RpcChild.start('swarm', 'swarm.js', [], { cpu: ctx.pinned ? 0 : undefined, ...(fileLimit !== undefined ? { fileLimit } : {}) });
      children.push(swarm);
      return swarm;
    });
    const shares = swarms.map((_, k) => ({ first: k * PER_SWARM, boards: swarmIds.slice(k * PER_SWARM, (k + 1) * PER_SWARM) }));
    const tLink = performance.now();
    const linked = await Promise.all(swarms.map((s, k) => s.call<{ ms: number; up: number }>('connect', { port: info.link, boards: shares[k]!.boards, first: shares[k]!.first, concurrency: 100, timeoutMs: 300_000 })));
    const linkMs = performance.now() - tLink;
    const up = linked.reduce((n, l) => n + l.up, 0);
    await Promise.all(swarms.map((s) => s.call('readings', { intervalMs: READING_MS })));
    console.log(table([
      ['setting up', 'figure'],
      [`register ${fmtInt(BOARDS + 1)} boards (SqliteStore.addDevice, one process)`, fmtMs(registerMs)],
      ['hub start-up with them registered (process start → link port listening)', fmtMs(firstStartMs)],
      [`${fmtInt(up)} boards linked, 100 handshakes at a time per swarm process`, `${fmtMs(linkMs)} (${fmtInt(up / (linkMs / 1000))} handshakes/s)`],
    ]));

    // 5b. resources, once every board has sent readings for a while.
    const hubStats = (opts: { gc?: boolean; resetLoop?: boolean } = {}) => hub.call<HubStats>('stats', opts);
    await sleep(READING_MS + 2000);
    const windowMs = ctx.quick ? 10_000 : 20_000;
    let mark = ctx.load.mark();
    const h0 = await hubStats({ resetLoop: true });
    if (ctx.profile) await hub.call('profileStart');
    const s0 = await Promise.all(swarms.map((s) => s.call<ProcessStats & { counters: Counters & { readingsAcked: number } }>('stats')));
    await sleep(windowMs);
    const h1 = await hubStats();
    const s1 = await Promise.all(swarms.map((s) => s.call<ProcessStats & { counters: Counters & { readingsAcked: number } }>('stats')));
    const steadyProfile = ctx.profile ? await hub.call<ProfileSummary>('profileStop', { top: 20, file: path.join(tmp, 'hub-scale-steady.cpuprofile') }) : undefined;
    const h1gc = await hubStats({ gc: true });
    const seconds = (h1.at - h0.at) / 1000;
    const acked = s1.reduce((n, s, k) => n + s.counters.readingsAcked - s0[k]!.counters.readingsAcked, 0) / seconds;
    const lost = s1.reduce((n, s, k) => n + s.counters.closedAfterWelcome - s0[k]!.counters.closedAfterWelcome, 0);
    const swarmCpu = s1.reduce((n, s, k) => n + cpuShare(s0[k]!, s), 0);
    console.log(`\n   5b. hub resources over ${seconds.toFixed(0)} s with ${fmtInt(up + 1)} boards linked${ctx.pinned ? ' (the hub alone on CPU 1)' : ''}`);
    console.log(table([
      ['RSS', 'heap used', 'heap after GC', 'CPU (one core)', 'event loop p99 / max', 'readings acked/s', 'links lost', 'swarm CPU'],
      [fmtMb(h1.mem.rss), fmtMb(h1.mem.heapUsed), fmtMb(h1gc.heapAfterGc ?? NaN), pct(cpuShare(h0, h1)), `${fmtMs(h1.loop.p99)} / ${fmtMs(h1.loop.max)}`, fmtInt(acked), String(lost), pct(swarmCpu)],
    ], '     '));
    console.log(`     per board: ${((h1.mem.rss / (up + 1)) / 1024).toFixed(1)} KB of RSS, ${(((h1gc.heapAfterGc ?? NaN) / (up + 1)) / 1024).toFixed(1)} KB of heap after GC (the hub's whole figures ÷ boards)`);
    console.log(`     ${ctx.otherLoad(mark, ctx.load.mark())}`);
    if (steadyProfile !== undefined) {
      console.log('\n     hub CPU profile of the same window:');
      printProfile(steadyProfile, '     ');
    }
    summary.push(`5b. resources at ${fmtInt(up + 1)} boards: RSS ${fmtMb(h1.mem.rss)}, heap after GC ${fmtMb(h1gc.heapAfterGc ?? NaN)}, CPU ${pct(cpuShare(h0, h1))} of a core (no goal)`);

    // 5c. command round trip beside the echo route.
    mark = ctx.load.mark();
    const cmd = ctx.commandTargets(info.http, info.token, echoPort, cmdId.id);
    await hubStats({ resetLoop: true });
    const [base, hubL] = (await ctx.roundTrips(cmd.targets)) as [Latency, Latency];
    const cmdLoop = (await hubStats()).loop;
    cmd.close();
    console.log(`\n   5c. command round trip — POST /api/devices/${cmdId.id}/commands (a real board, HubLink + sim hardware), ${fmtInt(up + 1)} boards linked and reading`);
    console.log(table([
      ['target', 'n', 'p50', 'p99', 'max'],
      ['echo route (baseline)', String(base.n), fmtMs(base.p50), fmtMs(base.p99), fmtMs(base.max)],
      ['hub → board → reply', String(hubL.n), fmtMs(hubL.p50), fmtMs(hubL.p99), fmtMs(hubL.max)],
    ], '     '));
    console.log(`     hub event-loop delay meanwhile: p99 ${fmtMs(cmdLoop.p99)}, max ${fmtMs(cmdLoop.max)}; ${ctx.otherLoad(mark, ctx.load.mark())}`);
    const p99Ok = hubL.p99 <= GOALS.p99Ms;
    console.log(`     goal: p99 ≤ ${GOALS.p99Ms} ms with ${fmtInt(up + 1)} boards linked: ${fmtMs(hubL.p99)} — ${verdict(p99Ok)}`);
    summary.push(`5c. command round trip p99 at ${fmtInt(up + 1)} boards: ${fmtMs(hubL.p99)} (p50 ${fmtMs(hubL.p50)}; echo baseline p99 ${fmtMs(base.p99)}) — ${verdict(p99Ok)}`);

    // 5d. the restart storm.
    mark = ctx.load.mark();
    const before = await Promise.all(swarms.map((s) => s.call<Relinked>('relinked', { since: 0, resetLoop: true })));
    const port = info.link;
    const killAt = epochMs();
    const killPerf = performance.now();
    const dead = new Promise<void>((resolve) => hub.child.once('exit', () => resolve()));
    hub.child.kill('SIGKILL');
    await dead;
    hub = startHubProcess(port);
    info = await hub.call<HubInfo>('info');
    if (ctx.profile) await hub.call('profileStart');
    const h2 = await hubStats();
    const listeningMs = info.startedAt - killAt;
    const restartMs = info.startedAt - info.processStartedAt;
    const deadline = killAt + (ctx.quick ? 120_000 : 300_000);
    let after: Relinked[];
    for (;;) {
      after = await Promise.all(swarms.map((s) => s.call<Relinked>('relinked', { since: killAt })));
      const relinked = after.reduce((n, r) => n + r.boards.filter((b) => b.upAt !== null).length, 0);
      if (relinked === BOARDS || epochMs() > deadline) break;
      await sleep(250);
    }
    const stormProfile = ctx.profile ? await hub.call<ProfileSummary>('profileStop', { top: 30, file: path.join(tmp, 'hub-scale-storm.cpuprofile') }) : undefined;
    const h3 = await hubStats({ gc: true });
    const cmdUp = await cmdBoard.upAfter(killPerf, 5000).then(() => true, () => false);
    const boardsAfter = after.flatMap((r) => r.boards);
    const relinkedBoards = boardsAfter.filter((b) => b.upAt !== null) as Array<{ id: string; upAt: number; dials: number }>;
    const times = relinkedBoards.map((b) => b.upAt - killAt);
    const t = stats(times);
    const slowest = relinkedBoards.reduce<{ id: string; upAt: number; dials: number } | undefined>((s, b) => (s === undefined || b.upAt > s.upAt ? b : s), undefined);
    const dials = stats(relinkedBoards.map((b) => b.dials));
    const allAt = slowest === undefined ? NaN : slowest.upAt - killAt;
    // Handshakes completed per second of the restarted hub, from the boards' welcome times.
    const perSecond = new Map<number, number>();
    for (const b of relinkedBoards) {
      const s = Math.floor((b.upAt - info.startedAt) / 1000);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    const peak = Math.max(0, ...perSecond.values());
    const stormSeconds = slowest === undefined ? NaN : (slowest.upAt - info.startedAt) / 1000;
    const sum = (pick: (c: Counters) => number) => after.reduce((n, r, k) => n + pick(r.counters) - pick(before[k]!.counters), 0);
    const missing = BOARDS - relinkedBoards.length;
    console.log(`\n   5d. restart storm — the hub SIGKILLed with ${fmtInt(up + 1)} boards linked, started again on the same data folder and port ${port}`);
    console.log(table([
      ['what', 'figure'],
      ['kill → restarted hub listening (node start, store open, start-up)', `${fmtMs(listeningMs)} (start-up ${fmtMs(restartMs)} of it)`],
      [`boards re-linked`, `${fmtInt(relinkedBoards.length)} of ${fmtInt(BOARDS)}${cmdUp ? ' (and the real board)' : ''}`],
      ['kill → board re-linked: p50 / p99 / max', `${fmtMs(t.p50)} / ${fmtMs(t.p99)} / ${fmtMs(t.max)}`],
      ['slowest board', slowest === undefined ? '-' : `${slowest.id}: ${fmtMs(slowest.upAt - killAt)}, ${slowest.dials} dials`],
      ['dials per board to re-link: median / max', `${dials.p50} / ${dials.max}`],
      ['handshakes completed per second: mean over the storm / peak second', `${fmtInt(relinkedBoards.length / stormSeconds)} / ${fmtInt(peak)}`],
      ['failed attempts: timed out / refused (port closed) / closed before welcome / rejected', `${fmtInt(sum((c) => c.dialTimeouts))} / ${fmtInt(sum((c) => c.refused))} / ${fmtInt(sum((c) => c.closedBeforeWelcome))} / ${fmtInt(sum((c) => c.rejected))}`],
      ['timed out waiting for: the connection / the challenge / the welcome', `${fmtInt(sum((c) => c.noConnection))} / ${fmtInt(sum((c) => c.noChallenge))} / ${fmtInt(sum((c) => c.noWelcome))}`],
      ['swarm event loop delay p99 / max (worst process)', `${fmtMs(Math.max(...after.map((r) => r.loop.p99)))} / ${fmtMs(Math.max(...after.map((r) => r.loop.max)))}`],
      ['links lost again after their welcome', fmtInt(sum((c) => c.closedAfterWelcome) - BOARDS)],
      ['restarted hub: CPU from listening to the last welcome', pct(cpuShare(h2, h3))],
      ['restarted hub: event loop p99 / max', `${fmtMs(h3.loop.p99)} / ${fmtMs(h3.loop.max)}`],
      ['restarted hub: RSS / heap after GC, all re-linked', `${fmtMb(h3.mem.rss)} / ${fmtMb(h3.heapAfterGc ?? NaN)}`],
    ], '     '));
    const timeline = [...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}s:${n}`).join(' ');
    console.log(`     welcomes per second after the hub listened: ${timeline}`);
    console.log(`     ${ctx.otherLoad(mark, ctx.load.mark())}`);
    const stormOk = missing === 0 && allAt <= GOALS.relinkAllMs;
    if (stormProfile !== undefined) {
      console.log('\n     restarted hub CPU profile, from listening to the last welcome:');
      printProfile(stormProfile, '     ');
    }
    console.log(`     goal: every board re-linked within ${GOALS.relinkAllMs / 1000} s of the kill: ${missing === 0 ? fmtMs(allAt) : `${fmtInt(missing)} boards not re-linked`} — ${verdict(stormOk)}`);
    summary.push(`5d. restart storm: all ${fmtInt(BOARDS)} re-linked ${missing === 0 ? `${fmtMs(allAt)} after the kill` : `— NO, ${missing} missing`} (per board p50 ${fmtMs(t.p50)}, p99 ${fmtMs(t.p99)}, max ${fmtMs(t.max)}) — ${verdict(stormOk)}`);

    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '') : [];
    const count = (re: RegExp) => log.filter((l) => re.test(l)).length;
    console.log(`\n   hub log (both runs): ${fmtInt(log.length)} lines, ${count(/ warn /)} warnings, ${count(/ error /)} errors`);
    for (const l of log.filter((l) => / (warn|error) /.test(l)).slice(0, 8)) console.log(`     ${l}`);
    return summary;
  } catch (err) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-20) : [];
    if (log.length > 0) console.error(`the hub's log ended with:\n${log.join('\n')}`);
    throw err;
  } finally {
    await cmdBoard?.close();
    for (const c of children) await c.stop();
    if (ctx.keep) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}
