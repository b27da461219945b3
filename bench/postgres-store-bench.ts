// npm run bench:store [-- --quick] — the PostgreSQL store's commit rate beside the
// SQLite store's, measured in the same run on the same rows: PostgresStore.commit and
// SqliteStore.commit (SQLite, a file in a temporary folder) of the swarm's readings in batches of
// 2,000 (bench/hub/store-batches.ts), with 20 boards' link states a batch as the hub's commits
// have, and readings only. Nothing else runs in the process: no sockets, no parsing.
//
// The server is a throwaway cluster (test/support/postgres.ts) with PostgreSQL's defaults: fsync
// on, every commit flushed to its WAL before it returns. A second database with
// synchronous_commit off shows what that flush costs (SQLite's synchronous=NORMAL does not
// fsync a commit either). TETHER_BENCH_POSTGRES_URL measures a server of your own instead
// (its database must be empty: the bench makes its tables there).
//
// Then how long each SQLite commit holds the hub's thread, the WAL checkpointed inside commits
// (SQLite's own, the baseline) and on the hub's worker thread (bench/hub/sqlite-commit-latency.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HubStore } from '../src/hub/store/port.js';
import { PostgresStore } from '../src/hub/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/hub/store/sqlite/sqlite-store.js';
import { PostgresCluster } from '../test/support/postgres.js';
import { registerSwarm, swarmBatches } from './hub/store-batches.js';
import { table } from './hub/common.js';
import { sqliteCommitLatency, type CommitLatency } from './hub/sqlite-commit-latency.js';

const QUICK = process.argv.includes('--quick');
const ROWS = QUICK ? 100_000 : 300_000;
const BOARDS = 1000;
const LINKED_PER_BATCH = 20;

/** Readings per second committed, the store fresh (its boards registered, their link states made). */
async function measure(open: () => Promise<HubStore>, boardsPerBatch: number): Promise<number> {
  const store = await open();
  try {
    const ids = await registerSwarm(store, BOARDS);
    const batches = swarmBatches(ids, ROWS, boardsPerBatch, Date.now());
    const t0 = performance.now();
    for (const batch of batches) await store.commit(batch);
    return (ROWS / (performance.now() - t0)) * 1000;
  } finally {
    await store.close();
  }
}

const own = process.env['TETHER_BENCH_POSTGRES_URL'];
const cluster = own === undefined ? await PostgresCluster.start({ durable: true }) : undefined;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-store-bench-'));
try {
  const pgDatabase = async (synchronous: boolean): Promise<string> => {
    if (cluster === undefined) return own as string;
    const url = await cluster.createDatabase();
    if (!synchronous) await cluster.admin(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = off`);
    return url;
  };
  let files = 0;
  const sqlite = () => Promise.resolve(SqliteStore.open(path.join(tmp, `hub-${++files}.db`)));
  const rows: string[][] = [['store', `${LINKED_PER_BATCH} boards' link states a batch`, 'readings only']];
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  for (const [name, open] of [
    ['SQLite (baseline), synchronous=NORMAL', sqlite],
    ['PostgreSQL, defaults (fsync at commit)', async () => PostgresStore.open(await pgDatabase(true))],
    ...(cluster === undefined ? [] : [['PostgreSQL, synchronous_commit off', async () => PostgresStore.open(await pgDatabase(false))]]),
  ] as Array<[string, () => Promise<HubStore>]>) {
    const linked = await measure(open, LINKED_PER_BATCH);
    const bare = await measure(open, 0);
    rows.push([name, fmt(linked), fmt(bare)]);
  }
  console.log(`readings committed per second, ${ROWS.toLocaleString('en-US')} readings of ${BOARDS} boards in batches of 2,000 (${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(1)})`);
  console.log(table(rows));

  const latencyRows = QUICK ? 300_000 : 1_000_000;
  const ms = (n: number) => n.toFixed(2);
  const runs: Array<[string, CommitLatency]> = [];
  for (let i = 0; i < 2; i++) {
    runs.push(['checkpoints inside commits (SQLite’s own; baseline)', await sqliteCommitLatency(tmp, false, latencyRows)]);
    runs.push(['checkpoints on the hub’s worker thread', await sqliteCommitLatency(tmp, true, latencyRows)]);
  }
  console.log(`\nhow long a SQLite commit holds the thread: ${latencyRows.toLocaleString('en-US')} readings in commits of 510, ms (twice each, alternating)`);
  console.log(
    table([
      ['WAL', 'commits', 'p50', 'p99', 'p99.9', 'max', 'over 5 ms'],
      ...runs.map(([name, l]) => [name, String(l.commits), ms(l.p50), ms(l.p99), ms(l.p999), ms(l.max), String(l.over5ms)]),
    ]),
  );
} finally {
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
