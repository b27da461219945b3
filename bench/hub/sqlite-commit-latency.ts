// How long SqliteStore.commit holds the hub's thread, commit by commit, with the WAL checkpointed
// inside the commit that fills it (SQLite's own autocheckpoint) and on the hub's worker thread
// (backgroundCheckpoint, src/hub/store/sqlite/checkpointer.ts). Commits the size of the hub's at
// saturation (510 readings, 3 boards' link states), yielding to the event loop between two as
// the hub does, so that the worker's messages are heard. Used by `npm run bench:store`.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { percentile } from './common.js';
import { registerSwarm, swarmBatches } from './store-batches.js';

export interface CommitLatency {
  commits: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Commits that held the thread more than 5 ms. */
  over5ms: number;
}

export async function sqliteCommitLatency(dir: string, background: boolean, rows: number): Promise<CommitLatency> {
  const store = SqliteStore.open(path.join(fs.mkdtempSync(path.join(dir, 'latency-')), 'tether.db'), { backgroundCheckpoint: background });
  try {
    const ids = await registerSwarm(store, 1000);
    while (background && store.checkpoints !== 'background') await nextTurn();
    const times: number[] = [];
    for (const batch of swarmBatches(ids, rows, 3, Date.now(), 510)) {
      const t0 = performance.now();
      await store.commit(batch);
      times.push(performance.now() - t0);
      await nextTurn();
    }
    times.sort((a, b) => a - b);
    return { commits: times.length, p50: percentile(times, 50), p99: percentile(times, 99), p999: percentile(times, 99.9), max: times[times.length - 1] ?? NaN, over5ms: times.filter((t) => t > 5).length };
  } finally {
    await store.close();
  }
}
