// The hub's tables in PostgreSQL and bringing them up to date. tether_schema counts the
// migrations that have run; a shipped migration is never edited, a new one is appended. Several
// hubs share one database, and all may start at once: migrating runs in one transaction under
// an advisory lock, so one of them migrates and the others find the work done.
import type pg from 'pg';
import { LOCKS, lock, transaction, type Queryable } from './db.js';

// Text that is sorted (ids, names, sensors) is COLLATE "C": byte order, as SQLite and
// JavaScript's sort give, whatever the database's locale.
//
// Readings are split as in SQLite: `series` holds one row per (device, sensor, quantity) with
// its unit and latest point, `readings` only (series, ts, value). `readings` is partitioned by
// day on ts (partitions.ts makes each day's table on demand and retention drops whole days).
// readings_ts lets pruning take the straddling day's rows oldest first; NaN is refused, as
// SQLite's NOT NULL refuses it there.
//
// Events get their ids from a sequence under an advisory lock held to commit (events.ts), so ids
// grow in commit order. No foreign keys: a commit racing removeDevice must not fail over a
// board's link state, and addDevice clears what such a race could leave behind.
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE devices (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    token_hash text NOT NULL,
    firmware text NOT NULL DEFAULT '',
    capabilities text NOT NULL DEFAULT '[]',
    boot_id text,
    first_seen bigint,
    last_seen bigint,
    online boolean NOT NULL DEFAULT false,
    address text,
    rssi integer,
    linked_hub text
  );

  CREATE TABLE link_state (
    device text PRIMARY KEY,
    boot_id text,
    boot_epoch double precision,
    rx_committed bigint NOT NULL,
    tx_stream text NOT NULL,
    tx_last bigint NOT NULL,
    subscribed_boot text
  );

  CREATE TABLE link_outbox (
    pos bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device text NOT NULL,
    seq bigint NOT NULL,
    body text NOT NULL
  );
  CREATE INDEX link_outbox_device ON link_outbox (device, pos);

  CREATE TABLE series (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device text COLLATE "C" NOT NULL,
    sensor text COLLATE "C" NOT NULL,
    quantity text COLLATE "C" NOT NULL,
    unit text,
    last_ts bigint,
    last_value double precision,
    UNIQUE (device, sensor, quantity)
  );

  CREATE TABLE readings (
    series integer NOT NULL,
    ts bigint NOT NULL,
    value double precision NOT NULL CHECK (value <> 'NaN')
  ) PARTITION BY RANGE (ts);
  CREATE INDEX readings_series_ts ON readings (series, ts);
  CREATE INDEX readings_ts ON readings (ts);

  CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device text NOT NULL,
    ts bigint NOT NULL,
    type text NOT NULL,
    data text NOT NULL
  );
  CREATE INDEX events_device ON events (device, id);
  CREATE INDEX events_ts ON events (ts);

  CREATE TABLE storage_probe (pad bytea NOT NULL);

  CREATE TABLE api_tokens (
    name text COLLATE "C" PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('read', 'control', 'admin')),
    token_hash text NOT NULL,
    created_at bigint NOT NULL
  );

  CREATE TABLE rules (
    pos bigint GENERATED ALWAYS AS IDENTITY,
    name text COLLATE "C" PRIMARY KEY,
    definition text NOT NULL,
    enabled boolean NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    updated_by text NOT NULL
  );

  CREATE TABLE rollouts (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version text NOT NULL,
    wave_size integer NOT NULL,
    state text NOT NULL CHECK (state IN ('running', 'done', 'stopped', 'cancelled')),
    created_by text NOT NULL,
    created_at bigint NOT NULL,
    ended_at bigint,
    reason text
  );
  CREATE INDEX rollouts_state ON rollouts (state);

  CREATE TABLE rollout_boards (
    rollout integer NOT NULL REFERENCES rollouts (id),
    position integer NOT NULL,
    device text NOT NULL,
    wave integer NOT NULL,
    state text NOT NULL,
    phase text,
    from_version text,
    version text,
    sent_bytes bigint NOT NULL DEFAULT 0,
    total_bytes bigint NOT NULL DEFAULT 0,
    error text,
    started_at bigint,
    ended_at bigint,
    PRIMARY KEY (rollout, position),
    UNIQUE (rollout, device)
  );
  `,
  // 2: the hub that runs each rollout: hubs sharing the database each resume only their own.
  `
  ALTER TABLE rollouts ADD COLUMN hub text;
  `,
];

/** The schema version a database is at once migrated: one per migration. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to SCHEMA_VERSION; refuses one a newer Tether migrated further. A
 * database already up to date is only read, so that a hub opens on one that takes no writes.
 */
export async function migrate(pool: pg.Pool): Promise<void> {
  if (checked(await versionOf(pool)) === MIGRATIONS.length) return;
  await transaction(pool, async (db) => {
    await lock(db, LOCKS.migrate);
    await db.query('CREATE TABLE IF NOT EXISTS tether_schema (version integer PRIMARY KEY, migrated_at timestamptz NOT NULL DEFAULT now())');
    // Another hub may have migrated while this one waited for the lock.
    const version = checked(await versionOf(db));
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (i < version) continue;
      await db.query(sql);
      await db.query('INSERT INTO tether_schema (version) VALUES ($1)', [i + 1]);
    }
  });
}

async function versionOf(db: Queryable): Promise<{ version: number; database: string }> {
  const { rows } = await db.query<{ exists: boolean; database: string }>("SELECT to_regclass('tether_schema') IS NOT NULL AS exists, current_database() AS database");
  const { exists, database } = rows[0] as { exists: boolean; database: string };
  if (!exists) return { version: 0, database };
  const { rows: versions } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM tether_schema');
  return { version: versions[0]?.version ?? 0, database };
}

function checked({ version, database }: { version: number; database: string }): number {
  if (version > MIGRATIONS.length) {
    throw new Error(
      `the hub database ${database} is at schema ${version}, written by a newer Tether; this one knows up to ${MIGRATIONS.length}: run the same Tether version as the other hubs sharing the database`,
    );
  }
  return version;
}
