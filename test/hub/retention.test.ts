// Retention by size (retention.max_mb) and by age (retention.days): the oldest readings go
// first, then the oldest events, and never the registry, the link state or the command outbox.
import { keyOfToken } from '../../src/protocol/auth.js';
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import type { Logger } from '../../src/device/logger.js';
import { HubConfigError, parseHubConfig } from '../../src/hub/config.js';
import { IngestQueue } from '../../src/hub/ingest.js';
import { Retention, SIZE_TARGET } from '../../src/hub/store/retention.js';
import type { HubStore } from '../../src/hub/store/port.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { Reading } from '../../src/hub/types.js';
import { eventually, startTestHub, tempDataDir } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DAY_MS = 86_400_000;
const NOW = 100 * DAY_MS;

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/** `count` readings of b1, one per ms from `firstTs`, committed in batches. */
async function addReadings(store: HubStore, count: number, firstTs: number): Promise<void> {
  for (let start = 0; start < count; start += 5000) {
    const readings: Reading[] = [];
    for (let i = start; i < Math.min(count, start + 5000); i++) readings.push({ device: 'b1', sensor: 'air', quantity: 'temperature', ts: firstTs + i, value: i, unit: '°C' });
    await store.commit({ readings, events: [], linkStates: [] });
  }
}

async function addEvents(store: HubStore, count: number, firstTs: number): Promise<void> {
  const pad = 'x'.repeat(200);
  for (let start = 0; start < count; start += 2000) {
    const events = [];
    for (let i = start; i < Math.min(count, start + 2000); i++) events.push({ device: 'b1', ts: firstTs + i, type: 'edge', data: { n: i, pad } });
    await store.commit({ readings: [], events, linkStates: [] });
  }
}

const readingTimes = async (store: HubStore) => (await store.queryReadings({ device: 'b1', from: 0, to: NOW * 2, limit: 100_000 })).map((r) => r.ts);
/** How many readings b1 has, of any series. */
const readingCount = async (store: HubStore) => (await store.queryReadings({ device: 'b1', from: 0, to: NOW * 2, bucketMs: NOW * 2 })).reduce((n, b) => n + b.count, 0);

/** The `n` of each event of b1, oldest first. */
async function eventNumbers(store: HubStore): Promise<number[]> {
  const found: number[] = [];
  let after = 0;
  for (;;) {
    const page = await store.queryEvents({ device: 'b1', afterId: after, limit: 1000 });
    if (page.length === 0) return found;
    found.push(...page.map((e) => e.data['n'] as number));
    after = page.at(-1)?.id ?? after;
  }
}

/** A registered board with link state and a command waiting: what retention must never touch. */
async function registerBoard(store: HubStore): Promise<{ token: string }> {
  const registered = await store.addDevice('b1', { name: 'Kiln' });
  await store.saveLinkState('b1', { bootId: 'boot-7', rxCommitted: 41 });
  await store.outboxAdd('b1', 3, { action: 'ping', id: 'c3' });
  return registered;
}

async function assertBoardKept(store: HubStore, token: string): Promise<void> {
  assert.equal((await store.getDevice('b1'))?.name, 'Kiln');
  assert.equal((await store.keyOf('b1'))?.equals(keyOfToken(token)), true);
  const link = await store.getLinkState('b1');
  assert.deepEqual([link.bootId, link.rxCommitted, link.txLast], ['boot-7', 41, 3]);
  assert.deepEqual((await store.outboxPending('b1')), [{ seq: 3, body: { action: 'ping', id: 'c3' } }]);
}

function retentionOf(store: HubStore, policy: { days?: number; maxBytes?: number }, logger: Logger = recordingLogger()) {
  const clock = new ManualClock();
  const retention = new Retention(store, { days: policy.days ?? 0, maxBytes: policy.maxBytes ?? null }, { clock, logger, wallNow: () => NOW });
  cleanups.push(() => retention.stop());
  return { retention, clock };
}

