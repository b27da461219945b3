// The worker thread of BackgroundCheckpointer: its own connection to the hub's database, which
// copies the WAL into the database file a few times a second with PASSIVE checkpoints (they take
// what the writer has committed and never block it). But the writer starts the WAL over only
// after a checkpoint of its own connection (one by this connection alone, even a complete one,
// was seen to leave the WAL growing for good under a steady stream of commits); so when the WAL
// is over RESTART_PAGES and has grown since the last ask, the worker asks the writer's thread to
// run a PASSIVE checkpoint too: it copies what was committed since this one's pass (about 1 MB
// at 200,000 readings/s), and the next commit starts the WAL over.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** SQLite's own autocheckpoint point: about 4 MB of WAL. */
const RESTART_PAGES = 1000;

const { file, everyMs } = workerData as { file: string; everyMs: number };
const db = new Database(file, { fileMustExist: true });
// A checkpoint that cannot have its locks at once (the hub mid-commit, a reader in another
// process) reports busy and is tried again later, rather than holding SQLite's write lock while it
// waits, which would make the hub's commits wait in turn.
db.pragma('busy_timeout = 0');

type Result = { busy: number; log: number; checkpointed: number };

/** The WAL's length (pages) when the writer was last asked: an idle hub is asked once, not on every tick. */
let asked = -1;

const checkpoint = () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Result[];
    if (result !== undefined && result.log >= RESTART_PAGES && result.log !== asked) {
      asked = result.log;
      parentPort?.postMessage('restart');
    }
  } catch {
    // An I/O fault (a full disk): the hub's own next commit meets it and reports it; the next
    // tick tries again.
  }
};
setInterval(checkpoint, everyMs);

// The hub's TRUNCATE checkpoint (retention empties the WAL after its deletes) runs here too: on the
// hub's connection it would find this one busy copying as often as not. Its answer: whether the
// WAL was emptied, or the fault that kept it from it (for the hub's storage health).
parentPort?.on('message', (m: unknown) => {
  if (typeof m !== 'object' || m === null || !('truncate' in m)) return;
  const truncated = (m as { truncate: number }).truncate;
  try {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Result[];
    parentPort?.postMessage({ truncated, emptied: result?.busy === 0 });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    parentPort?.postMessage({ truncated, emptied: false, fault: { code: typeof code === 'string' ? code : 'SQLITE_ERROR', message } });
  }
});
parentPort?.postMessage('ready');
