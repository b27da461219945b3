// Moves SQLite's WAL checkpoints off the hub's event loop. With SQLite's own autocheckpoint, the
// commit that fills the WAL past 1,000 pages copies them into the database file before it
// returns: at saturation one commit in forty held the loop for 5 to 40 ms instead of 0.5 ms, and
// those stalls made the loop's p99 delay. Here a worker thread with its own connection does the
// copying (checkpoint-worker.ts) and the hub's connection stops checkpointing, but for the last
// commit's worth of pages when the worker asks (so that the WAL can start over). Until the
// worker is up, or if it ever stops, SQLite's own checkpoints stand.
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** SQLite's default autocheckpoint (pages), put back when the worker is not there. */
const AUTOCHECKPOINT_PAGES = 1000;

/** How often the worker checkpoints: at 200,000 readings/s the WAL grows about 1 MB in that time. */
export const CHECKPOINT_EVERY_MS = 100;

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopped = false;
  /** TRUNCATE checkpoints asked of the worker, by number: resolved with whether the WAL was emptied. */
  private readonly truncating = new Map<number, (emptied: boolean) => void>();
  private nextTruncate = 1;

  constructor(
    private readonly db: Database.Database,
    file: string,
  ) {
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file, everyMs: CHECKPOINT_EVERY_MS } });
    this.worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'truncated' in m) {
        const { truncated, emptied } = m as { truncated: number; emptied: boolean };
        this.truncating.get(truncated)?.(emptied);
        this.truncating.delete(truncated);
        if (this.truncating.size === 0) this.worker.unref();
        return;
      }
      if (this.stopped || !this.db.open) return;
      if (m === 'ready') this.db.pragma('wal_autocheckpoint = 0');
      // The worker copied nearly all of a large WAL: the rest copied here, between two commits,
      // lets the next commit start the WAL over.
      else if (m === 'restart' && !this.db.inTransaction) this.restart();
    });
    const inline = () => {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      for (const answer of this.truncating.values()) answer(false);
      this.truncating.clear();
    };
    this.worker.on('error', inline);
    this.worker.on('exit', inline);
    // The hub's process may end while the worker runs: it holds nothing that must finish. (After
    // the listeners: a 'message' listener refs the worker's port again.)
    this.worker.unref();
  }

  private restart(): void {
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy: the worker asks again at its next tick.
    }
  }

  /**
   * Copies the whole WAL into the database and empties it (a TRUNCATE checkpoint), on the worker:
   * resolves false when something kept it from emptying, or when the worker is not running.
   */
  truncate(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const n = this.nextTruncate++;
    return new Promise((resolve) => {
      this.truncating.set(n, resolve);
      // Someone waits for the answer: the process stays up for it.
      this.worker.ref();
      this.worker.postMessage({ truncate: n });
    });
  }

  /** Stops the worker; the connection checkpoints by itself again (and fully when it closes). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.worker.terminate();
  }
}
