// `hub-bench --only=cluster`: three `tether hub` processes on one PostgreSQL and one Mosquitto
// (docs/scaling.md) against one hub, each figure beside its baseline measured in the same run:
//
//   6a. the same swarm (1,000 boards, BENCH_HUB_CLUSTER_BOARDS) through a round-robin TCP balancer
//       in front of one hub on SQLite (for reference), one hub on PostgreSQL (the baseline) and
//       three hubs on that PostgreSQL: boards linked time, readings committed per second at
//       saturation, each hub's CPU and PostgreSQL's;
//   6b. the REST → board command round trip through one of the three hubs, to a board it holds
//       and to a board another hub holds (passed on through the broker), beside the echo route;
//   6c. failover: one of the three SIGKILLed with its share of the boards linked; time until each
//       of its boards is welcomed again through the others, and the commands that fail meanwhile.
//
// The hubs are real `tether hub` processes (the CLI, as test/hub/cluster.test.ts runs them), the
// database a throwaway cluster (test/support/postgres.ts, fsync on), the broker Debian's mosquitto
// (test/support/mosquitto.ts). Pinned as the other sections are: the hubs, PostgreSQL, mosquitto
// and the echo baseline on CPU 1, the bench, the balancer and the swarm on CPU 0 — so one hub and
// three hubs get the same one core, and the comparison shows what the cluster costs, not what it
// gains on more machines.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { HUB_ID_FILE } from '../../src/hub/hub-id.js';
import { SQLITE_FILE } from '../../src/hub/store/open-store.js';
import { PostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { spawnHubCli, type HubProcess } from '../../test/support/hub-process.js';
import { Broker, mosquittoPath } from '../../test/support/mosquitto.js';
import { PostgresCluster, postgresBin } from '../../test/support/postgres.js';
import { RoundRobinProxy } from '../../test/support/round-robin-proxy.js';
import { percentile, RpcChild, sleep, table } from './common.js';
import { KeepAliveClient, type HttpAnswer } from './http-client.js';
import type { MachineLoad } from './machine-load.js';
import type { Latency } from './scale.js';
import { startSimBoard } from './sim-board.js';

type Target = { send: () => Promise<HttpAnswer>; check: (a: HttpAnswer) => void };

/** What the cluster run takes from hub-bench.ts: where processes run, the load meter and the command timing. */
export interface ClusterContext {
  pinned: boolean;
  hubCpu: number | undefined;
  /** Node flags for each `tether hub` process. */
  hubNodeArgs: string[];
  quick: boolean;
  keep: boolean;
  load: MachineLoad;
  otherLoad(from: number, to: number): string;
  roundTrips(targets: Target[]): Promise<Latency[]>;
}

const BOARDS_FULL = Number(process.env['BENCH_HUB_CLUSTER_BOARDS'] ?? 1000);
/** Commands to the dead hub's boards during the failover: one every this many ms. */
const SEND_EVERY_MS = 25;
/** The board linked straight to hub A for 6b. */
const DIRECT = 'cluster-direct';
const GOALS = { p99Ms: 20 };
/** Handshakes the swarm runs at once while linking: the hubs see every board from the balancer's one address. */
const CONCURRENCY = 100;
const WINDOW = 64;
const PING = JSON.stringify({ action: 'ping' });
const TICK_MS = 10; // USER_HZ: /proc counts CPU time in 1/100 s

const fmtMs = (ms: number) => (ms >= 100 ? `${Math.round(ms).toLocaleString('en-US')} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const epochMs = () => performance.timeOrigin + performance.now();

/** A process's CPU time so far (ms), from /proc; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/** The bench's descendants whose command is `comm` (postgres's server processes, mosquitto). */
function descendants(comm: string): number[] {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      names.set(Number(name), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const ours = (pid: number) => {
    for (let at = pid, hops = 0; at > 1 && hops < 64; hops++) {
      if (at === process.pid) return true;
      at = parent.get(at) ?? 0;
    }
    return false;
  };
  return [...names].filter(([pid, n]) => n === comm && ours(pid)).map(([pid]) => pid);
}

/** Moves a process (all its threads) to one CPU; the processes it forks later inherit it. */
function pin(pid: number, cpu: number | undefined): void {
  if (cpu !== undefined) spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

interface Hub {
  proc: HubProcess;
  id: string;
  label: string;
}

interface SwarmCounters {
  readingsSent: number;
  readingsAcked: number;
  refused: number;
  closedBeforeWelcome: number;
  dialTimeouts: number;
  closedAfterWelcome: number;
  dials: number;
}
type SwarmStats = { at: number; counters: SwarmCounters; up: number };
type Relinked = { at: number; counters: SwarmCounters; boards: Array<{ id: string; upAt: number | null; dials: number }> };

/** One configuration's figures from 6a. */
interface SetupFigures {
  label: string;
  linkMs: number;
  up: number;
  /** Failed attempts while linking: refused by a hub's handshake gate or closed before the welcome, and timed out. */
  linkRetries: number;
  spread: string;
  rate: number;
  committed: number;
  acked: number;
  hubCpu: number[];
  steadyHubCpu: number[];
  postgresCpu: number | undefined;
  rss: number[];
}

export async function benchCluster(ctx: ClusterContext): Promise<string[]> {
  const summary: string[] = [];
  const BOARDS = ctx.quick ? Math.min(300, BOARDS_FULL) : BOARDS_FULL;
  const missing = [postgresBin() === undefined ? 'PostgreSQL (apt-get install postgresql, or TETHER_POSTGRES_BIN=the folder of its initdb and postgres)' : undefined, mosquittoPath() === undefined ? 'mosquitto (apt-get install mosquitto, or TETHER_MOSQUITTO=its binary)' : undefined].filter((m) => m !== undefined);
  console.log(`\n6. three hubs on one PostgreSQL and one Mosquitto against one hub — ${fmtInt(BOARDS)} swarm boards through a round-robin TCP balancer`);
  if (missing.length > 0) {
    console.log(`   skipped: no ${missing.join(' and no ')}`);
    return [`6. cluster: skipped (missing ${missing.length === 2 ? 'PostgreSQL and mosquitto' : missing[0]?.split(' ')[0]})`];
  }
  const S = ctx.quick ? { settleMs: 2000, saturateMs: 3000, steadyMs: 3000 } : { settleMs: 3000, saturateMs: 8000, steadyMs: 5000 };
  const tmp = fs.mkdtempSync(path.join(tmpdir(), 'tether-hub-cluster-'));
  const cleanups: Array<() => Promise<void> | void> = [];
  const hubLogs: Array<{ label: string; proc: HubProcess }> = [];
  try {
    console.log(`   load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
    console.log(
      ctx.pinned
        ? `   the hubs (\`tether hub\` processes), PostgreSQL, mosquitto and the echo baseline on CPU 1; the bench, the balancer and the swarm on CPU 0 (taskset): one hub and three hubs get the same core; each hub runs node ${ctx.hubNodeArgs.join(' ')}`
        : '   not pinned to CPUs: every process shares the cores',
    );
    const postgres = await PostgresCluster.start({ durable: true });
    cleanups.push(() => postgres.stop());
    const broker = await Broker.start();
    cleanups.push(() => broker.close());
    for (const pid of [...descendants('postgres'), ...descendants('mosquitto')]) pin(pid, ctx.hubCpu);
    const echo = RpcChild.start('echo', 'echo-http.js', [], { cpu: ctx.hubCpu });
    cleanups.push(() => echo.stop());
    const echoPort = (await echo.call<{ port: number }>('info')).port;
    const ids = Array.from({ length: BOARDS }, (_, i) => `cluster-${String(i).padStart(4, '0')}`);

    const startHubs = async (count: number, config: Record<string, unknown>, data: string[]): Promise<Hub[]> => {
      const hubs: Hub[] = [];
      for (let i = 0; i < count; i++) {
        const folder = data[i] ?? fs.mkdtempSync(path.join(tmp, 'hub-'));
        const file = path.join(folder, 'hub.json');
        fs.writeFileSync(file, JSON.stringify({ ...config, link: { host: '127.0.0.1' }, http: { host: '127.0.0.1' } }));
        // Started on its CPU, so that it sees one from the start, as a hub on a one-CPU machine would.
        const proc = await spawnHubCli(['hub', '--config', file, '--data', folder, '--http-port', '0', '--link-port', '0'], { cpu: ctx.hubCpu, nodeArgs: ctx.hubNodeArgs });
        const hub = { proc, id: fs.readFileSync(path.join(folder, HUB_ID_FILE), 'utf8').trim(), label: `hub ${String.fromCharCode(65 + i)}` };
        hubs.push(hub);
        hubLogs.push({ label: `${hubLogs.length + 1}. ${hub.label}`, proc });
      }
      return hubs;
    };
    const stopHubs = async (hubs: Hub[]) => {
      for (const h of hubs) {
        if (h.proc.child.exitCode === null && h.proc.child.signalCode === null) h.proc.child.kill('SIGTERM');
        await h.proc.exited;
      }
    };

    /** Registers the boards in a store, as `tether hub add-device` would; their tokens. */
    const registerSqlite = async (folder: string) => {
      const store = SqliteStore.open(path.join(folder, SQLITE_FILE));
      try {
        const out: Array<{ id: string; token: string }> = [];
        for (const id of ids) out.push({ id, token: (await store.addDevice(id)).token });
        return out;
      } finally {
        await store.close();
      }
    };
    const registerPostgres = async (url: string, extra: string[] = []) => {
      const store = await PostgresStore.open(url, { hubId: 'bench' });
      try {
        const out: Array<{ id: string; token: string }> = [];
        for (const id of [...ids, ...extra]) out.push({ id, token: (await store.addDevice(id)).token });
        return out;
      } finally {
        await store.close();
      }
    };

    /**
     * Links the swarm through a balancer in front of `hubs`, lets it read once a second, then
     * saturates: every board keeps WINDOW readings unacknowledged for S.saturateMs.
     */
    const measure = async (
      label: string,
      hubs: Hub[],
      boards: Array<{ id: string; token: string }>,
      countReadings: () => Promise<number>,
      holders: () => Promise<string>,
    ): Promise<{ figures: SetupFigures; swarm: RpcChild; proxy: RoundRobinProxy }> => {
      const proxy = await RoundRobinProxy.start(hubs.map((h) => h.proc.linkPort));
      const swarm = RpcChild.start('swarm', 'swarm.js', [], { cpu: ctx.pinned ? 0 : undefined });
      const linked = await swarm.call<{ ms: number; up: number }>('connect', { port: proxy.port, boards, concurrency: CONCURRENCY, timeoutMs: 300_000 });
      const afterLink = await swarm.call<SwarmStats>('stats');
      await swarm.call('readings');
      await sleep(S.settleMs);
      const pgPids = () => descendants('postgres');
      const pgCpu = () => pgPids().reduce((n, pid) => n + cpuMs(pid), 0);
      const c0 = hubs.map((h) => cpuMs(h.proc.child.pid ?? 0));
      const t0 = performance.now();
      await sleep(S.steadyMs);
      const steadyHubCpu = hubs.map((h, k) => (cpuMs(h.proc.child.pid ?? 0) - (c0[k] ?? 0)) / (performance.now() - t0));
      await swarm.call('quiet');
      await sleep(1500); // the last once-a-second readings are acked
      const before = await countReadings();
      const mark = ctx.load.mark();
      const h0 = hubs.map((h) => cpuMs(h.proc.child.pid ?? 0));
      const p0 = label.includes('SQLite') ? undefined : pgCpu();
      const w0 = performance.now();
      const sat = await swarm.call<{ outcome: string; startAt: number; lastAckAt: number; before: SwarmStats; after: SwarmStats; inflight: number }>('saturate', { window: WINDOW, durationMs: S.saturateMs });
      const wall = performance.now() - w0;
      const hubCpu = hubs.map((h, k) => (cpuMs(h.proc.child.pid ?? 0) - (h0[k] ?? 0)) / wall);
      const postgresCpu = p0 === undefined ? undefined : (pgCpu() - p0) / wall;
      const committed = (await countReadings()) - before;
      const seconds = (sat.lastAckAt - sat.startAt) / 1000;
      console.log(`     ${label}: ${ctx.otherLoad(mark, ctx.load.mark())}${sat.outcome !== 'drained' ? `; saturation ${sat.outcome}, ${sat.inflight} readings still in flight` : ''}`);
      const retries = afterLink.counters.refused + afterLink.counters.closedBeforeWelcome + afterLink.counters.dialTimeouts;
      return {
        proxy,
        swarm,
        figures: {
          label,
          linkMs: linked.ms,
          up: linked.up,
          linkRetries: retries,
          spread: await holders(),
          rate: committed / seconds,
          committed,
          acked: sat.after.counters.readingsAcked - sat.before.counters.readingsAcked,
          hubCpu,
          steadyHubCpu,
          postgresCpu,
          rss: hubs.map((h) => rssMb(h.proc.child.pid ?? 0)),
        },
      };
    };
    const teardown = async (m: { swarm: RpcChild; proxy: RoundRobinProxy }, hubs: Hub[]) => {
      await m.swarm.call('close').catch(() => undefined);
      await m.swarm.stop();
      await m.proxy.close();
      await stopHubs(hubs);
    };

    // 6a. SQLite (reference), one hub on PostgreSQL (baseline), three hubs on PostgreSQL.
    const rows: SetupFigures[] = [];
    {
      const folder = fs.mkdtempSync(path.join(tmp, 'hub-sqlite-'));
      const boards = await registerSqlite(folder);
      const hubs = await startHubs(1, {}, [folder]);
      const file = path.join(folder, SQLITE_FILE);
      const count = () => {
        const db = new Database(file, { readonly: true, fileMustExist: true });
        try {
          return Promise.resolve((db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n);
        } finally {
          db.close();
        }
      };
      const m = await measure('one hub, SQLite', hubs, boards, count, () => Promise.resolve(`${fmtInt(BOARDS)} on hub A`));
      rows.push(m.figures);
      await teardown(m, hubs);
    }
    const pgCount = (url: string) => async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM readings')).rows[0]?.n ?? 0);
      } finally {
        await client.end();
      }
    };
    const linkedHubs = async (url: string): Promise<Map<string, string>> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows: r } = await client.query<{ id: string; linked_hub: string | null }>('SELECT id, linked_hub FROM devices');
        return new Map(r.filter((x) => x.linked_hub !== null).map((x) => [x.id, x.linked_hub as string]));
      } finally {
        await client.end();
      }
    };
    const spreadOf = (url: string, hubs: Hub[]) => async () => {
      const held = await linkedHubs(url);
      return hubs.map((h) => `${fmtInt([...held.values()].filter((v) => v === h.id).length)} on ${h.label}`).join(', ');
    };
    {
      const url = await postgres.createDatabase();
      const boards = await registerPostgres(url);
      const hubs = await startHubs(1, { store: { url } }, []);
      const m = await measure('one hub, PostgreSQL', hubs, boards, pgCount(url), spreadOf(url, hubs));
      rows.push(m.figures);
      await teardown(m, hubs);
    }
    const url = await postgres.createDatabase();
    const registered = await registerPostgres(url, [DIRECT]);
    const boards = registered.slice(0, BOARDS);
    const direct = registered[BOARDS] as { id: string; token: string };
    const hubs = await startHubs(3, { store: { url }, cluster: { url: broker.url, topic: 'bench-cluster' } }, []);
    const three = await measure('three hubs, PostgreSQL', hubs, boards, pgCount(url), spreadOf(url, hubs));
    cleanups.push(() => teardown(three, hubs));
    rows.push(three.figures);

    const [sqlite, one, cluster] = rows as [SetupFigures, SetupFigures, SetupFigures];
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const cpus = (xs: number[]) => (xs.length === 1 ? pct(xs[0] ?? NaN) : `${xs.map(pct).join(' + ')} = ${pct(sum(xs))}`);
    console.log(`\n   6a. the same ${fmtInt(BOARDS)} boards (bench/hub/swarm.ts, link protocol 2) through the balancer; saturation: every board keeps ${WINDOW} readings unacknowledged for ${S.saturateMs / 1000} s`);
    console.log('       readings/s: rows counted in the store ÷ time from the first reading sent to the last ack; CPU: each hub process\'s own (/proc), as a share of one core');
    console.log(table([
      ['setup', 'boards linked in', 'retries', 'spread', 'readings/s', '/ baseline', 'hub CPU at saturation', 'PostgreSQL CPU', 'hub CPU, 1 reading/s each', 'hub RSS'],
      ...[sqlite, one, cluster].map((f) => [
        f === one ? `${f.label} (baseline)` : f.label,
        `${fmtMs(f.linkMs)} (${fmtInt(f.up)})`,
        fmtInt(f.linkRetries),
        f.spread,
        fmtInt(f.rate),
        ratio(f.rate, one.rate),
        cpus(f.hubCpu),
        f.postgresCpu === undefined ? '-' : pct(f.postgresCpu),
        cpus(f.steadyHubCpu),
        f.rss.map((r) => `${r.toFixed(0)} MB`).join(' / '),
      ]),
    ], '     '));
    console.log(`     boards linked: three hubs ${ratio(cluster.linkMs, one.linkMs)}× the one hub's time; ${CONCURRENCY} handshakes at a time, all from the balancer's one address (each hub takes 8 handshakes per address at once, protocol.md §10.8)`);
    for (const f of rows) if (f.committed !== f.acked) console.log(`     NOTE ${f.label}: rows in the store (${fmtInt(f.committed)}) differ from readings acknowledged (${fmtInt(f.acked)})`);
    summary.push(`6a. readings/s at saturation: three hubs ${fmtInt(cluster.rate)}, one hub ${fmtInt(one.rate)} on PostgreSQL (ratio ${ratio(cluster.rate, one.rate)}), one hub on SQLite ${fmtInt(sqlite.rate)}; boards linked in ${fmtMs(cluster.linkMs)} vs ${fmtMs(one.linkMs)}`);

    // 6b. command round trip through hub A: a board it holds, a board hub B holds, the echo route.
    await three.swarm.call('readings');
    await sleep(S.settleMs);
    const held = await linkedHubs(url);
    const [hubA, hubB] = hubs as [Hub, Hub, Hub];
    const localBoard = ids.find((id) => held.get(id) === hubA.id);
    const remoteBoard = ids.find((id) => held.get(id) === hubB.id);
    if (localBoard === undefined || remoteBoard === undefined) throw new Error(`hub A or hub B holds no board: ${await spreadOf(url, hubs)()}`);
    // A real board (HubLink, sim hardware) linked straight to hub A: the same command without the balancer in its path.
    const straight = await startSimBoard({ port: hubA.proc.linkPort, id: direct.id, token: direct.token });
    cleanups.push(() => straight.close());
    await straight.upAfter(0, 10_000);
    await sleep(300);
    const headers = { authorization: `Bearer ${hubA.proc.apiToken}` };
    const hubClient = new KeepAliveClient(hubA.proc.httpPort, headers);
    const echoClient = new KeepAliveClient(echoPort, headers);
    const ok = (what: string) => (a: HttpAnswer) => {
      if (a.status !== 200 || !a.body.includes('"ok":true')) throw new Error(`${what}: unexpected answer ${a.status} ${a.body}`);
    };
    let mark = ctx.load.mark();
    const [base, plain, local, forwarded] = (await ctx.roundTrips([
      {
        send: () => echoClient.post('/api/echo', PING),
        check: (a) => {
          if (a.status !== 200 || a.body !== PING) throw new Error(`echo: unexpected answer ${a.status} ${a.body}`);
        },
      },
      { send: () => hubClient.post(`/api/devices/${DIRECT}/commands`, PING), check: ok(`hub A → ${DIRECT}`) },
      { send: () => hubClient.post(`/api/devices/${localBoard}/commands`, PING), check: ok(`hub A → ${localBoard}`) },
      { send: () => hubClient.post(`/api/devices/${remoteBoard}/commands`, PING), check: ok(`hub A → hub B → ${remoteBoard}`) },
    ])) as [Latency, Latency, Latency, Latency];
    hubClient.close();
    echoClient.close();
    console.log(`\n   6b. command round trip — POST /api/devices/:id/commands ${PING} through hub A, one keep-alive connection, sequential, the four interleaved in 10 blocks; ${fmtInt(cluster.up)} boards linked and reading once a second`);
    console.log(table([
      ['target', 'n', 'p50', 'p99', 'max', 'p50 / echo', 'p99 / echo', 'p99 ≤ 20 ms'],
      ['echo route (baseline)', String(base.n), fmtMs(base.p50), fmtMs(base.p99), fmtMs(base.max), '1.00', '1.00', '-'],
      [`a real board linked straight to hub A (${DIRECT})`, String(plain.n), fmtMs(plain.p50), fmtMs(plain.p99), fmtMs(plain.max), ratio(plain.p50, base.p50), ratio(plain.p99, base.p99), verdict(plain.p99 <= GOALS.p99Ms)],
      [`a swarm board hub A holds, through the balancer (${localBoard})`, String(local.n), fmtMs(local.p50), fmtMs(local.p99), fmtMs(local.max), ratio(local.p50, base.p50), ratio(local.p99, base.p99), verdict(local.p99 <= GOALS.p99Ms)],
      [`a swarm board hub B holds, through the balancer and the broker (${remoteBoard})`, String(forwarded.n), fmtMs(forwarded.p50), fmtMs(forwarded.p99), fmtMs(forwarded.max), ratio(forwarded.p50, base.p50), ratio(forwarded.p99, base.p99), verdict(forwarded.p99 <= GOALS.p99Ms)],
    ], '     '));
    console.log(`     forwarded / local: p50 ${ratio(forwarded.p50, local.p50)}, p99 ${ratio(forwarded.p99, local.p99)}; ${ctx.otherLoad(mark, ctx.load.mark())}`);
    summary.push(`6b. command p99 through hub A: straight ${fmtMs(plain.p99)} (${verdict(plain.p99 <= GOALS.p99Ms)}), local ${fmtMs(local.p99)} (${verdict(local.p99 <= GOALS.p99Ms)}), forwarded ${fmtMs(forwarded.p99)} (${verdict(forwarded.p99 <= GOALS.p99Ms)}); echo ${fmtMs(base.p99)}`);

    // 6c. failover: the hub holding the most boards dies; commands keep going to its boards through the others.
    const victim = [...hubs].sort((a, b) => [...held.values()].filter((v) => v === b.id).length - [...held.values()].filter((v) => v === a.id).length)[0] as Hub;
    const survivors = hubs.filter((h) => h !== victim);
    const orphans = ids.filter((id) => held.get(id) === victim.id);
    // Open loop: a command every SEND_EVERY_MS whatever the earlier ones do, so that one waiting out
    // its timeout holds up none of the others.
    const outcomes: Array<{ sentAt: number; doneAt: number; code: string }> = [];
    const pending = new Set<Promise<void>>();
    let sent = 0;
    const send = () => {
      const hub = survivors[sent % survivors.length] as Hub;
      const board = orphans[sent % orphans.length] as string;
      sent++;
      const sentAt = epochMs();
      const done = fetch(`http://127.0.0.1:${hub.proc.httpPort}/api/devices/${board}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.proc.apiToken}`, 'content-type': 'application/json' },
        body: PING,
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (r) => ({ status: r.status, body: await r.text() }))
        .catch((err: Error) => ({ status: 0, body: err.name }))
        .then((answer) => {
          const code = answer.status === 200 && answer.body.includes('"ok":true') ? 'ok' : (/"code":"([^"]+)"/.exec(answer.body)?.[1] ?? `HTTP ${answer.status} ${answer.body.slice(0, 40)}`);
          outcomes.push({ sentAt, doneAt: epochMs(), code });
        });
      pending.add(done);
      void done.finally(() => pending.delete(done));
    };
    const ticker = setInterval(send, SEND_EVERY_MS);
    mark = ctx.load.mark();
    const before = await three.swarm.call<Relinked>('relinked', { since: 0 });
    await sleep(1000);
    const killAt = epochMs();
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const deadline = killAt + (ctx.quick ? 60_000 : 120_000);
    let after: Relinked;
    let dbAllAt: number | undefined;
    for (;;) {
      after = await three.swarm.call<Relinked>('relinked', { since: killAt });
      if (dbAllAt === undefined) {
        const now = await linkedHubs(url);
        if (orphans.every((id) => now.has(id) && now.get(id) !== victim.id)) dbAllAt = epochMs();
      }
      const back = after.boards.filter((b) => b.upAt !== null).length;
      if ((back >= orphans.length && dbAllAt !== undefined) || epochMs() > deadline) break;
      await sleep(100);
    }
    const allAt = epochMs();
    await sleep(1000); // commands go on a moment after every board is back
    clearInterval(ticker);
    const lastSentAt = epochMs();
    while (pending.size > 0) await Promise.all([...pending]);
    const orphanSet = new Set(orphans);
    const back = after.boards.filter((b) => orphanSet.has(b.id) && b.upAt !== null) as Array<{ id: string; upAt: number; dials: number }>;
    const others = after.boards.filter((b) => !orphanSet.has(b.id) && b.upAt !== null).length;
    const times = back.map((b) => b.upAt - killAt).sort((a, b) => a - b);
    const boardsAllMs = times.length === orphans.length ? (times[times.length - 1] ?? NaN) : NaN;
    const dials = back.map((b) => b.dials).sort((a, b) => a - b);
    const inFlight = outcomes.filter((o) => o.sentAt < killAt && o.doneAt >= killAt);
    const during = outcomes.filter((o) => o.sentAt >= killAt && o.sentAt <= allAt);
    const later = outcomes.filter((o) => o.sentAt > allAt);
    const beforeKill = outcomes.filter((o) => o.doneAt < killAt);
    const took = (os: typeof outcomes) => {
      const ms = os.map((o) => o.doneAt - o.sentAt).sort((a, b) => a - b);
      return ms.length === 0 ? '' : ` (answered in p50 ${fmtMs(percentile(ms, 50))}, max ${fmtMs(ms.at(-1) ?? NaN)})`;
    };
    const byCode = (os: typeof outcomes) => {
      const m = new Map<string, number>();
      for (const o of os) m.set(o.code, (m.get(o.code) ?? 0) + 1);
      return [...m].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${fmtInt(n)} ${c}`).join(', ') || 'none';
    };
    const lastFail = during.filter((o) => o.code !== 'ok').at(-1);
    const firstOk = during.find((o) => o.code === 'ok');
    const newHolders = await linkedHubs(url);
    const c = (pick: (x: SwarmCounters) => number) => pick(after.counters) - pick(before.counters);
    console.log(`\n   6c. failover — ${victim.label} SIGKILLed holding ${fmtInt(orphans.length)} of the ${fmtInt(BOARDS)} boards; they dial the balancer again (the product's backoff), which passes over the dead hub`);
    console.log(`       meanwhile a command is posted every ${SEND_EVERY_MS} ms (open loop) to its boards in turn, through ${survivors.map((h) => h.label).join(' and ')} in turn; ${fmtInt(sent)} sent, from 1 s before the kill to ${fmtMs(lastSentAt - allAt)} after the last board was back`);
    console.log(table([
      ['what', 'figure'],
      ['kill → board welcomed again: p50 / p99 / max', `${fmtMs(percentile(times, 50))} / ${fmtMs(percentile(times, 99))} / ${fmtMs(times.at(-1) ?? NaN)}`],
      ['kill → every one of them welcomed again (the boards\' view)', Number.isNaN(boardsAllMs) ? `${fmtInt(orphans.length - back.length)} not back` : fmtMs(boardsAllMs)],
      ['kill → every one of them on a live hub in the database (devices.linked_hub)', dbAllAt === undefined ? 'not within the deadline' : fmtMs(dbAllAt - killAt)],
      ['dials per board to link again: median / max', `${percentile(dials, 50)} / ${dials.at(-1) ?? '-'}`],
      ['failed attempts meanwhile: refused by a hub or closed before the welcome / timed out', `${fmtInt(c((x) => x.refused + x.closedBeforeWelcome))} / ${fmtInt(c((x) => x.dialTimeouts))}`],
      ['where they went', survivors.map((h) => `${fmtInt(orphans.filter((id) => newHolders.get(id) === h.id).length)} to ${h.label}`).join(', ')],
      ['the other hubs\' boards that lost their link too', fmtInt(others)],
      ['commands answered before the kill', byCode(beforeKill) + took(beforeKill)],
      ['commands in flight at the kill', byCode(inFlight) + took(inFlight)],
      ['commands sent from the kill until every board was back', byCode(during) + took(during)],
      ['  of them: first answered ok / last failed, sent at (from the kill)', `${firstOk === undefined ? '-' : fmtMs(firstOk.sentAt - killAt)} / ${lastFail === undefined ? '-' : `${fmtMs(lastFail.sentAt - killAt)} (${lastFail.code})`}`],
      ['commands sent in the second after', byCode(later) + took(later)],
    ], '     '));
    console.log(`     baseline: the one hub's boards linked from scratch in ${fmtMs(one.linkMs)} (6a) — the failover moved ${fmtInt(orphans.length)} boards in ${fmtMs(boardsAllMs)}; ${ctx.otherLoad(mark, ctx.load.mark())}`);
    summary.push(
      `6c. failover: ${fmtInt(back.length)} of ${fmtInt(orphans.length)} boards back ${fmtMs(boardsAllMs)} after the kill (p50 ${fmtMs(percentile(times, 50))}); commands meanwhile: ${byCode(during)}; after: ${byCode(later)}`,
    );

    for (const { label, proc } of hubLogs) {
      const log = proc.stderr().split('\n').filter((l) => l !== '');
      const bad = log.filter((l) => / (warn|error) /.test(l));
      console.log(`   ${label} log: ${fmtInt(log.length)} lines, ${bad.filter((l) => / warn /.test(l)).length} warnings, ${bad.filter((l) => / error /.test(l)).length} errors`);
      for (const l of bad.slice(0, 4)) console.log(`     ${l.length > 240 ? `${l.slice(0, 240)}…` : l}`);
    }
    return summary;
  } finally {
    for (const c of cleanups.reverse()) await c();
    if (ctx.keep) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}
