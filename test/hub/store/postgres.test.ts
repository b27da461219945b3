// The PostgreSQL store (store/postgres/) against a throwaway cluster (test/support/postgres.ts):
// the storage contract (contract.ts), then what is PostgreSQL's own — text sorted in byte order
// whatever the database's locale, readings in day partitions made on demand and dropped by
// retention, event ids in commit order, hubs migrating one database at once, and a database
// that takes no writes or cannot be reached.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { StoreOptions } from '../../../src/hub/store/port.js';
import { PostgresStore } from '../../../src/hub/store/postgres/postgres-store.js';
import { SCHEMA_VERSION } from '../../../src/hub/store/postgres/schema.js';
import { hashToken } from '../../../src/hub/store/tokens.js';
import type { StoredEvent } from '../../../src/hub/types.js';
import { PostgresCluster, SKIP_WITHOUT_POSTGRES } from '../../support/postgres.js';
import { batch, hubError, reading, storeContract, type StoreFixture } from './contract.js';

const DAY = 86_400_000;

/** Waits for a condition on the server's state; a minute without it fails the test rather than hang it. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function dbName(url: string): string {
  return new URL(url).pathname.slice(1);
}

/** Fresh PostgreSQL stores, each on a database of its own in one cluster; cleanup drops them. */
function postgresFixture(cluster: () => PostgresCluster): StoreFixture {
  const open: PostgresStore[] = [];
  const databases: string[] = [];
  const opened = async (url: string, options: StoreOptions) => {
    const store = await PostgresStore.open(url, options);
    open.push(store);
    return store;
  };
  return {
    kind: 'PostgreSQL',
    async make(options: StoreOptions = {}) {
      const url = await cluster().createDatabase();
      databases.push(url);
      let store = await opened(url, options);
      return {
        store,
        async reopen(again: StoreOptions = options) {
          await store.close();
          store = await opened(url, again);
          return store;
        },
        beside: (other: StoreOptions) => opened(url, other),
      };
    },
    async cleanup() {
      for (const store of open.splice(0)) {
        try {
          await store.close();
        } catch {
          // closed by the test already
        }
      }
      for (const url of databases.splice(0)) await cluster().admin(`DROP DATABASE ${dbName(url)} WITH (FORCE)`);
    },
  };
}

