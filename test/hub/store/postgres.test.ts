// The PostgreSQL store (store/postgres/) against a throwaway cluster (test/support/postgres.ts):
// the port's behaviour as the SQLite store shows it — registry, tokens, link state, the outbox
// across the 2^32 wrap, all-or-nothing commits, queries, rules, rollouts — and what only a shared
// server has: day partitions made on demand and dropped by retention, hubs sharing one database,
// and several hubs migrating it at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { HubError } from '../../../src/hub/errors.js';
import type { CommitBatch } from '../../../src/hub/store/port.js';
import { PostgresStore } from '../../../src/hub/store/postgres/postgres-store.js';
import { SCHEMA_VERSION } from '../../../src/hub/store/postgres/schema.js';
import type { Reading, StoredEvent } from '../../../src/hub/types.js';
import { hashToken } from '../../../src/hub/store/tokens.js';
import { keyOfToken } from '../../../src/protocol/auth.js';
import { SEQ_MODULUS } from '../../../src/protocol/link/seq.js';
import { PostgresCluster, SKIP_WITHOUT_POSTGRES } from '../../support/postgres.js';

const DAY = 86_400_000;

function reading(ts: number, value: number, over: Partial<Reading> = {}): Reading {
  return { device: 'b1', sensor: 'air', quantity: 'temperature', ts, value, unit: '°C', ...over };
}

function batch(over: Partial<CommitBatch>): CommitBatch {
  return { readings: [], events: [], linkStates: [], ...over };
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
}

function hubError(code: string, message?: RegExp) {
  return (err: unknown) => err instanceof HubError && err.code === code && (message === undefined || message.test(err.message));
}

