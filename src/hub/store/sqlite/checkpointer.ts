// Moves SQLite's WAL checkpoints off the hub's event loop. With SQLite's own autocheckpoint, the
// commit that fills the WAL past 1,000 pages copies them into the database file before it
// returns: at saturation one commit in forty or fifty held the loop for 6 to 10 ms instead of
// 0.5 ms (`npm run bench:store`), and longer on a busy disk. Here a worker thread with its own
// connection does the copying (checkpoint-worker.ts) and the hub's connection stops
// checkpointing, but for what was committed during the worker's last pass when the worker asks
// (so that the WAL can start over). Until the worker is up, or if it ever stops, SQLite's own
// checkpoints stand.
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** SQLite's default autocheckpoint (pages), put back when the worker is not there. */
const AUTOCHECKPOINT_PAGES = 1000;

/** How often the worker checkpoints: at 200,000 readings/s the WAL grows about 1 MB in that time. */
export const CHECKPOINT_EVERY_MS = 100;

export interface TruncateAnswer {
  emptied: boolean;
  /** SQLite's error, as its code (SQLITE_FULL, SQLITE_IOERR_…) and message. */
  fault?: { code: string; message: string };
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopped = false;
  /** TRUNCATE checkpoints asked of the worker, by number. */
  private readonly truncating = new Map<number, (answer: TruncateAnswer) => void>();
  private nextTruncate = 1;

  constructor(
    private readonly db: Database.Database,
    file: string,
  ) {
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file, everyMs: CHECKPOINT_EVERY_MS } });
    this.worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'truncated' in m) {
        const { truncated, ...answer } = m as { truncated: number } & TruncateAnswer;
        this.truncating.get(truncated)?.(answer);
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
      for (const answer of this.truncating.values()) answer({ emptied: false });
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
   * not emptied when something kept it from it (busy, the worker not running), with the fault
   * when SQLite failed.
   */
  truncate(): Promise<TruncateAnswer> {
    if (this.stopped) return Promise.resolve({ emptied: false });
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
