// The ingest queue: many boards' messages share one transaction, and each add() resolves only
// once the transaction holding it committed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { HubError } from '../../src/hub/errors.js';
import { IngestQueue, type IngestOptions } from '../../src/hub/ingest.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { CommitBatch } from '../../src/hub/store/port.js';
import type { Reading, StoredEvent } from '../../src/hub/types.js';
import { SEQ_MODULUS } from '../../src/protocol/link/seq.js';

function readings(device: string, n: number, value = 1): Reading[] {
  return Array.from({ length: n }, (_, i) => ({ device, sensor: 'air', quantity: 'temperature', ts: 1000 + i, value, unit: '°C' }));
}

/** A store on ':memory:' that records each commit's batch, and a queue on a manual clock. */
async function setup(options: Partial<IngestOptions> = {}) {
  const store = SqliteStore.open(':memory:');
  await store.addDevice('b1');
  await store.addDevice('b2');
  const commits: CommitBatch[] = [];
  const commit = store.commit.bind(store);
  store.commit = (batch) => {
    commits.push(batch);
    return commit(batch);
  };
  const clock = new ManualClock();
  const queue = new IngestQueue(store, { clock, ...options });
  const count = async (device: string) => (await store.queryReadings({ device, from: 0, to: 1e9 })).length;
  return { store, clock, queue, commits, count };
}

/** Whether a promise has settled, without waiting for it to. */
async function state(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let result: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (result = 'resolved'),
    () => (result = 'rejected'),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return result;
}