describe('retention by size', { timeout: 60_000 }, () => {
  test('security: retention.max_mb deletes the oldest readings until the store is under 90% of the bound; the newest stay, and the registry, link state, outbox and events are untouched', async () => {
    const store = SqliteStore.open(':memory:');
    cleanups.push(() => store.close());
    const { token } = await registerBoard(store);
    await addEvents(store, 50, NOW - 10);
    await addReadings(store, 100_000, NOW - 200_000);
    const maxBytes = 2_000_000;
    assert.ok((await store.size()).used > 2 * maxBytes, `${(await store.size()).used} bytes to start with`);
    const logger = recordingLogger();
    const { retention } = retentionOf(store, { maxBytes }, logger);
    await retention.run();

    const used = (await store.size()).used;
    assert.ok(used <= SIZE_TARGET * maxBytes, `${used} bytes, over 90% of the bound`);
    assert.ok(used > 0.75 * maxBytes, `${used} bytes: far more went than needed`);
    const times = await readingTimes(store);
    const kept = times.length;
    assert.ok(kept > 0 && kept < 100_000);
    assert.deepEqual(times, Array.from({ length: kept }, (_, i) => NOW - 200_000 + 100_000 - kept + i), 'the newest readings, all of them');
    assert.deepEqual(await eventNumbers(store), Array.from({ length: 50 }, (_, i) => i), 'events go only once no reading is left');
    await assertBoardKept(store, token);
    assert.ok(logger.lines.some((l) => /^info retention: .*over retention\.max_mb \(2\.0 MB\); removed the oldest \d+ readings and 0 events/.test(l)), logger.lines.join('\n'));

    const before = (await readingTimes(store)).length;
    await retention.run();
    assert.equal((await readingTimes(store)).length, before, 'under the bound, nothing more goes');
  });

  test('security: retention.max_mb takes the oldest events once no reading is left, and says when nothing is left to take', async () => {
    const store = SqliteStore.open(':memory:');
    cleanups.push(() => store.close());
    const { token } = await registerBoard(store);
    await addReadings(store, 1000, NOW - 100_000);
    await addEvents(store, 20_000, NOW - 50_000);
    const maxBytes = 2_000_000;
    assert.ok((await store.size()).used > 2 * maxBytes, `${(await store.size()).used} bytes to start with`);
    const { retention } = retentionOf(store, { maxBytes });
    await retention.run();
    assert.ok((await store.size()).used <= SIZE_TARGET * maxBytes);
    assert.deepEqual(await readingTimes(store), []);
    const events = await eventNumbers(store);
    assert.ok(events.length > 0 && events.length < 20_000);
    assert.deepEqual(events, Array.from({ length: events.length }, (_, i) => 20_000 - events.length + i), 'the newest events, all of them');
    await assertBoardKept(store, token);

    // A bound the registry alone is over: everything else goes, the registry stays, the log says why.
    const logger = recordingLogger();
    const tiny = retentionOf(store, { maxBytes: 1000 }, logger);
    await tiny.retention.run();
    assert.deepEqual(await eventNumbers(store), []);
    await assertBoardKept(store, token);
    assert.ok(logger.lines.some((l) => /^warn retention: .*no readings or events are left to remove/.test(l)), logger.lines.join('\n'));
  });

  test('stops when a step frees no room, as deleting rows on PostgreSQL does not, instead of deleting everything', async () => {
    let steps = 0;
    // Over the bound, with rows to delete at every step, and a size that does not move.
    const store = {
      size: () => Promise.resolve({ used: 2_000_000, wal: 0 }),
      checkpoint: () => Promise.resolve(true),
      prune: () => Promise.resolve({ readings: 0, events: 0, more: false }),
      pruneOldest: () => {
        steps++;
        return Promise.resolve({ readings: 5000, events: 0, more: true });
      },
    };
    const logger = recordingLogger();
    const clock = new ManualClock();
    const retention = new Retention(store, { days: 0, maxBytes: 1_000_000 }, { clock, logger, wallNow: () => NOW });
    cleanups.push(() => retention.stop());
    await retention.run();
    assert.equal(steps, 1, 'one step, then it saw the store no smaller');
    assert.ok(logger.lines.some((l) => /retention: the store took 2\.0 MB/.test(l)), logger.lines.join('\n'));
  });

  test('a large ingest checks the size at once; the ingest queue reports the rows each commit stored', async () => {
    const store = SqliteStore.open(':memory:');
    cleanups.push(() => store.close());
    await store.addDevice('b1');
    await addReadings(store, 100_000, NOW - 200_000);
    const { retention } = retentionOf(store, { maxBytes: 2_000_000 });
    const stored: number[] = [];
    const clock = new ManualClock();
    const queue = new IngestQueue(store, {
      clock,
      onStored: (rows) => {
        stored.push(rows);
        retention.ingested(rows);
      },
    });
    const readings = (n: number, from: number): Reading[] => Array.from({ length: n }, (_, i) => ({ device: 'b1', sensor: 'air', quantity: 'humidity', ts: NOW + from + i, value: i, unit: '%' }));
    await Promise.all([queue.add({ device: 'b1', seq: 1, readings: readings(19_000, 0) }), queue.add({ device: 'b1', seq: 2 }), queue.flush()]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await readingCount(store), 119_000, 'under 20,000 rows since the last check: no check yet');
    await Promise.all([queue.add({ device: 'b1', seq: 3, readings: readings(1000, 19_000), events: [{ device: 'b1', ts: NOW, type: 'edge', data: {} }] }), queue.flush()]);
    assert.deepEqual(stored, [19_000, 1001], 'rows per commit; a commit that stored nothing is not reported');
    // Nothing else starts a pass here: no start(), and the clock does not move.
    await eventually(async () => ((await store.size()).used <= SIZE_TARGET * 2_000_000 ? true : undefined), 'the size check the ingest started');
  });
});

