// The hub database: opening it and bringing its tables up to date. PRAGMA user_version counts
// the migrations that have run; a shipped migration is never edited, a new one is appended.
import fs from 'node:fs';
import Database from 'better-sqlite3';

// Tables are STRICT so that a wrong type (a string for a value, 1.5 for a timestamp) fails the
// transaction instead of being stored.
//
// Readings are split in two: `series` holds one row per (device, sensor, quantity) with its unit
// and latest point, and `readings` only (series, ts, value). Repeating three strings in every
// reading would triple the file and the index, and `sensorsOf` would have to scan every reading
// of a device to find the latest ones.
//
// readings_ts costs about a third of the insert rate (still over 200,000 readings/s) but lets
// pruning delete in time order, which is insertion order: pruning through readings_series_ts
// instead deleted series by series, rewrote every page once per series and ran 5x slower,
// blocking the event loop as long.
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    firmware TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '[]',
    boot_id TEXT,
    first_seen INTEGER,
    last_seen INTEGER,
    online INTEGER NOT NULL DEFAULT 0,
    address TEXT
  ) STRICT;

  CREATE TABLE link_state (
    device TEXT PRIMARY KEY,
    boot_id TEXT,
    boot_epoch REAL,
    rx_committed INTEGER NOT NULL,
    tx_stream TEXT NOT NULL,
    tx_last INTEGER NOT NULL,
    subscribed_boot TEXT
  ) STRICT;

  CREATE TABLE link_outbox (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
  ) STRICT;
  CREATE INDEX link_outbox_device ON link_outbox (device, pos);

  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    sensor TEXT NOT NULL,
    quantity TEXT NOT NULL,
    unit TEXT,
    last_ts INTEGER,
    last_value REAL,
    UNIQUE (device, sensor, quantity)
  ) STRICT;

  CREATE TABLE readings (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL
  ) STRICT;
  CREATE INDEX readings_series_ts ON readings (series, ts);
  CREATE INDEX readings_ts ON readings (ts);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    ts INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_device ON events (device, id);
  CREATE INDEX events_ts ON events (ts);
  `,
  // 2: the board's WiFi signal strength, for the dashboard's boards list.
  `ALTER TABLE devices ADD COLUMN rssi INTEGER;`,
  // 3: where HubStore.probe() writes to learn whether a full disk has room again; empty between probes.
  `CREATE TABLE storage_probe (pad BLOB NOT NULL) STRICT;`,
  // 4: named API tokens with a scope (api-tokens.ts); the token itself is never stored.
  `
  CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'control', 'admin')),
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 5: rules and bindings made through the API (rules.ts); the config file's are never stored.
  // `definition` is the JSON the API accepted; rowid keeps the order they were made in.
  `
  CREATE TABLE rules (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
  ) STRICT;
  `,
  // 6: firmware rollouts (rollouts.ts) and each board's part in one.
  `
  CREATE TABLE rollouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL,
    wave_size INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'stopped', 'cancelled')),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at INTEGER,
    reason TEXT
  ) STRICT;
  CREATE INDEX rollouts_state ON rollouts (state);

  CREATE TABLE rollout_boards (
    rollout INTEGER NOT NULL REFERENCES rollouts (id),
    position INTEGER NOT NULL,
    device TEXT NOT NULL,
    wave INTEGER NOT NULL,
    state TEXT NOT NULL,
    phase TEXT,
    from_version TEXT,
    version TEXT,
    sent_bytes INTEGER NOT NULL DEFAULT 0,
    total_bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    started_at INTEGER,
    ended_at INTEGER,
    PRIMARY KEY (rollout, position),
    UNIQUE (rollout, device)
  ) STRICT;
  `,
  // 7: the hub that holds each board's link (port.ts markLinked): hubs sharing a store must not
  // mark each other's boards offline. A board whose hub is not recorded (linked before this)
  // is taken for the hub's own.
  `
  ALTER TABLE devices ADD COLUMN linked_hub TEXT;
  `,
  // 8: the hub that runs each rollout: hubs sharing a store each resume only their own. A rollout
  // whose hub is not recorded (made before this) is taken for the hub's own.
  `
  ALTER TABLE rollouts ADD COLUMN hub TEXT;
  `,
];

export const WAL_LIMIT_BYTES = 4 * 1024 * 1024;

/** The schema version a database is at once migrated: one per migration. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Opens (creating if need be) the database at `path`, a file or ':memory:', at the latest schema. */
export function openDatabase(path: string): Database.Database {
  if (path !== ':memory:') createPrivately(path);
  const db = new Database(path);
  try {
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    // The hub acknowledges a reading to its board only after the transaction holding it
    // committed, so a committed transaction must survive the hub being killed (SIGKILL, OOM).
    // In WAL mode synchronous=NORMAL gives exactly that: a commit is written to the WAL file
    // before it returns, it just is not fsynced. The OS still holds the write when the process
    // dies; only an OS crash or power cut can lose the last commits (the file stays consistent).
    // FULL would fsync every commit and buy nothing against a process crash.
    db.pragma('synchronous = NORMAL');
    // The WAL grows to about 4 MiB between checkpoints (1,000 pages), more while a reader holds
    // a checkpoint back; this gives the extra back afterwards, so the WAL stays small beside
    // retention.max_mb.
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The database holds every reading and event, so it is readable only by the hub's user. SQLite
 * gives the -wal and -shm files it makes later the mode of the database file, so making that
 * file 0600 first (an empty file is a new database to SQLite) covers all three, without a
 * process-wide umask. A database from an older hub is narrowed to 0600 too.
 */
function createPrivately(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const suffix of ['', '-wal', '-shm']) {
    const stat = fs.statSync(file + suffix, { throwIfNoEntry: false });
    if (stat === undefined || (stat.mode & 0o077) === 0) continue;
    try {
      fs.chmodSync(file + suffix, 0o600);
    } catch (err) {
      // Someone else's file: the hub can still use it, and the data folder warning names it.
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`the hub database is at schema ${version}, written by a newer Tether; this one knows up to ${MIGRATIONS.length}`);
  }
  MIGRATIONS.slice(version).forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + i + 1}`);
    })();
  });
}