describe('PostgreSQL store', { skip: SKIP_WITHOUT_POSTGRES, timeout: 120_000 }, () => {
  let cluster: PostgresCluster;
  const open: PostgresStore[] = [];
  const urls = new Map<PostgresStore, string>();

  before(async () => {
    cluster = await PostgresCluster.start();
  });

  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await cluster?.stop();
  });

  /** A store on a new database (or on `url`), closed after the suite. */
  async function storeOn(url?: string, hubId = 'hub-a'): Promise<PostgresStore> {
    const chosen = url ?? (await cluster.createDatabase());
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
    const { rows } = await cluster.admin<{ relname: string }>(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass ORDER BY 1",
      dbName(url),
    );
    return rows.map((r) => r.relname);
  }

  describe('registry', () => {
    it('stores a token only hashed, gives each board its key, and none for an unknown id', async () => {
      const store = await storeWith();
      const { token } = await store.addDevice('b1');
      const other = (await store.addDevice('b2')).token;
      assert.equal(store.kind, 'postgres');
      assert.deepEqual(await store.keyOf('b1'), keyOfToken(token));
      assert.deepEqual(await store.keyOf('b2'), keyOfToken(other));
      assert.equal(await store.keyOf('nobody'), undefined);
      const { rows } = await cluster.admin<{ token_hash: string }>("SELECT token_hash FROM devices WHERE id = 'b1'", dbOf(store));
      assert.equal(rows[0]?.token_hash, hashToken(token), 'only its hash is stored');
    });

    it('refuses a duplicate id with conflict and ids outside 1–64 letters, digits, _ . -', async () => {
      const store = await storeWith('b1');
      await assert.rejects(store.addDevice('b1'), hubError('conflict', /--rotate/));
      for (const id of ['', 'a b', 'x'.repeat(65), 'ä', 'a/b']) await assert.rejects(store.addDevice(id), hubError('bad_request'), JSON.stringify(id));
      assert.equal((await store.listDevices()).length, 1);
    });

    it('rotates a token: the old one stops working', async () => {
      const store = await storeWith();
      const old = (await store.addDevice('b1')).token;
      const fresh = await store.rotateToken('b1');
      assert.deepEqual(await store.keyOf('b1'), keyOfToken(fresh));
      assert.notDeepEqual(await store.keyOf('b1'), keyOfToken(old));
      await assert.rejects(store.rotateToken('nobody'), hubError('not_found'));
    });

    it('shows a new board with its defaults, and records links, signal, activity and going offline', async () => {
      const store = await storeWith();
      await store.addDevice('b1', { name: 'Greenhouse', address: 'tcp://10.0.0.5:12345' });
      assert.deepEqual(await store.getDevice('b1'), {
        id: 'b1',
        name: 'Greenhouse',
        online: false,
        firmware: '',
        capabilities: [],
        bootId: null,
        firstSeen: null,
        lastSeen: null,
        address: 'tcp://10.0.0.5:12345',
        rssi: null,
      });
      assert.equal(await store.markLinked('b1', { firmware: 'tether-py 0.1', capabilities: ['gpio', 'i2c'], bootId: 'boot-1', now: 1000 }), true);
      assert.equal(await store.touch('b1', 1500), true);
      assert.equal(await store.markLinked('b1', { firmware: 'tether-py 0.2', capabilities: ['gpio'], bootId: 'boot-2', now: 2000 }), true);
      assert.equal(await store.setSignal('b1', -66.6), true);
      assert.deepEqual(await store.getDevice('b1'), {
        id: 'b1',
        name: 'Greenhouse',
        online: true,
        firmware: 'tether-py 0.2',
        capabilities: ['gpio'],
        bootId: 'boot-2',
        firstSeen: 1000,
        lastSeen: 2000,
        address: 'tcp://10.0.0.5:12345',
        rssi: -67,
      });
      assert.equal(await store.markOffline('b1', 2500), true);
      assert.deepEqual([(await store.getDevice('b1'))?.online, (await store.getDevice('b1'))?.lastSeen], [false, 2500]);
      assert.equal(await store.markLinked('nobody', { firmware: '', capabilities: [], bootId: 'x', now: 1 }), false);
      assert.equal(await store.touch('nobody', 1), false);
      assert.equal(await store.getDevice('nobody'), undefined);
    });

    it('lists boards and series sorted in byte order, whatever the database locale', async () => {
      const store = await storeOn(await cluster.createDatabase({ icuLocale: 'en-US' }));
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

    it('removes a board with its link state and its unsent commands; registered again, it starts a new stream', async () => {
      const store = await storeWith('b1', 'b2');
      const tx = (await store.getLinkState('b1')).txStream;
      await store.outboxAdd('b1', 1, { action: 'ping' });
      await store.outboxAdd('b2', 1, { action: 'ping' });
      assert.equal(await store.removeDevice('b1'), true);
      assert.equal(await store.removeDevice('b1'), false);
      await assert.rejects(store.getLinkState('b1'), hubError('not_found'));
      assert.deepEqual(await store.outboxPending('b1'), []);
      assert.equal((await store.outboxPending('b2')).length, 1);
      await store.addDevice('b1');
      assert.notEqual((await store.getLinkState('b1')).txStream, tx);
    });
  });

  describe('API tokens', () => {
    it('makes, lists, verifies and revokes named tokens; refuses bad and taken names', async () => {
      const store = await storeWith();
      const made = await store.apiTokens.create('tablet', 'control', 1000);
      await store.apiTokens.create('wall', 'read', 2000);
      assert.deepEqual(made.view, { name: 'tablet', scope: 'control', createdAt: 1000 });
      assert.deepEqual(await store.apiTokens.list(), [made.view, { name: 'wall', scope: 'read', createdAt: 2000 }]);
      assert.deepEqual(await store.apiTokens.verify(made.token), { name: 'tablet', scope: 'control' });
      assert.equal(await store.apiTokens.verify('nope'), undefined);
      await assert.rejects(store.apiTokens.create('tablet', 'admin'), hubError('conflict', /exists/));
      await assert.rejects(store.apiTokens.create('api-token', 'admin'), hubError('conflict', /admin token/));
      await assert.rejects(store.apiTokens.create('a b', 'admin'), hubError('bad_request'));
      assert.equal(await store.apiTokens.revoke('tablet'), true);
      assert.equal(await store.apiTokens.revoke('tablet'), false);
      assert.equal(await store.apiTokens.verify(made.token), undefined);
    });
  });

  describe('link state', () => {
    it('starts with a fresh stream, stored on first read, and survives close and open', async () => {
      const url = await cluster.createDatabase();
      const store = await PostgresStore.open(url);
      await store.addDevice('b1');
      await store.addDevice('b2');
      const first = await store.getLinkState('b1');
      assert.deepEqual({ ...first, txStream: 'x' }, { bootId: null, bootEpoch: null, rxCommitted: 0, txStream: 'x', txLast: 0, subscribedBoot: null });
      assert.match(first.txStream, /^[0-9a-f-]{36}$/);
      assert.notEqual((await store.getLinkState('b2')).txStream, first.txStream);
      assert.deepEqual(await store.getLinkState('b1'), first);
      await store.saveLinkState('b1', { bootId: 'boot-7', bootEpoch: 1_700_000_000_123.5, txLast: SEQ_MODULUS - 1 });
      await store.setSubscribedBoot('b1', 'boot-7');
      await store.commit(batch({ linkStates: [{ device: 'b1', rxCommitted: 42 }] }));
      await store.close();
      const reopened = await storeOn(url);
      assert.deepEqual(await reopened.getLinkState('b1'), {
        bootId: 'boot-7',
        bootEpoch: 1_700_000_000_123.5,
        rxCommitted: 42,
        txStream: first.txStream,
        txLast: SEQ_MODULUS - 1,
        subscribedBoot: 'boot-7',
      });
    });

    it('never takes rxCommitted back within a boot, so a stale copy cannot undo commits', async () => {
      const store = await storeWith('b1');
      await store.saveLinkState('b1', { bootId: 'boot-1', rxCommitted: SEQ_MODULUS - 2 });
      const held = await store.getLinkState('b1');
      await store.commit(batch({ linkStates: [{ device: 'b1', rxCommitted: 3 }] }));
      const saved = await store.saveLinkState('b1', { ...held, subscribedBoot: 'boot-1' });
      assert.equal(saved.rxCommitted, 3, '3 is after 2^32-2: the wrap is no step back');
      assert.equal((await store.getLinkState('b1')).rxCommitted, 3);
      await store.saveLinkState('b1', { rxCommitted: 5, txLast: undefined });
      assert.equal((await store.getLinkState('b1')).rxCommitted, 5);
      await store.saveLinkState('b1', { ...held, bootId: 'boot-2', rxCommitted: 0 });
      assert.equal((await store.getLinkState('b1')).rxCommitted, 0, 'a new boot starts over');
    });

    it('is refused for an unregistered board, and a commit does not make one', async () => {
      const store = await storeWith();
      await assert.rejects(store.getLinkState('ghost'), hubError('not_found'));
      await assert.rejects(store.saveLinkState('ghost', { txLast: 1 }), hubError('not_found'));
      await assert.rejects(store.outboxAdd('ghost', 1, { action: 'ping' }), hubError('not_found'));
      await store.commit(batch({ linkStates: [{ device: 'ghost', rxCommitted: 5 }] }));
      await store.addDevice('ghost');
      assert.equal((await store.getLinkState('ghost')).rxCommitted, 0);
      assert.deepEqual(await store.outboxPending('ghost'), [], 'the refused command was not kept');
    });
  });

  describe('command outbox', () => {
    it('keeps commands in order and drops them by cumulative ack across the 2^32 wrap', async () => {
      const store = await storeWith('b1', 'b2');
      const seqs = [SEQ_MODULUS - 2, SEQ_MODULUS - 1, 0, 1, 2];
      for (const seq of seqs) await store.outboxAdd('b1', seq, { action: 'write_pin', pin: seq % 7 });
      await store.outboxAdd('b2', SEQ_MODULUS - 2, { action: 'ping' });
      assert.deepEqual((await store.outboxPending('b1')).map((e) => e.seq), seqs);
      assert.equal((await store.getLinkState('b1')).txLast, 2, 'each add records its number as the stream’s last');
      assert.equal(await store.outboxAck('b1', SEQ_MODULUS - 3), 0);
      assert.equal(await store.outboxAck('b1', 0), 3);
      assert.deepEqual((await store.outboxPending('b1')).map((e) => e.seq), [1, 2]);
      assert.equal(await store.outboxAck('b1', SEQ_MODULUS - 1), 0);
      assert.equal(await store.outboxAck('b1', 2), 2);
      assert.deepEqual(await store.outboxPending('b1'), []);
      assert.deepEqual(await store.outboxPending('b2'), [{ seq: SEQ_MODULUS - 2, body: { action: 'ping' } }]);
      assert.equal(await store.outboxClear('b2'), 1);
    });
  });

  describe('commit', () => {
    it('stores readings, events and rx state, returning the events with ascending ids', async () => {
      const store = await storeWith('b1');
      const events = await store.commit(
        batch({
          readings: [reading(1000, 20.5), reading(2000, 21)],
          events: [
            { device: 'b1', ts: 1500.4, type: 'edge', data: { pin: 4, value: 1 } },
            { device: 'b1', ts: 1600, type: 'lease_expired', data: { pin: 5 } },
          ],
          linkStates: [{ device: 'b1', rxCommitted: 3 }],
        }),
      );
      assert.deepEqual(events, [
        { id: 1, device: 'b1', ts: 1500, type: 'edge', data: { pin: 4, value: 1 } },
        { id: 2, device: 'b1', ts: 1600, type: 'lease_expired', data: { pin: 5 } },
      ]);
      assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 10_000 })).length, 2);
      assert.equal((await store.getLinkState('b1')).rxCommitted, 3);
    });

    it('is all or nothing: one bad row leaves no reading, event, series or rx state behind', async () => {
      const store = await storeWith('b1');
      await store.commit(batch({ readings: [reading(500, 1)], linkStates: [{ device: 'b1', rxCommitted: 1 }] }));
      for (const bad of [Number.NaN, 'warm' as unknown as number]) {
        await assert.rejects(
          store.commit(
            batch({
              readings: [reading(1000, 20), reading(1001, 2, { sensor: 'soil', quantity: 'moisture' }), reading(3 * DAY, bad)],
              events: [{ device: 'b1', ts: 1000, type: 'edge', data: {} }],
              linkStates: [{ device: 'b1', rxCommitted: 2 }],
            }),
          ),
        );
      }
      assert.deepEqual((await store.queryReadings({ device: 'b1', from: 0, to: 10 * DAY })).map((r) => r.ts), [500]);
      assert.deepEqual(await store.queryEvents({}), []);
      assert.equal((await store.getLinkState('b1')).rxCommitted, 1);
      assert.deepEqual((await store.sensorsOf('b1')).map((s) => s.sensor), ['air']);
      // The series the failed commit made are gone; the next commit makes them again.
      await store.commit(batch({ readings: [reading(11, 6, { sensor: 'soil', quantity: 'moisture' })] }));
      assert.deepEqual((await store.sensorsOf('b1')).map((s) => s.sensor), ['air', 'soil']);
    });

    it('refuses a reading outside the years 0000–9999 with bad_request, storing nothing of its batch', async () => {
      const store = await storeWith('b1');
      await assert.rejects(store.commit(batch({ readings: [reading(1, 1), reading(3e14, 2)] })), hubError('bad_request', /years 0000–9999/));
      assert.deepEqual(await store.queryReadings({ device: 'b1', from: 0, to: 1e15 }), []);
    });
  });

  describe('readings', () => {
    async function seeded(): Promise<PostgresStore> {
      const store = await storeWith('b1', 'b2');
      await store.commit(
        batch({
          readings: [
            reading(1005, 4),
            reading(1000, 1),
            reading(1009, 2),
            reading(1010, 10),
            reading(1019, 30),
            reading(1020, -1),
            reading(1000, 55, { quantity: 'humidity', unit: '%' }),
            reading(1000, 7, { sensor: 'adc0', quantity: 'voltage', unit: 'V' }),
            reading(1000, 99, { device: 'b2' }),
          ],
        }),
      );
      return store;
    }

    it('returns raw points ordered by sensor, quantity and ts, filtered, from included and to excluded', async () => {
      const store = await seeded();
      const all = await store.queryReadings({ device: 'b1', from: 0, to: 10_000 });
      assert.deepEqual(
        all.map((r) => `${r.sensor}.${r.quantity}@${r.ts}=${r.avg}`),
        ['adc0.voltage@1000=7', 'air.humidity@1000=55', 'air.temperature@1000=1', 'air.temperature@1005=4', 'air.temperature@1009=2', 'air.temperature@1010=10', 'air.temperature@1019=30', 'air.temperature@1020=-1'],
      );
      assert.deepEqual(all[0], { sensor: 'adc0', quantity: 'voltage', ts: 1000, min: 7, max: 7, avg: 7, count: 1 });
      assert.equal((await store.queryReadings({ device: 'b1', quantity: 'temperature', from: 0, to: 10_000 })).length, 6);
      const q = { device: 'b1', sensor: 'air', quantity: 'temperature' };
      assert.deepEqual((await store.queryReadings({ ...q, from: 1005, to: 1019 })).map((r) => r.ts), [1005, 1009, 1010]);
      assert.deepEqual((await store.queryReadings({ ...q, from: 1005.5, to: 1019.5 })).map((r) => r.ts), [1009, 1010, 1019], 'bounds between two ms');
      assert.deepEqual((await store.queryReadings({ device: 'b2', from: 0, to: 1e300 })).map((r) => r.avg), [99]);
      assert.equal((await store.queryReadings({ ...q, from: 0, to: 10_000, limit: 2 })).at(-1)?.ts, 1005);
    });

    it('downsamples into buckets aligned to multiples of bucketMs, before 1970 too', async () => {
      const store = await seeded();
      assert.deepEqual(await store.queryReadings({ device: 'b1', sensor: 'air', quantity: 'temperature', from: 0, to: 10_000, bucketMs: 10 }), [
        { sensor: 'air', quantity: 'temperature', ts: 1000, min: 1, max: 4, avg: 7 / 3, count: 3 },
        { sensor: 'air', quantity: 'temperature', ts: 1010, min: 10, max: 30, avg: 20, count: 2 },
        { sensor: 'air', quantity: 'temperature', ts: 1020, min: -1, max: -1, avg: -1, count: 1 },
      ]);
      await store.commit(batch({ readings: [reading(-5, 1), reading(-10, 3), reading(-11, 8)] }));
      assert.deepEqual(
        (await store.queryReadings({ device: 'b1', from: -100, to: 0, bucketMs: 10 })).map((b) => [b.ts, b.count]),
        [
          [-20, 1],
          [-10, 2],
        ],
      );
    });

    it('refuses a bad limit, bucket or time with bad_request', async () => {
      const store = await seeded();
      const q = { device: 'b1', from: 0, to: 10_000 };
      await assert.rejects(store.queryReadings({ ...q, limit: 0 }), hubError('bad_request', /limit/));
      await assert.rejects(store.queryReadings({ ...q, bucketMs: 0.5 }), hubError('bad_request', /bucketMs/));
      await assert.rejects(store.queryReadings({ ...q, from: Number.NaN }), hubError('bad_request', /from/));
    });

    it('lists series with their latest point and unit, per board and for every board', async () => {
      const store = await seeded();
      await store.commit(batch({ readings: [reading(900, 123), reading(1030, 5, { quantity: 'humidity', unit: 'percent' })] }));
      assert.deepEqual(await store.sensorsOf('b1'), [
        { sensor: 'adc0', quantity: 'voltage', unit: 'V', lastTs: 1000, lastValue: 7 },
        { sensor: 'air', quantity: 'humidity', unit: 'percent', lastTs: 1030, lastValue: 5 },
        { sensor: 'air', quantity: 'temperature', unit: '°C', lastTs: 1020, lastValue: -1 },
      ]);
      assert.deepEqual(
        (await store.latestSensors()).map((s) => `${s.device}/${s.sensor}/${s.quantity}=${s.lastValue}`),
        ['b1/adc0/voltage=7', 'b1/air/humidity=5', 'b1/air/temperature=-1', 'b2/air/temperature=99'],
      );
    });
  });

  describe('events', () => {
    it('returns the newest first, pages forward after an id, filters, and caps the limit', async () => {
      const store = await storeWith('b1', 'b2');
      const events = Array.from({ length: 150 }, (_, i) => ({ device: i % 3 === 0 ? 'b2' : 'b1', ts: 10_000 + i, type: i % 2 === 0 ? 'edge' : 'lease_expired', data: { n: i } }));
      await store.commit(batch({ events }));
      const page = await store.queryEvents({});
      assert.equal(page.length, 100);
      assert.deepEqual(page[0], { id: 150, device: 'b1', ts: 10_149, type: 'lease_expired', data: { n: 149 } });
      const ids: number[] = [];
      for (let afterId = 0; ; ) {
        const next = await store.queryEvents({ afterId, limit: 40 });
        if (next.length === 0) break;
        ids.push(...next.map((e) => e.id));
        afterId = next.at(-1)?.id ?? afterId;
      }
      assert.deepEqual(ids, Array.from({ length: 150 }, (_, i) => i + 1));
      assert.equal((await store.queryEvents({ device: 'b2', limit: 5000 })).length, 50);
      assert.deepEqual((await store.queryEvents({ device: 'b1', type: 'edge', from: 10_010, to: 10_020 })).map((e) => e.ts), [10_016, 10_014, 10_010]);
      assert.deepEqual((await store.queryEvents({ type: 'edge', afterId: 140 })).map((e) => e.id), [141, 143, 145, 147, 149]);
      await assert.rejects(store.queryEvents({ limit: -1 }), hubError('bad_request'));
    });

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

    it('holds a commit’s events back while an earlier commit that took smaller ids is still open', async () => {
      const store = await storeWith('b1');
      await store.getLinkState('b1');
      const db = dbOf(store);
      // Another session locks b1's link state row: the first commit takes its event ids, then waits there.
      const blocker = new pg.Client({ connectionString: dbUrl(store) });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query("SELECT 1 FROM link_state WHERE device = 'b1' FOR UPDATE");
      const waiting = async (event: string) =>
        (await cluster.admin<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${db}' AND wait_event = '${event}'`)).rows[0]?.n ?? 0;
      let secondDone = false;
      let first: Promise<StoredEvent[]> | undefined;
      let second: Promise<StoredEvent[]> | undefined;
      try {
        first = store.commit(batch({ events: [{ device: 'b1', ts: 1, type: 'edge', data: {} }], linkStates: [{ device: 'b1', rxCommitted: 1 }] }));
        await until(async () => (await waiting('transactionid')) > 0);
        second = store.commit(batch({ events: [{ device: 'b1', ts: 2, type: 'edge', data: {} }] })).finally(() => (secondDone = true));
        await until(async () => secondDone || (await waiting('advisory')) > 0);
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

  describe('rules', () => {
    it('keeps the rules made through the API in the order made, renamed in place; a taken name is a conflict', async () => {
      const store = await storeWith();
      await store.addRule({ name: 'a', definition: { name: 'a', x: 1 }, enabled: true }, 1000, 'ops');
      await store.addRule({ name: 'b', definition: { name: 'b' }, enabled: true }, 2000, 'ops');
      assert.equal(await store.replaceRule('a', { name: 'a2', definition: { name: 'a2' }, enabled: false }, 3000, 'api-token'), true);
      assert.equal(await store.replaceRule('nobody', { name: 'c', definition: { name: 'c' }, enabled: true }, 3000, 'ops'), false);
      await assert.rejects(store.addRule({ name: 'b', definition: { name: 'b' }, enabled: true }, 4000, 'ops'), hubError('conflict'));
      await assert.rejects(store.replaceRule('a2', { name: 'b', definition: { name: 'b' }, enabled: true }, 4000, 'ops'), hubError('conflict'));
      assert.deepEqual(await store.storedRules(), [
        { name: 'a2', definition: { name: 'a2' }, enabled: false, createdAt: 1000, updatedAt: 3000, updatedBy: 'api-token' },
        { name: 'b', definition: { name: 'b' }, enabled: true, createdAt: 2000, updatedAt: 2000, updatedBy: 'ops' },
      ]);
      assert.equal(await store.removeRule('b'), true);
      assert.equal(await store.removeRule('b'), false);
    });
  });

  describe('rollouts', () => {
    it('creates waves, updates boards, finds running ones and ends them once', async () => {
      const store = await storeWith();
      const r = await store.rollouts.create('1.2.0', ['b1', 'b2', 'b3'], 2, 'ops', 1000);
      assert.deepEqual(
        r.boards.map((b) => [b.device, b.wave, b.state]),
        [
          ['b1', 1, 'waiting'],
          ['b2', 1, 'waiting'],
          ['b3', 2, 'waiting'],
        ],
      );
      assert.deepEqual({ ...r, boards: [] }, { id: r.id, version: '1.2.0', waveSize: 2, state: 'running', createdBy: 'ops', createdAt: 1000, endedAt: null, reason: null, boards: [] });
      await store.rollouts.updateBoard(r.id, 'b2', { state: 'failed', error: { code: 'hash_mismatch', message: 'x' }, sentBytes: 10, endedAt: 2000 });
      const b2 = (await store.rollouts.get(r.id))?.boards[1];
      assert.deepEqual(b2, { device: 'b2', wave: 1, state: 'failed', phase: null, fromVersion: null, version: null, sentBytes: 10, totalBytes: 0, error: { code: 'hash_mismatch', message: 'x' }, startedAt: null, endedAt: 2000 });
      assert.equal(await store.rollouts.rolloutOf('b3'), r.id);
      assert.equal(await store.rollouts.usingRelease('1.2.0'), r.id);
      const second = await store.rollouts.create('1.3.0', ['b9'], 1, 'ops', 1500);
      assert.deepEqual((await store.rollouts.running()).map((x) => x.id), [r.id, second.id]);
      assert.deepEqual((await store.rollouts.list()).map((x) => x.id), [second.id, r.id]);
      assert.equal(await store.rollouts.end(r.id, 'stopped', 3000, { device: 'b2', code: 'hash_mismatch', message: 'x' }), true);
      assert.equal(await store.rollouts.end(r.id, 'cancelled', 3001, null), false);
      assert.equal((await store.rollouts.get(r.id))?.reason?.device, 'b2');
      assert.equal(await store.rollouts.rolloutOf('b3'), undefined);
      assert.equal(await store.rollouts.get(999), undefined);
    });
  });

  describe('partitions and retention', () => {
    it('makes a day’s partition when a commit first holds a reading of that day', async () => {
      const store = await storeWith('b1');
      const url = dbUrl(store);
      assert.deepEqual(await partitions(url), []);
      await store.commit(batch({ readings: [reading(Date.UTC(2025, 11, 5, 23, 59), 1), reading(Date.UTC(2025, 11, 6, 0, 1), 2), reading(-1, 3)] }));
      assert.deepEqual(await partitions(url), ['readings_19691231', 'readings_20251205', 'readings_20251206']);
      const { rows } = await cluster.admin<{ n: number }>('SELECT count(*)::int AS n FROM readings_20251206', dbName(url));
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
      assert.deepEqual(await partitions(url), ['readings_20250102', 'readings_20250103'], 'day 0 was dropped whole');
      const left = await store.queryReadings({ device: 'b1', from: 0, to: day0 + 10 * DAY, limit: 100 });
      assert.equal(left.length, 15);
      assert.equal(left[0]?.ts, cutoff);
      assert.deepEqual(await store.prune(cutoff + 1000, 1000), { readings: 0, events: 0, more: false });
      assert.deepEqual((await store.sensorsOf('b1')).map((s) => s.lastValue), [29], 'a series keeps its latest point');
      // A late reading of a dropped day makes its partition again.
      await store.commit(batch({ readings: [reading(day0 + 1, 5)] }));
      assert.deepEqual(await partitions(url), ['readings_20250101', 'readings_20250102', 'readings_20250103']);
    });

    it('stops at maxRows, oldest first, and says more is left', async () => {
      const store = await storeWith('b1');
      const old = Array.from({ length: 7000 }, (_, i) => reading(7000 - i, i));
      await store.commit(batch({ readings: [...old, reading(20_000, 1)], events: [0, 1, 2].map((ts) => ({ device: 'b1', ts, type: 'edge', data: {} })) }));
      assert.deepEqual(await store.prune(10_000, 0, { maxRows: 6000 }), { readings: 6000, events: 0, more: true });
      assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 }))[0]?.ts, 6001);
      assert.deepEqual(await store.prune(10_000, 0, { maxRows: 1002 }), { readings: 1000, events: 2, more: true });
      assert.deepEqual(await store.prune(10_000, 0, { maxRows: 1002 }), { readings: 0, events: 1, more: false });
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
      assert.deepEqual(await partitions(url), ['readings_20250102']);
      assert.deepEqual(await store.pruneOldest(5), { readings: 5, events: 0, more: true });
      assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: day0 + 2 * DAY }))[0]?.ts, day0 + DAY + 5);
      for (let i = 0; i < 3; i++) await store.pruneOldest(5);
      assert.deepEqual(await store.pruneOldest(2), { readings: 0, events: 2, more: true });
      assert.deepEqual((await store.queryEvents({})).map((e) => e.ts), [3]);
      assert.equal(await store.checkpoint(), true);
    });
  });

  describe('hubs sharing one database', () => {
    it('marks offline only the boards this hub holds, one by one and all at its start', async () => {
      const a = await storeWith('b1', 'b2', 'b3');
      const b = await storeOn(dbUrl(a), 'hub-b');
      const linked = { firmware: 'f', capabilities: [], bootId: 'x', now: 1 };
      await a.markLinked('b1', linked);
      await a.markLinked('b2', linked);
      await b.markLinked('b3', linked);
      // b2 moves to hub B; hub A's late goodbye changes nothing.
      await b.markLinked('b2', { ...linked, now: 2 });
      assert.equal(await a.markOffline('b2', 3), false);
      assert.deepEqual([(await a.getDevice('b2'))?.online, (await a.getDevice('b2'))?.lastSeen], [true, 2]);
      // Hub A restarts: only b1 was its own.
      assert.equal(await a.markAllOffline(), 1);
      assert.deepEqual((await b.listDevices()).map((d) => [d.id, d.online]), [
        ['b1', false],
        ['b2', true],
        ['b3', true],
      ]);
      assert.equal(await b.markOffline('b2', 4), true);
      assert.equal(await b.markAllOffline(), 1);
      assert.deepEqual((await a.listDevices()).map((d) => d.online), [false, false, false]);
    });

    it('migrates once when several hubs open a new database at the same time', async () => {
      const url = await cluster.createDatabase();
      const stores = await Promise.all(['h1', 'h2', 'h3', 'h4'].map((hub) => storeOn(url, hub)));
      const { rows } = await cluster.admin<{ version: number }>('SELECT version FROM tether_schema ORDER BY version', dbName(url));
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
      await cluster.admin(`INSERT INTO tether_schema (version) VALUES (${SCHEMA_VERSION + 5})`, db);
      await assert.rejects(PostgresStore.open(dbUrl(store)), new RegExp(`schema ${SCHEMA_VERSION + 5}, written by a newer Tether`));
    });
  });

  describe('storage faults', () => {
    it('a database that takes no writes makes the store full; bookkeeping is skipped, and probe() finds it writable again', async () => {
      const url = await cluster.createDatabase();
      const db = dbName(url);
      await (await storeOn(url)).addDevice('b1');
      await cluster.admin(`ALTER DATABASE ${db} SET default_transaction_read_only = on`);
      const store = await storeOn(url);
      await assert.rejects(store.addDevice('b2'), hubError('storage_full'));
      assert.equal(store.health.fault?.code, 'read_only_sql_transaction');
      assert.equal(await store.markLinked('b1', { firmware: 'f', capabilities: [], bootId: 'x', now: 1 }), false);
      assert.equal(await store.outboxAck('b1', 1), 0);
      await assert.rejects(store.commit(batch({ events: [{ device: 'b1', ts: 1, type: 'edge', data: {} }] })), hubError('storage_full'));
      assert.equal(await store.probe(), false);
      assert.deepEqual(await store.listDevices().then((d) => d.length), 1, 'reads still work');
      await cluster.admin(`ALTER DATABASE ${db} RESET default_transaction_read_only`);
      // The setting holds for a session's life: new sessions take writes again.
      await cluster.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
      let probed = false;
      for (let i = 0; i < 20 && !probed; i++) probed = await store.probe().catch(() => false);
      assert.equal(probed, true);
      assert.equal(store.health.full, false);
      await store.addDevice('b2');
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

  function dbName(url: string): string {
    return new URL(url).pathname.slice(1);
  }
});