describe('retention by age', { timeout: 60_000 }, () => {
  test('retention.days removes readings and events older than the days at start, then once an hour', async () => {
    const store = SqliteStore.open(':memory:');
    cleanups.push(() => store.close());
    const { token } = await registerBoard(store);
    const old = (ts: number) => store.commit({ readings: [{ device: 'b1', sensor: 'air', quantity: 'temperature', ts, value: 1, unit: null }], events: [{ device: 'b1', ts, type: 'edge', data: { n: ts } }], linkStates: [] });
    await old(NOW - 3 * DAY_MS);
    await old(NOW - DAY_MS / 2);
    const { retention, clock } = retentionOf(store, { days: 2 });
    retention.start();
    await retention.run();
    assert.deepEqual(await readingTimes(store), [NOW - DAY_MS / 2]);
    await old(NOW - 4 * DAY_MS);
    await clock.advance(60_000);
    await retention.run();
    assert.deepEqual(await readingTimes(store), [NOW - 4 * DAY_MS, NOW - DAY_MS / 2], 'not before the hour is up');
    await clock.advance(3_600_000);
    await retention.run();
    assert.deepEqual(await readingTimes(store), [NOW - DAY_MS / 2]);
    assert.deepEqual(
      (await store.queryEvents({ device: 'b1' })).map((e) => e.ts),
      [NOW - DAY_MS / 2],
    );
    await assertBoardKept(store, token);
  });
});

describe('retention config', { timeout: 30_000 }, () => {
  test('retention has days and max_mb; retention_days, its old name, still works; both names at once are refused', () => {
    assert.deepEqual(parseHubConfig({}).retention, { days: 30 });
    assert.deepEqual(parseHubConfig({ retention: { days: 7, max_mb: 500 } }).retention, { days: 7, max_mb: 500 });
    assert.deepEqual(parseHubConfig({ retention_days: 0 }).retention, { days: 0 });
    assert.deepEqual(parseHubConfig({ retention_days: 3, retention: { max_mb: 64 } }).retention, { days: 3, max_mb: 64 });
    const problems = (raw: unknown) => {
      try {
        parseHubConfig(raw);
      } catch (err) {
        assert.ok(err instanceof HubConfigError);
        return err.problems;
      }
      return assert.fail('accepted');
    };
    assert.deepEqual(problems({ retention_days: 3, retention: { days: 4 } }), ['retention_days: give retention.days only: retention_days is its old name']);
    assert.deepEqual(problems({ retention: { max_mb: 0.5 } }), ['retention.max_mb: expected at least 1 MB']);
    assert.deepEqual(problems({ retention: { days: 1.5 } }), ['retention.days: expected whole days']);
    assert.match(problems({ retention: { max: 3 } })[0] ?? '', /^retention: /);
  });
});

describe('retention in the hub', { timeout: 60_000 }, () => {
  test('security: a hub with retention.max_mb brings a store over the bound under it at start, WAL included, and keeps the registry', async () => {
    const data = tempDataDir();
    const store = SqliteStore.open(path.join(data, 'tether.db'));
    const { token } = await registerBoard(store);
    const first = Date.now() - 300_000;
    await addReadings(store, 200_000, first);
    await store.close();
    const hub = await startTestHub({ data, config: { retention: { max_mb: 6 } } });
    cleanups.push(() => hub.close());
    const storage = await eventually(async () => {
      const s = await hub.facade.storage();
      return s.bytes <= 6_000_000 ? s : undefined;
    }, 'the store under 6 MB', 20_000);
    assert.equal(storage.maxBytes, 6_000_000);
    assert.ok(storage.bytes > 3_000_000, `${storage.bytes} bytes: far more went than needed`);
    const at = async (ts: number) => (await hub.store.queryReadings({ device: 'b1', from: ts, to: ts + 1 })).length;
    assert.deepEqual([await at(first), await at(first + 199_999)], [0, 1], 'the oldest reading went, the newest stays');
    assert.equal((await hub.store.keyOf('b1'))?.equals(keyOfToken(token)), true);
    assert.deepEqual((await hub.store.outboxPending('b1')), [{ seq: 3, body: { action: 'ping', id: 'c3' } }]);
  });
});
