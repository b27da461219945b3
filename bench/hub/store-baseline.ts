// The saturation benchmark's baseline: the storage's own ceiling. SqliteStore.commit of the rows
// the hub stores for the swarm's readings, in batches the size the hub's IngestQueue made them
// (store-batches.ts), in one process that does nothing else: no sockets, no parsing.
//
//   started by hub-bench.js, which calls run {dir, rows, boards, boardsPerBatch, batch} over IPC
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { serveRpc } from './common.js';
import { registerSwarm, swarmBatches } from './store-batches.js';

async function run(dir: string, rows: number, boards: number, boardsPerBatch: number, size: number): Promise<{ rows: number; ms: number; perSecond: number; commits: number }> {
  const store = SqliteStore.open(path.join(dir, 'tether.db'));
  try {
    const ids = await registerSwarm(store, boards);
    const batches = swarmBatches(ids, rows, boardsPerBatch, Date.now(), size);
    const t0 = performance.now();
    for (const batch of batches) await store.commit(batch);
    const ms = performance.now() - t0;
    return { rows, ms, perSecond: (rows / ms) * 1000, commits: batches.length };
  } finally {
    await store.close();
  }
}

serveRpc({
  run: (args) => run(String(args['dir']), Number(args['rows']), Number(args['boards']), Number(args['boardsPerBatch']), Math.max(1, Number(args['batch'] ?? 2000))),
});
