// The worker thread of BackgroundCheckpointer: its own connection to the hub's database, which
// copies the WAL into the database file a few times a second with PASSIVE checkpoints (they take
// what the writer has committed and never block it). The WAL starts over only at a commit that
// finds all of it copied, and under a steady stream of commits one always lands while this
// worker copies; so once the WAL holds RESTART_PAGES the worker asks the writer's thread to
// copy the remainder itself (a commit's worth of pages, between two of its commits).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** SQLite's own autocheckpoint point: about 4 MB of WAL. */
const RESTART_PAGES = Number(process.env['TETHER_RESTART_PAGES'] ?? 1000);

const { file, everyMs } = workerData as { file: string; everyMs: number };
const db = new Database(file, { fileMustExist: true });
// Busy (the hub's own TRUNCATE checkpoint running): the next tick tries again.
db.pragma('busy_timeout = 0');

type Result = { busy: number; log: number; checkpointed: number };

const checkpoint = () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Result[];
    if (result !== undefined && result.log >= RESTART_PAGES) parentPort?.postMessage('restart');
  } catch {
    // SQLITE_BUSY or LOCKED (the hub's own TRUNCATE checkpoint, say): the next tick tries again.
  }
};
setInterval(checkpoint, everyMs);

// The hub's TRUNCATE checkpoint (retention empties the WAL after its deletes) runs here too: on the
// hub's connection it would find this one busy copying as often as not. Its answer: whether the
// WAL was emptied.
parentPort?.on('message', (m: unknown) => {
  if (typeof m !== 'object' || m === null || !('truncate' in m)) return;
  let emptied = false;
  db.pragma('busy_timeout = 1000');
  try {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Result[];
    emptied = result?.busy === 0;
  } catch {
    // Busy past the timeout: the hub tries again at its next retention pass.
  } finally {
    db.pragma('busy_timeout = 0');
  }
  parentPort?.postMessage({ truncated: (m as { truncate: number }).truncate, emptied });
});
parentPort?.postMessage('ready');
