// The SQLite store: the storage contract (contract.ts), then what is SQLite's own — the files
// it writes, its schema version and migrations — and the token format both stores share.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { StoreOptions } from '../../../src/hub/store/port.js';
import { SCHEMA_VERSION } from '../../../src/hub/store/sqlite/schema.js';
import { SqliteStore } from '../../../src/hub/store/sqlite/sqlite-store.js';
import { hashToken, keyOfHash, newToken } from '../../../src/hub/store/tokens.js';
import { keyOfToken } from '../../../src/protocol/auth.js';
import { eventually } from '../../support/test-hub.js';
import { storeContract, type StoreFixture } from './contract.js';

/** Fresh SQLite stores, each in a folder of its own, as a hub's data folder holds one. */
function sqliteFixture(): StoreFixture & { dir: () => string } {
  const dirs: string[] = [];
  const open: SqliteStore[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'tether-store-'));
    dirs.push(made);
    return made;
  };
  const opened = (store: SqliteStore) => {
    open.push(store);
    return store;
  };
  return {
    kind: 'SQLite',
    dir,
    make(options: StoreOptions = {}) {
      const file = join(dir(), 'tether.db');
      let store = opened(SqliteStore.open(file, options));
      return Promise.resolve({
        store,
        async reopen(again: StoreOptions = options) {
          await store.close();
          store = opened(SqliteStore.open(file, again));
          return store;
        },
        beside: (other: StoreOptions) => Promise.resolve(opened(SqliteStore.open(file, other))),
      });
    },
    async cleanup() {
      for (const store of open.splice(0)) {
        try {
          await store.close();
        } catch {
          // closed by the test already
        }
      }
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const fixture = sqliteFixture();
storeContract(fixture);

describe('the SQLite store’s own', { timeout: 30_000 }, () => {
  afterEach(() => fixture.cleanup());

  it('stores a token only hashed: the plain token is nowhere in the database files', async () => {
    const path = join(fixture.dir(), 'hub.db');
    const store = SqliteStore.open(path);
    const { token } = await store.addDevice('b1');
    const files = [path, `${path}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
    const bytes = files.join('');
    assert.ok(bytes.includes(hashToken(token)), 'the hash was written, so the files are the right place to look');
    assert.ok(!bytes.includes(token));
    await store.close();
    assert.ok(!readFileSync(path).toString('latin1').includes(token), 'nor after the WAL is checkpointed on close');
  });

  it('with backgroundCheckpoint, a worker thread checkpoints the WAL while the hub writes: the WAL stays small though commits never checkpoint', async () => {
    const path = join(fixture.dir(), 'hub.db');
    const store = SqliteStore.open(path, { backgroundCheckpoint: true });
    try {
      const plain = SqliteStore.open(join(fixture.dir(), 'other.db'));
      assert.equal(plain.checkpoints, 'inline', 'without it, SQLite checkpoints in the commit that fills the WAL');
      await plain.close();
      await eventually(() => (store.checkpoints === 'background' ? true : undefined), 'the worker took the checkpoints over');
      await store.addDevice('b1');
      const readings = (from: number) => Array.from({ length: 5000 }, (_, i) => ({ device: 'b1', sensor: 's', quantity: 'q', ts: from + i, value: i, unit: null }));
      // About 40 MB through the WAL, the worker given time between commits as a hub's loop gives it.
      for (let i = 0; i < 100; i++) {
        await store.commit({ readings: readings(i * 5000), events: [], linkStates: [] });
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(store.checkpoints, 'background', 'the worker kept the checkpoints all along');
      const wal = statSync(`${path}-wal`).size;
      assert.ok(wal < 16 * 1024 * 1024, `the WAL is ${wal} bytes: it was copied into the database and started over`);
      assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 1e9, limit: 10 })).length, 10);
      assert.equal(await store.checkpoint(), true, 'a TRUNCATE checkpoint (retention’s) goes through the worker');
      assert.equal(statSync(`${path}-wal`).size, 0, 'and empties the WAL');
    } finally {
      await store.close();
    }
    assert.equal(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0, 'closed: everything is in the database file');
  });

  it('refuses a database written by a newer hub', async () => {
    const path = join(fixture.dir(), 'hub.db');
    await SqliteStore.open(path).close();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(() => SqliteStore.open(path), /schema 99.*newer/);
  });

  it('opens an existing database without migrating it again, in WAL mode', async () => {
    const path = join(fixture.dir(), 'hub.db');
    const store = SqliteStore.open(path);
    await store.addDevice('b1');
    await store.close();
    await SqliteStore.open(path).close();
    const raw = new Database(path);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal((raw.prepare('SELECT count(*) AS n FROM devices').get() as { n: number }).n, 1);
    raw.close();
  });

  it('brings a schema-1 database (before rssi and the hub of each link) up to date and keeps its boards', async () => {
    const path = join(fixture.dir(), 'hub.db');
    const store = SqliteStore.open(path);
    await store.addDevice('b1');
    await store.close();
    const raw = new Database(path);
    raw.exec(
      'ALTER TABLE devices DROP COLUMN rssi; ALTER TABLE devices DROP COLUMN linked_hub; DROP TABLE storage_probe; DROP TABLE api_tokens; DROP TABLE rules; DROP TABLE rollout_boards; DROP TABLE rollouts',
    );
    raw.exec("UPDATE devices SET online = 1 WHERE id = 'b1'");
    raw.pragma('user_version = 1');
    raw.close();
    const reopened = SqliteStore.open(path, { hubId: 'abc123' });
    assert.equal((await reopened.getDevice('b1'))?.rssi, null);
    assert.equal(await reopened.setSignal('b1', -61.4), true);
    assert.equal((await reopened.getDevice('b1'))?.rssi, -61);
    assert.equal(await reopened.markAllOffline(), 1, 'a board online before hubs were recorded was this hub’s');
    await reopened.close();
  });
});

describe('tokens', { timeout: 30_000 }, () => {
  it('are 32 random bytes in base64url, stored as their board key (protocol.md §10.5)', () => {
    const a = newToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a, 'base64url').length, 32);
    assert.notEqual(newToken(), a);
    assert.equal(hashToken(a), keyOfToken(a).toString('hex'), 'the stored hash is the key both sides prove with');
    assert.deepEqual(keyOfHash(hashToken(a)), keyOfToken(a));
    assert.equal(keyOfHash('not hex'), undefined, 'a malformed hash is no key, not an exception');
    assert.equal(keyOfHash(hashToken(a).slice(1)), undefined, 'nor is a short one');
    assert.equal(keyOfHash(hashToken(a).toUpperCase()), undefined);
  });
});