describe('IngestQueue', { timeout: 30_000 }, () => {
  it("gives a board's items in one commit one promise, and the next commit a new one", async () => {
    const { queue } = await setup();
    const a1 = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 1) });
    const b1 = queue.add({ device: 'b2', seq: 1, readings: readings('b2', 1) });
    const a2 = queue.add({ device: 'b1', seq: 2, readings: readings('b1', 1) });
    assert.equal(a1, a2, 'one promise for the board in this commit');
    assert.notEqual(a1, b1, 'each board its own');
    await queue.flush();
    const a3 = queue.add({ device: 'b1', seq: 3, readings: readings('b1', 1) });
    assert.notEqual(a3, a1, 'a commit that ran is not joined');
    assert.equal(await state(a3), 'pending');
    await queue.flush();
    assert.equal(await state(a3), 'resolved');
  });

  it('commits maxDelayMs after the first item, all waiting items in one transaction', async () => {
    const { store, clock, queue, commits, count } = await setup({ maxDelayMs: 10 });
    const a = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 3) });
    await clock.advance(4);
    const b = queue.add({ device: 'b2', seq: 7, readings: readings('b2', 2) });
    const c = queue.add({ device: 'b1', seq: 2, readings: readings('b1', 1) });
    await clock.advance(5);
    assert.equal(await state(a), 'pending', 'nothing is committed before the delay');
    assert.equal(await count('b1'), 0);
    await clock.advance(1);
    assert.deepEqual([await state(a), await state(b), await state(c)], ['resolved', 'resolved', 'resolved']);
    assert.equal(commits.length, 1);
    assert.equal(await count('b1'), 4);
    assert.equal(await count('b2'), 2);
    assert.equal((await store.getLinkState('b1')).rxCommitted, 2);
    assert.equal((await store.getLinkState('b2')).rxCommitted, 7);
    assert.equal(clock.pendingTimers, 0);
  });

  it('commits at once when maxRows rows wait, without waiting for the timer', async () => {
    const { clock, queue, commits, count } = await setup({ maxRows: 5 });
    const a = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 3) });
    assert.equal(commits.length, 0);
    const b = queue.add({ device: 'b1', seq: 2, readings: readings('b1', 1), events: [{ device: 'b1', ts: 1, type: 'edge', data: {} }] });
    assert.equal(clock.pendingTimers, 0, 'the delay timer was cancelled');
    // The clock stands still: only the row count can have started the commit.
    assert.deepEqual([await state(a), await state(b)], ['resolved', 'resolved']);
    assert.equal(commits.length, 1, 'events count as rows');
    assert.equal(await count('b1'), 4);

    const big = queue.add({ device: 'b2', seq: 1, readings: readings('b2', 12) });
    assert.equal(await state(big), 'resolved');
    assert.equal(commits.length, 2, 'one item over maxRows commits alone');
  });

  it('resolves an item only through a commit that succeeded: while the store is paused, nothing is acknowledged', async () => {
    // A paused store refuses every commit, as a locked or full database does. An item resolved
    // before its commit ran (an ack sent for rows not on disk) shows here as resolved, not rejected.
    const { store, clock, queue, count } = await setup();
    let paused = true;
    const commit = store.commit.bind(store);
    store.commit = (batch) => {
      if (paused) return Promise.reject(new Error('SQLITE_BUSY: database is locked (paused by the test)'));
      return commit(batch);
    };
    const refused = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 2) });
    assert.equal(await state(refused), 'pending', 'nothing is acknowledged before the commit runs');
    await clock.advance(10);
    assert.equal(await state(refused), 'rejected', 'a batch whose commit failed was never acknowledged');
    assert.equal(await count('b1'), 0);
    assert.equal((await store.getLinkState('b1')).rxCommitted, 0);

    paused = false;
    queue.resume('b1');
    const again = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 2) });
    await clock.advance(9);
    assert.equal(await state(again), 'pending', 'not before its commit');
    assert.equal(await count('b1'), 0);
    await clock.advance(1);
    assert.equal(await state(again), 'resolved');
    assert.equal(await count('b1'), 2);
    assert.equal((await store.getLinkState('b1')).rxCommitted, 1);
  });

  it('commits items in the order they were added; the last seq of a board wins, across the wrap', async () => {
    const { store, queue, commits } = await setup();
    const adds = [
      queue.add({ device: 'b1', seq: SEQ_MODULUS - 1, events: [{ device: 'b1', ts: 5, type: 'first', data: {} }] }),
      queue.add({ device: 'b2', seq: 40, events: [{ device: 'b2', ts: 5, type: 'second', data: {} }] }),
      queue.add({ device: 'b1', seq: 0, events: [{ device: 'b1', ts: 5, type: 'third', data: {} }] }),
      queue.add({ device: 'b2', seq: 41 }),
    ];
    await queue.flush();
    await Promise.all(adds);
    assert.equal(commits.length, 1);
    assert.deepEqual(
      (await store.queryEvents({ afterId: 0 })).map((e) => e.type),
      ['first', 'second', 'third'],
    );
    assert.equal((await store.getLinkState('b1')).rxCommitted, 0, 'the last one added, not the largest number');
    assert.equal((await store.getLinkState('b2')).rxCommitted, 41, 'an item with nothing to store still advances rx');
  });

  it('keeps batches in order: a later batch commits after an earlier one', async () => {
    const { store, clock, queue, commits } = await setup({ maxDelayMs: 10 });
    void queue.add({ device: 'b1', seq: 1, events: [{ device: 'b1', ts: 1, type: 'a', data: {} }] });
    await clock.advance(10);
    void queue.add({ device: 'b1', seq: 2, events: [{ device: 'b1', ts: 1, type: 'b', data: {} }] });
    await clock.advance(10);
    assert.equal(commits.length, 2);
    assert.deepEqual((await store.queryEvents({ afterId: 0 })).map((e) => e.type), ['a', 'b']);
    assert.equal((await store.getLinkState('b1')).rxCommitted, 2);
  });

  it('security: a failed commit holding several boards fails only the board whose message broke it', async () => {
    const { store, clock, queue, commits } = await setup();
    const good = queue.add({ device: 'b2', seq: 5, readings: readings('b2', 2) });
    const bad = queue.add({ device: 'b1', seq: 9, readings: readings('b1', 1, Number.NaN) });
    const badResult = bad.then(
      () => undefined,
      (err: unknown) => err,
    );
    await clock.advance(10);
    await good;
    const badErr = await badResult;
    assert.ok(badErr instanceof Error && /NOT NULL/.test(badErr.message), String(badErr));
    assert.equal((await store.queryReadings({ device: 'b2', from: 0, to: 1e9 })).length, 2, "the other board's readings are stored");
    assert.equal((await store.getLinkState('b2')).rxCommitted, 5);
    assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 })).length, 0);
    assert.equal((await store.getLinkState('b1')).rxCommitted, 0);
    assert.deepEqual(
      commits.map((c) => c.linkStates.map((l) => l.device)),
      [['b2', 'b1'], ['b2'], ['b1']],
      'one transaction for both, then one per board',
    );
  });

  it('security: a full store fails every board of the batch at once, with none stored, acknowledged or tried again board by board', async () => {
    const { store, clock, queue, commits, count } = await setup({ maxRows: 10_000 });
    store.capPages(store.pageCount()); // no room for 6,000 readings
    const results = [
      queue.add({ device: 'b1', seq: 1, readings: readings('b1', 3000) }),
      queue.add({ device: 'b2', seq: 1, readings: readings('b2', 3000) }),
    ].map((p) => p.then(() => undefined, (err: unknown) => err));
    await clock.advance(10);
    const [b1, b2] = await Promise.all(results);
    assert.ok(b1 instanceof HubError && b1.code === 'storage_full', String(b1));
    assert.equal(b2, b1, 'the same failure for both boards');
    assert.equal(commits.length, 1, 'one commit: retrying board by board would fail the same way');
    assert.deepEqual([await count('b1'), await count('b2')], [0, 0]);
    assert.deepEqual([(await store.getLinkState('b1')).rxCommitted, (await store.getLinkState('b2')).rxCommitted], [0, 0]);
  });

  it('rejects every item of a failed board, and nothing more of it commits until resume()', async () => {
    const { store, clock, queue } = await setup();
    const first = queue.add({ device: 'b1', seq: 8, readings: readings('b1', 2) });
    const bad = queue.add({ device: 'b1', seq: 9, readings: readings('b1', 1, Number.NaN) });
    const results = Promise.all([first, bad].map((p) => p.then(() => undefined, (err: unknown) => err)));
    await clock.advance(10);
    const [firstErr, badErr] = await results;
    assert.ok(badErr instanceof Error && /NOT NULL/.test(badErr.message), String(badErr));
    assert.equal(firstErr, badErr, 'the same error for all of its items');
    assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 })).length, 0);

    // Nothing more of a failed device commits until its link restarts from the store (resume).
    const refused = await queue.add({ device: 'b1', seq: 10, readings: readings('b1', 2) }).then(() => undefined, (err: unknown) => err);
    assert.equal(refused, badErr, 'refused with the failure');
    assert.equal(queue.resume('b1'), true);
    assert.equal(queue.resume('b1'), false);
    await Promise.all([queue.add({ device: 'b1', seq: 8, readings: readings('b1', 2) }), clock.advance(10)]);
    assert.equal((await store.getLinkState('b1')).rxCommitted, 8, 'after resume the next batch commits');
  });

  it('flush commits now and rejects when that commit failed', async () => {
    const { clock, queue, commits, count } = await setup();
    const a = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 2) });
    await queue.flush();
    assert.equal(await state(a), 'resolved');
    assert.equal(await count('b1'), 2);
    assert.equal(clock.pendingTimers, 0);
    await queue.flush();
    assert.equal(commits.length, 1, 'flushing nothing commits nothing');

    const bad = assert.rejects(queue.add({ device: 'b1', seq: 2, readings: readings('b1', 1, Number.NaN) }), /NOT NULL/);
    await assert.rejects(queue.flush(), /NOT NULL/);
    await bad;
  });

  it('close flushes, then refuses new items with shutting_down', async () => {
    const { clock, queue, count } = await setup();
    const a = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 2) });
    await queue.close();
    assert.equal(await state(a), 'resolved');
    assert.equal(await count('b1'), 2);
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(queue.add({ device: 'b1', seq: 2 }), (err: unknown) => err instanceof HubError && err.code === 'shutting_down' && err.message === 'the ingest queue is closed');
  });

  it('an item that fills the batch commits at once, with no timer of its own to clear', async () => {
    const { clock, queue, count } = await setup({ maxRows: 3 });
    // Another timer on the same clock: clearing a timer that was never set would be a bug here.
    let other = 0;
    clock.setTimer(1000, () => other++);
    const a = queue.add({ device: 'b1', seq: 1, readings: readings('b1', 3) });
    assert.equal(await state(a), 'resolved');
    assert.equal(await count('b1'), 3);
    await queue.flush();
    await clock.advance(1000);
    assert.equal(other, 1);
  });

  it('hands the stored events, ids included, to onCommitted', async () => {
    const calls: StoredEvent[][] = [];
    const { clock, queue } = await setup({ onCommitted: (events) => calls.push(events) });
    const a = queue.add({ device: 'b1', seq: 1, events: [{ device: 'b1', ts: 3, type: 'edge', data: { pin: 2 } }] });
    const b = queue.add({ device: 'b1', seq: 2, readings: readings('b1', 1) });
    await clock.advance(10);
    await Promise.all([a, b]);
    assert.deepEqual(calls, [[{ id: 1, device: 'b1', ts: 3, type: 'edge', data: { pin: 2 } }]]);
    await Promise.all([queue.add({ device: 'b1', seq: 3, readings: readings('b1', 1) }), clock.advance(10)]);
    assert.equal(calls.length, 1, 'a commit without events calls nothing');
  });
});