describe('PostgreSQL', { skip: SKIP_WITHOUT_POSTGRES, timeout: 300_000 }, () => {
  let cluster: PostgresCluster | undefined;
  const open: PostgresStore[] = [];
  const urls = new Map<PostgresStore, string>();
  const running = () => {
    if (cluster === undefined) throw new Error('the cluster did not start');
    return cluster;
  };

  before(async () => {
    cluster = await PostgresCluster.start();
  });

  after(async () => {
    await Promise.all(open.map((s) => s.close().catch(() => undefined)));
    await cluster?.stop();
  });

  storeContract(postgresFixture(running));

  /** A store on a new database (or on `url`), closed after the suite. */
  async function storeOn(url?: string, hubId = 'hub-a'): Promise<PostgresStore> {
    const chosen = url ?? (await running().createDatabase());
    const store = await PostgresStore.open(chosen, { hubId });
    open.push(store);
    urls.set(store, chosen);
    return store;
  }

  async function storeWith(...devices: string[]): Promise<PostgresStore> {
    const store = await storeOn();
    for (const id of devices) await store.addDevice(id);
    return store;
  }

  async function partitions(url: string): Promise<string[]> {
    const { rows } = await running().admin<{ relname: string }>(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass ORDER BY 1",
      dbName(url),
    );
    return rows.map((r) => r.relname);
  }

  describe('what the PostgreSQL store does beside the contract', () => {
    it('stores a board token only as its hash', async () => {
      const store = await storeWith();
      const { token } = await store.addDevice('b1');
      const { rows } = await running().admin<{ token_hash: string }>("SELECT token_hash FROM devices WHERE id = 'b1'", dbOf(store));
      assert.equal(rows[0]?.token_hash, hashToken(token));
      assert.equal(store.kind, 'postgres');
    });

    it('lists boards and series sorted in byte order, whatever the database locale', async () => {
      const store = await storeOn(await running().createDatabase({ icuLocale: 'en-US' }));
      const ids = ['b', 'B', 'a-1', 'a_1', 'a.1', 'A', '0', 'zz', 'Z'];
      for (const id of ids) await store.addDevice(id);
      assert.deepEqual(
        (await store.listDevices()).map((d) => d.id),
        [...ids].sort(),
      );
      await store.commit(batch({ readings: ids.map((sensor, i) => reading(i, i, { device: 'b', sensor })) }));
      assert.deepEqual(
        (await store.sensorsOf('b')).map((s) => s.sensor),
        [...ids].sort(),
      );
      assert.deepEqual(
        [...new Set((await store.queryReadings({ device: 'b', from: 0, to: 100 })).map((r) => r.sensor))],
        [...ids].sort(),
      );
    });

    it('refuses a command for an unregistered board and keeps nothing of it', async () => {
      const store = await storeWith();
      await assert.rejects(store.outboxAdd('ghost', 1, { action: 'ping' }), hubError('not_found'));
      await store.addDevice('ghost');
      assert.deepEqual(await store.outboxPending('ghost'), []);
      assert.equal((await store.getLinkState('ghost')).txLast, 0);
    });
    it('refuses a reading outside the years 0000–9999 with bad_request, storing nothing of its batch', async () => {
      const store = await storeWith('b1');
      await assert.rejects(store.commit(batch({ readings: [reading(1, 1), reading(3e14, 2)] })), hubError('bad_request', /years 0000–9999/));
      assert.deepEqual(await store.queryReadings({ device: 'b1', from: 0, to: 1e15 }), []);
    });
    it('takes query bounds between two milliseconds', async () => {
      const store = await storeWith('b1');
      await store.commit(batch({ readings: [1005, 1009, 1010, 1019].map((ts) => reading(ts, ts)) }));
      const q = { device: 'b1', from: 1005.5, to: 1019.5 };
      assert.deepEqual((await store.queryReadings(q)).map((r) => r.ts), [1009, 1010, 1019]);
      assert.deepEqual((await store.queryEvents({ afterId: 0.5 })).map((e) => e.id), []);
      assert.equal((await store.queryReadings({ device: 'b1', from: -1e300, to: 1e300 })).length, 4, 'far bounds are clamped, not refused');
    });
  });

  describe('event ids', () => {
    it('gives ids in commit order when commits run at once, so paging forward misses none', async () => {
      const store = await storeWith('b1');
      const other = await storeOn(dbUrl(store), 'hub-b');
      const commits = Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? store : other).commit(batch({ events: Array.from({ length: 5 }, (_, k) => ({ device: 'b1', ts: i, type: 'edge', data: { i, k } })) })),
      );
      const stored = (await Promise.all(commits)).flat();
      const all = await store.queryEvents({ afterId: 0, limit: 1000 });
      assert.deepEqual(
        all.map((e) => e.id),
        stored.map((e) => e.id).sort((a, b) => a - b),
      );
      for (const group of await Promise.all(commits)) {
        assert.deepEqual(group.map((e) => e.id), group.map((_, k) => (group[0]?.id ?? 0) + k), 'each commit’s events take consecutive ids');
      }
    });

    it('holds another hub’s commit of events back while an earlier commit that took smaller ids is still open', async () => {
      const store = await storeWith('b1');
      const other = await storeOn(dbUrl(store), 'hub-b');
      await store.getLinkState('b1');
      const db = dbOf(store);
      // Another session locks b1's link state row: the first commit takes its event ids, then waits there.
      const blocker = new pg.Client({ connectionString: dbUrl(store) });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query("SELECT 1 FROM link_state WHERE device = 'b1' FOR UPDATE");
      const waiting = async (event: string) =>
        (await running().admin<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${db}' AND wait_event = '${event}'`)).rows[0]?.n ?? 0;
      let secondDone = false;
      let first: Promise<StoredEvent[]> | undefined;
      let second: Promise<StoredEvent[]> | undefined;
      try {
        first = store.commit(batch({ events: [{ device: 'b1', ts: 1, type: 'edge', data: {} }], linkStates: [{ device: 'b1', rxCommitted: 1 }] }));
        await until(async () => (await waiting('transactionid')) > 0, 'the first commit to wait for the locked row');
        second = other.commit(batch({ events: [{ device: 'b1', ts: 2, type: 'edge', data: {} }] })).finally(() => (secondDone = true));
        await until(async () => secondDone || (await waiting('advisory')) > 0, 'the second commit to end or wait');
        assert.equal(secondDone, false, 'the second commit waits for the first');
        assert.deepEqual(await store.queryEvents({ afterId: 0 }), [], 'so no reader can page past the first commit’s ids');
      } finally {
        await blocker.query('ROLLBACK');
        await blocker.end();
      }
      const [[a], [b]] = await Promise.all([first, second]);
      assert.ok(a !== undefined && b !== undefined && a.id < b.id);
    });
  });

  describe('day partitions and retention', () => {
    it('makes a day’s partition when a commit first holds a reading of that day', async () => {
      const store = await storeWith('b1');
      const url = dbUrl(store);
      assert.deepEqual(await partitions(url), []);
      await store.commit(batch({ readings: [reading(Date.UTC(2025, 11, 5, 23, 59), 1), reading(Date.UTC(2025, 11, 6, 0, 1), 2), reading(-1, 3)] }));
      assert.deepEqual(await partitions(url), ['readings_19691231', 'readings_20251205', 'readings_20251206', 'readings_20251207'], 'and the day after the newest, made ahead');
      const { rows } = await running().admin<{ n: number }>('SELECT count(*)::int AS n FROM readings_20251206', dbName(url));
      assert.equal(rows[0]?.n, 1, 'each reading is in its day’s table');
    });

    it('drops the days wholly older than the cutoff and deletes only the older rows of the day that straddles it', async () => {
      const store = await storeWith('b1');
      const url = dbUrl(store);
      const day0 = Date.UTC(2025, 0, 1);
      const readings = [0, 1, 2].flatMap((d) => Array.from({ length: 10 }, (_, i) => reading(day0 + d * DAY + i * 3_600_000, d * 10 + i)));
      await store.commit(batch({ readings, events: [{ device: 'b1', ts: day0, type: 'edge', data: {} }, { device: 'b1', ts: day0 + 2 * DAY, type: 'edge', data: {} }] }));
      const cutoff = day0 + DAY + 5 * 3_600_000; // day 1 at 05:00
      assert.deepEqual(await store.prune(cutoff + 1000, 1000), { readings: 15, events: 1, more: false });
      assert.deepEqual(await partitions(url), ['readings_20250102', 'readings_20250103', 'readings_20250104'], 'day 0 was dropped whole');
      const left = await store.queryReadings({ device: 'b1', from: 0, to: day0 + 10 * DAY, limit: 100 });
      assert.equal(left.length, 15);
      assert.equal(left[0]?.ts, cutoff);
      assert.deepEqual(await store.prune(cutoff + 1000, 1000), { readings: 0, events: 0, more: false });
      assert.deepEqual((await store.sensorsOf('b1')).map((s) => s.lastValue), [29], 'a series keeps its latest point');
      // A late reading of a dropped day makes its partition again.
      await store.commit(batch({ readings: [reading(day0 + 1, 5)] }));
      assert.deepEqual(await partitions(url), ['readings_20250101', 'readings_20250102', 'readings_20250103', 'readings_20250104']);
    });

    it('by size, drops the oldest day first, then deletes within the newest day, then the oldest events', async () => {
      const store = await storeWith('b1');
      const url = dbUrl(store);
      const day0 = Date.UTC(2025, 0, 1);
      await store.commit(
        batch({
          readings: [...Array.from({ length: 30 }, (_, i) => reading(day0 + i, i)), ...Array.from({ length: 20 }, (_, i) => reading(day0 + DAY + i, i))],
          events: [3, 1, 2].map((ts) => ({ device: 'b1', ts, type: 'edge', data: { ts } })),
        }),
      );
      const before = await store.size();
      assert.ok(before.used > 0 && before.wal === 0);
      assert.deepEqual(await store.pruneOldest(5), { readings: 30, events: 0, more: true });
      assert.deepEqual(await partitions(url), ['readings_20250102', 'readings_20250103'], 'the empty day made ahead stays');
      assert.deepEqual(await store.pruneOldest(5), { readings: 5, events: 0, more: true });
      assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: day0 + 2 * DAY }))[0]?.ts, day0 + DAY + 5);
      for (let i = 0; i < 3; i++) await store.pruneOldest(5);
      assert.deepEqual(await store.pruneOldest(2), { readings: 0, events: 2, more: true });
      assert.deepEqual((await store.queryEvents({})).map((e) => e.ts), [3]);
      assert.equal(await store.checkpoint(), true);
    });
  });

  describe('hubs sharing one database', () => {
    it('migrates once when several hubs open a new database at the same time', async () => {
      const url = await running().createDatabase();
      const stores = await Promise.all(['h1', 'h2', 'h3', 'h4'].map((hub) => storeOn(url, hub)));
      const { rows } = await running().admin<{ version: number }>('SELECT version FROM tether_schema ORDER BY version', dbName(url));
      assert.deepEqual(rows.map((r) => r.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      await stores[0]?.addDevice('b1');
      assert.equal((await stores[3]?.getDevice('b1'))?.id, 'b1');
    });

    it('make the same new day’s partition at once without failing a commit', async () => {
      const a = await storeWith('b1');
      const b = await storeOn(dbUrl(a), 'hub-b');
      const ts = Date.UTC(2026, 0, 1);
      await Promise.all([a.commit(batch({ readings: [reading(ts, 1)] })), b.commit(batch({ readings: [reading(ts + 1, 2)] }))]);
      assert.equal((await a.queryReadings({ device: 'b1', from: ts, to: ts + DAY })).length, 2);
      // Hub B drops the day; hub A still thinks it has it, and its next commit makes it again.
      await b.prune(ts + 2 * DAY, 0);
      await a.commit(batch({ readings: [reading(ts + 5, 3)] }));
      assert.deepEqual((await b.queryReadings({ device: 'b1', from: ts, to: ts + DAY })).map((r) => r.avg), [3]);
    });

    it('refuses a database a newer Tether migrated further', async () => {
      const store = await storeWith();
      const db = dbOf(store);
      await running().admin(`INSERT INTO tether_schema (version) VALUES (${SCHEMA_VERSION + 5})`, db);
      await assert.rejects(PostgresStore.open(dbUrl(store)), new RegExp(`schema ${SCHEMA_VERSION + 5}, written by a newer Tether`));
    });
  });

  describe('storage faults', () => {
    it('a database that takes no writes makes the store full; bookkeeping is skipped, and probe() finds it writable again', async () => {
      const url = await running().createDatabase();
      const db = dbName(url);
      await (await storeOn(url)).addDevice('b1');
      await running().admin(`ALTER DATABASE ${db} SET default_transaction_read_only = on`);
      const store = await storeOn(url);
      await assert.rejects(store.addDevice('b2'), hubError('storage_full'));
      assert.equal(store.health.fault?.code, 'read_only_sql_transaction');
      assert.equal(await store.markLinked('b1', { firmware: 'f', capabilities: [], bootId: 'x', now: 1 }), false);
      assert.equal(await store.outboxAck('b1', 1), 0);
      await assert.rejects(store.commit(batch({ events: [{ device: 'b1', ts: 1, type: 'edge', data: {} }] })), hubError('storage_full'));
      assert.equal(await store.probe(), false);
      assert.deepEqual(await store.listDevices().then((d) => d.length), 1, 'reads still work');
      await running().admin(`ALTER DATABASE ${db} RESET default_transaction_read_only`);
      // The setting holds for a session's life: new sessions take writes again.
      await running().admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
      let probed = false;
      for (let i = 0; i < 20 && !probed; i++) probed = await store.probe().catch(() => false);
      assert.equal(probed, true);
      assert.equal(store.health.full, false);
      await store.addDevice('b2');
    });
  });

  describe('a server out of reach', () => {
    it('rejects reads and writes with store_unavailable, and does not take it for a full store', async () => {
      const own = await PostgresCluster.start();
      try {
        const store = await PostgresStore.open(await own.createDatabase());
        await store.addDevice('b1');
        await own.stop();
        await assert.rejects(store.listDevices(), hubError('store_unavailable', /cannot reach its PostgreSQL database/));
        await assert.rejects(store.commit(batch({ readings: [reading(1, 1)] })), hubError('store_unavailable'));
        await assert.rejects(store.apiTokens.verify('x'), hubError('store_unavailable'));
        assert.equal(store.health.full, false);
        await store.close();
      } finally {
        await own.stop();
      }
    });
  });

  function dbUrl(store: PostgresStore): string {
    const url = urls.get(store);
    if (url === undefined) throw new Error('store not opened through storeOn');
    return url;
  }

  function dbOf(store: PostgresStore): string {
    return dbName(dbUrl(store));
  }
});
