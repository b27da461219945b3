// The storage port's contract (src/hub/store/port.ts): what every store does, run against each
// implementation by its own test file (sqlite.test.ts, postgres.test.ts) with a fixture that
// makes fresh stores of that kind. What only one implementation has (SQLite's files and schema
// pragmas, PostgreSQL's partitions) is tested beside the contract, in that implementation's file.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HubError } from '../../../src/hub/errors.js';
import type { CommitBatch, HubStore, StoreOptions } from '../../../src/hub/store/port.js';
import type { Reading } from '../../../src/hub/types.js';
import { keyOfToken } from '../../../src/protocol/auth.js';
import { SEQ_MODULUS } from '../../../src/protocol/link/seq.js';

export interface StoreCase {
  /** A new, empty store. */
  store: HubStore;
  /** Closes `store` and opens its data again, as a restarted hub does. */
  reopen: (options?: StoreOptions) => Promise<HubStore>;
  /** Another store on the same data, open beside the first: a second hub sharing it. */
  beside: (options: StoreOptions) => Promise<HubStore>;
}

export interface StoreFixture {
  /** Which implementation, for the test names. */
  kind: string;
  make(options?: StoreOptions): Promise<StoreCase>;
  /** Closes every store made since the last cleanup and removes their data. */
  cleanup(): Promise<void>;
}

export function reading(ts: number, value: number, over: Partial<Reading> = {}): Reading {
  return { device: 'b1', sensor: 'air', quantity: 'temperature', ts, value, unit: '°C', ...over };
}

export function batch(over: Partial<CommitBatch>): CommitBatch {
  return { readings: [], events: [], linkStates: [], ...over };
}

export function hubError(code: string, message?: RegExp) {
  return (err: unknown) => err instanceof HubError && err.code === code && (message === undefined || message.test(err.message));
}

const TIMEOUT = { timeout: 60_000 };

export function storeContract(fixture: StoreFixture): void {
  const fresh = async (...devices: string[]): Promise<HubStore> => {
    const { store } = await fixture.make();
    for (const id of devices) await store.addDevice(id);
    return store;
  };

  describe(`the ${fixture.kind} store`, TIMEOUT, () => {
    afterEach(() => fixture.cleanup());

    describe('registry', () => {
      it('gives the board key of each registered id, and none for an unknown one', async () => {
        const store = await fresh();
        const { token } = await store.addDevice('b1');
        const other = (await store.addDevice('b2')).token;
        assert.deepEqual(await store.keyOf('b1'), keyOfToken(token));
        assert.deepEqual(await store.keyOf('b2'), keyOfToken(other));
        assert.equal(await store.keyOf('nobody'), undefined);
      });

      it('refuses a duplicate id with conflict, naming the way to rotate', async () => {
        const store = await fresh('b1');
        await assert.rejects(store.addDevice('b1'), hubError('conflict', /--rotate/));
      });

      it('refuses ids outside 1–64 letters, digits, _ . -', async () => {
        const store = await fresh();
        for (const id of ['', 'a b', 'x'.repeat(65), 'ä', 'a/b', 'a\u0000']) {
          await assert.rejects(store.addDevice(id), hubError('bad_request'), JSON.stringify(id));
        }
        await store.addDevice(`A-z_0.9${'x'.repeat(57)}`);
        assert.equal((await store.listDevices()).length, 1);
      });

      it('rotates a token: the old one stops working', async () => {
        const store = await fresh();
        const old = (await store.addDevice('b1')).token;
        const rotated = await store.rotateToken('b1');
        assert.notEqual(rotated, old);
        assert.deepEqual(await store.keyOf('b1'), keyOfToken(rotated));
        assert.notDeepEqual(await store.keyOf('b1'), keyOfToken(old));
        await assert.rejects(store.rotateToken('nobody'), hubError('not_found'));
      });

      it('shows a new board with its defaults, and records links, activity and going offline', async () => {
        const store = await fresh();
        await store.addDevice('b1', { name: 'Greenhouse', address: 'tcp://10.0.0.5:12345' });
        await store.addDevice('b2');
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
        assert.equal((await store.getDevice('b2'))?.name, 'b2', 'the name defaults to the id');
        assert.equal((await store.getDevice('b2'))?.address, null);
        assert.equal(await store.getDevice('nobody'), undefined);

        assert.equal(await store.markLinked('b1', { firmware: 'tether-py 0.1', capabilities: ['gpio', 'i2c'], bootId: 'boot-1', now: 1000 }), true);
        assert.equal(await store.touch('b1', 1500), true);
        assert.equal(await store.markLinked('b1', { firmware: 'tether-py 0.2', capabilities: ['gpio'], bootId: 'boot-2', now: 2000 }), true);
        assert.equal(await store.setSignal('b1', -67.4), true);
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
        assert.equal((await store.getDevice('b1'))?.online, false);
        assert.equal((await store.getDevice('b1'))?.lastSeen, 2500);
        assert.equal(await store.markLinked('nobody', { firmware: '', capabilities: [], bootId: 'x', now: 1 }), false);
        assert.equal(await store.touch('nobody', 1), false);
        assert.equal(await store.setSignal('nobody', -50), false);
      });

      it('marks every board of this hub offline at hub start', async () => {
        const store = await fresh('b1', 'b2', 'b3');
        await store.markLinked('b1', { firmware: 'f', capabilities: [], bootId: 'x', now: 1 });
        await store.markLinked('b3', { firmware: 'f', capabilities: [], bootId: 'y', now: 1 });
        assert.equal(await store.markAllOffline(), 2);
        assert.deepEqual((await store.listDevices()).map((d) => d.online), [false, false, false]);
        assert.equal((await store.getDevice('b3'))?.bootId, 'y', 'what was known of the board stays');
      });

      it('lists a thousand boards sorted by id', async () => {
        const store = await fresh();
        const ids = Array.from({ length: 1200 }, (_, i) => `board-${(i * 7919) % 1200}`);
        for (const id of ids) await store.addDevice(id);
        const listed = (await store.listDevices()).map((d) => d.id);
        assert.deepEqual(listed, [...ids].sort());
      });

      it('tells its listeners of each registry write once it committed, and of no refused one', async () => {
        const store = await fresh();
        const heard: string[] = [];
        const stop = store.onRegistryWrite((id) => heard.push(id));
        await store.addDevice('b1');
        await assert.rejects(store.addDevice('b1'));
        await store.rotateToken('b1');
        await store.removeDevice('b1');
        await store.removeDevice('b1');
        stop();
        await store.addDevice('b2');
        assert.deepEqual(heard, ['b1', 'b1', 'b1']);
      });

      it('removes a board with its link state and its unsent commands', async () => {
        const store = await fresh('b1', 'b2');
        const tx = (await store.getLinkState('b1')).txStream;
        await store.outboxAdd('b1', 1, { action: 'ping' });
        await store.outboxAdd('b2', 1, { action: 'ping' });
        assert.equal(await store.removeDevice('b1'), true);
        assert.equal(await store.removeDevice('b1'), false);
        assert.equal(await store.getDevice('b1'), undefined);
        await assert.rejects(store.getLinkState('b1'), hubError('not_found'));
        assert.deepEqual(await store.outboxPending('b1'), []);
        assert.equal((await store.outboxPending('b2')).length, 1, 'another board keeps its commands');
        await store.addDevice('b1');
        assert.notEqual((await store.getLinkState('b1')).txStream, tx, 'registered again, it starts a new stream');
      });
    });

    describe('hubs sharing the store', () => {
      it('a board moved to another hub stays online when the first hub lets go of it or restarts', async () => {
        const { store: hubA, beside } = await fixture.make({ hubId: 'hub-a' });
        const hubB = await beside({ hubId: 'hub-b' });
        for (const id of ['b1', 'b2', 'b3']) await hubA.addDevice(id);
        const linked = { firmware: 'f', capabilities: [], bootId: 'x', now: 1 };
        await hubA.markLinked('b1', linked);
        await hubA.markLinked('b2', linked);
        await hubB.markLinked('b3', linked);
        // b2 dials hub B; hub A notices its old connection's end only afterwards.
        await hubB.markLinked('b2', { ...linked, now: 2 });
        assert.deepEqual([await hubA.linkedHub('b1'), await hubA.linkedHub('b2'), await hubB.linkedHub('b3')], ['hub-a', 'hub-b', 'hub-b'], 'each hub sees who holds each board');
        assert.equal(await hubA.markOffline('b2', 3), false, 'hub A no longer holds b2');
        assert.equal((await hubB.getDevice('b2'))?.online, true);
        assert.equal(await hubA.markAllOffline(), 1, 'hub A restarts: only its own b1');
        assert.deepEqual(
          (await hubB.listDevices()).map((d) => [d.id, d.online]),
          [
            ['b1', false],
            ['b2', true],
            ['b3', true],
          ],
        );
        assert.equal(await hubA.linkedHub('b1'), null, 'an offline board has no hub');
        assert.equal(await hubB.markOffline('b2', 4), true);
        assert.equal((await hubA.getDevice('b2'))?.online, false, 'both hubs read the same registry');
      });

      it('a board registered through one hub is known to the other, with the same key', async () => {
        const { store: hubA, beside } = await fixture.make({ hubId: 'hub-a' });
        const hubB = await beside({ hubId: 'hub-b' });
        const { token } = await hubA.addDevice('b1');
        assert.deepEqual(await hubB.keyOf('b1'), keyOfToken(token));
        await hubB.commit(batch({ readings: [reading(1000, 5)], linkStates: [{ device: 'b1', rxCommitted: 4 }] }));
        assert.equal((await hubA.getLinkState('b1')).rxCommitted, 4, 'the link state moves with the board');
        assert.deepEqual((await hubA.queryReadings({ device: 'b1', from: 0, to: 2000 })).map((r) => r.avg), [5]);
      });
    });

    describe('link state', () => {
      it('starts with a fresh stream, stored on first read, and survives close and open', async () => {
        const made = await fixture.make();
        const { store } = made;
        await store.addDevice('b1');
        await store.addDevice('b2');
        const first = await store.getLinkState('b1');
        assert.deepEqual({ ...first, txStream: 'x' }, { bootId: null, bootEpoch: null, rxCommitted: 0, txStream: 'x', txLast: 0, subscribedBoot: null });
        assert.match(first.txStream, /^[0-9a-f-]{36}$/);
        assert.notEqual((await store.getLinkState('b2')).txStream, first.txStream, 'each board has its own stream');
        assert.deepEqual(await store.getLinkState('b1'), first, 'the default was stored, not made again');

        await store.saveLinkState('b1', { bootId: 'boot-7', bootEpoch: 1_700_000_000_123.5, txLast: SEQ_MODULUS - 1, subscribedBoot: 'boot-7' });
        await store.commit(batch({ linkStates: [{ device: 'b1', rxCommitted: 42 }] }));
        const reopened = await made.reopen();
        assert.deepEqual(await reopened.getLinkState('b1'), {
          bootId: 'boot-7',
          bootEpoch: 1_700_000_000_123.5,
          rxCommitted: 42,
          txStream: first.txStream,
          txLast: SEQ_MODULUS - 1,
          subscribedBoot: 'boot-7',
        });
      });

      it('saves only the fields given', async () => {
        const store = await fresh('b1');
        const held = await store.getLinkState('b1');
        await store.commit(batch({ linkStates: [{ device: 'b1', rxCommitted: 9 }] }));
        const saved = await store.saveLinkState('b1', { txLast: 3, bootId: undefined });
        assert.equal(saved.rxCommitted, 9);
        assert.deepEqual(await store.getLinkState('b1'), { ...held, rxCommitted: 9, txLast: 3 });
      });

      it('never takes rxCommitted back within a boot, so a stale copy cannot undo commits', async () => {
        const store = await fresh('b1');
        await store.saveLinkState('b1', { bootId: 'boot-1', rxCommitted: SEQ_MODULUS - 2 });
        const held = await store.getLinkState('b1');
        await store.commit(batch({ linkStates: [{ device: 'b1', rxCommitted: 3 }] }));
        await store.saveLinkState('b1', { ...held, subscribedBoot: 'boot-1' });
        assert.equal((await store.getLinkState('b1')).rxCommitted, 3, '3 is after 2^32-2: the wrap is no step back');
        assert.equal((await store.getLinkState('b1')).subscribedBoot, 'boot-1');
        await store.saveLinkState('b1', { rxCommitted: 5 });
        assert.equal((await store.getLinkState('b1')).rxCommitted, 5, 'forward is fine');
        await store.saveLinkState('b1', { ...held, bootId: 'boot-2', rxCommitted: 0 });
        assert.equal((await store.getLinkState('b1')).rxCommitted, 0, 'a new boot starts over');
      });

      it('is refused for an unregistered board, and a commit does not make one', async () => {
        const store = await fresh();
        await assert.rejects(store.getLinkState('ghost'), hubError('not_found'));
        await assert.rejects(store.saveLinkState('ghost', { txLast: 1 }), hubError('not_found'));
        await store.commit(batch({ linkStates: [{ device: 'ghost', rxCommitted: 5 }] }));
        await store.addDevice('ghost');
        assert.equal((await store.getLinkState('ghost')).rxCommitted, 0);
      });

      it('a commit sets rxCommitted even before the state was first read', async () => {
        const store = await fresh('b1');
        await store.commit(batch({ linkStates: [{ device: 'b1', rxCommitted: 7 }] }));
        assert.equal((await store.getLinkState('b1')).rxCommitted, 7);
        assert.match((await store.getLinkState('b1')).txStream, /^[0-9a-f-]{36}$/);
      });

      it('records the boot the hub subscribed the board in', async () => {
        const store = await fresh('b1');
        await store.setSubscribedBoot('b1', 'boot-3');
        assert.equal((await store.getLinkState('b1')).subscribedBoot, 'boot-3');
      });
    });

    describe('command outbox', () => {
      it('keeps commands in order and drops them by cumulative ack across the 2^32 wrap', async () => {
        const store = await fresh('b1', 'b2');
        const seqs = [SEQ_MODULUS - 2, SEQ_MODULUS - 1, 0, 1, 2];
        for (const seq of seqs) await store.outboxAdd('b1', seq, { action: 'write_pin', pin: seq % 7 });
        await store.outboxAdd('b2', SEQ_MODULUS - 2, { action: 'ping' });
        assert.deepEqual((await store.outboxPending('b1')).map((e) => e.seq), seqs, 'insertion order, not numeric order');
        assert.deepEqual((await store.outboxPending('b1'))[0]?.body, { action: 'write_pin', pin: (SEQ_MODULUS - 2) % 7 });
        assert.equal((await store.getLinkState('b1')).txLast, 2, 'each command records the last number of the stream');

        assert.equal(await store.outboxAck('b1', SEQ_MODULUS - 3), 0, 'an ack before the first command frees nothing');
        assert.equal(await store.outboxAck('b1', 0), 3, 'acknowledging 0 covers 2^32-2 and 2^32-1 before it');
        assert.deepEqual((await store.outboxPending('b1')).map((e) => e.seq), [1, 2]);
        assert.equal(await store.outboxAck('b1', SEQ_MODULUS - 1), 0, 'an old ack frees nothing');
        assert.equal(await store.outboxAck('b1', 2), 2);
        assert.deepEqual(await store.outboxPending('b1'), []);
        assert.equal((await store.outboxPending('b2')).length, 1, 'acks are per board');
      });

      it('survives a restart and is cleared when the board rebooted', async () => {
        const made = await fixture.make();
        await made.store.addDevice('b1');
        await made.store.outboxAdd('b1', 1, { action: 'ping' });
        await made.store.outboxAdd('b1', 2, { action: 'read_sensor', sensor: 'air' });
        const store = await made.reopen();
        assert.deepEqual(await store.outboxPending('b1'), [
          { seq: 1, body: { action: 'ping' } },
          { seq: 2, body: { action: 'read_sensor', sensor: 'air' } },
        ]);
        assert.equal(await store.outboxClear('b1'), 2);
        assert.deepEqual(await store.outboxPending('b1'), []);
      });
    });

    describe('commit', () => {
      it('stores readings, events and rx state, returning the events with ascending ids', async () => {
        const store = await fresh('b1');
        const events = await store.commit(
          batch({
            readings: [reading(1000, 20.5), reading(2000, 21)],
            events: [
              { device: 'b1', ts: 1500, type: 'edge', data: { pin: 4, value: 1 } },
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

      it('is all or nothing: one bad row leaves no reading, event or rx state behind', async () => {
        const store = await fresh('b1');
        await store.commit(batch({ readings: [reading(500, 1)], linkStates: [{ device: 'b1', rxCommitted: 1 }] }));
        await assert.rejects(
          store.commit(
            batch({
              readings: [reading(1000, 20), reading(1001, 2, { sensor: 'soil', quantity: 'moisture' }), reading(1002, Number.NaN)],
              events: [{ device: 'b1', ts: 1000, type: 'edge', data: {} }],
              linkStates: [{ device: 'b1', rxCommitted: 2 }],
            }),
          ),
        );
        assert.deepEqual((await store.queryReadings({ device: 'b1', from: 0, to: 10_000 })).map((r) => r.ts), [500]);
        assert.deepEqual(await store.queryEvents({}), []);
        assert.equal((await store.getLinkState('b1')).rxCommitted, 1);
        assert.deepEqual((await store.sensorsOf('b1')).map((s) => s.sensor), ['air'], 'the series the failed commit made is gone too');
      });

      it('after a failed commit, series it created are made again, not confused with others', async () => {
        const store = await fresh('b1');
        await assert.rejects(store.commit(batch({ readings: [reading(1, 1, { sensor: 'soil' }), reading(2, Number.NaN)] })));
        await store.commit(batch({ readings: [reading(10, 5, { sensor: 'light' }), reading(11, 6, { sensor: 'soil' })] }));
        const rows = await store.queryReadings({ device: 'b1', from: 0, to: 100 });
        assert.deepEqual(
          rows.map((r) => [r.sensor, r.ts, r.avg]),
          [
            ['light', 10, 5],
            ['soil', 11, 6],
          ],
        );
      });

      it('after a failed commit, the series it made last is made again for the next reading of it', async () => {
        const store = await fresh('b1');
        await assert.rejects(store.commit(batch({ readings: [reading(2, Number.NaN, { sensor: 'soil' })] })));
        await store.commit(batch({ readings: [reading(11, 6, { sensor: 'soil' })] }));
        const rows = await store.queryReadings({ device: 'b1', from: 0, to: 100 });
        assert.deepEqual(
          rows.map((r) => [r.sensor, r.ts, r.avg]),
          [['soil', 11, 6]],
        );
      });

      it('readings of several series interleaved in one commit each land in their own series', async () => {
        const store = await fresh('b1', 'b2');
        const b2 = { device: 'b2' };
        await store.commit(
          batch({
            readings: [
              reading(1, 1),
              reading(2, 2),
              reading(3, 3, b2),
              reading(4, 4),
              reading(5, 5, { quantity: 'humidity', unit: '%' }),
              reading(6, 6, b2),
              reading(7, 7, { sensor: 'soil' }),
              reading(8, 8),
            ],
          }),
        );
        const of = async (device: string) => (await store.queryReadings({ device, from: 0, to: 100 })).map((r) => [r.sensor, r.quantity, r.ts]);
        assert.deepEqual(await of('b1'), [
          ['air', 'humidity', 5],
          ['air', 'temperature', 1],
          ['air', 'temperature', 2],
          ['air', 'temperature', 4],
          ['air', 'temperature', 8],
          ['soil', 'temperature', 7],
        ]);
        assert.deepEqual(await of('b2'), [
          ['air', 'temperature', 3],
          ['air', 'temperature', 6],
        ]);
      });

      it('refuses a value of the wrong type instead of storing it', async () => {
        const store = await fresh('b1');
        await assert.rejects(store.commit(batch({ readings: [reading(1, 'warm' as unknown as number)] })));
        assert.deepEqual(await store.queryReadings({ device: 'b1', from: 0, to: 100 }), []);
      });

      it('keeps timestamps to the millisecond', async () => {
        const store = await fresh('b1');
        const [event] = await store.commit(batch({ readings: [reading(1000.6, 1)], events: [{ device: 'b1', ts: 99.4, type: 'edge', data: {} }] }));
        assert.equal(event?.ts, 99);
        assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 2000 }))[0]?.ts, 1001);
      });

      it('commits one batch after another when they are not awaited in between', async () => {
        const store = await fresh('b1');
        const commits = Array.from({ length: 20 }, (_, i) => store.commit(batch({ readings: [reading(i, i)], linkStates: [{ device: 'b1', rxCommitted: i + 1 }] })));
        await Promise.all(commits);
        assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 100 })).length, 20);
        assert.equal((await store.getLinkState('b1')).rxCommitted, 20, 'the last batch sent is the last applied');
      });
    });

    describe('readings queries', () => {
      const seeded = async (): Promise<HubStore> => {
        const store = await fresh('b1', 'b2');
        await store.commit(
          batch({
            readings: [
              // Out of order on purpose: queries sort by sensor, quantity, ts.
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
      };

      it('returns raw points ordered by sensor, quantity and ts, filtered by sensor and quantity', async () => {
        const store = await seeded();
        const all = await store.queryReadings({ device: 'b1', from: 0, to: 10_000 });
        assert.deepEqual(
          all.map((r) => `${r.sensor}.${r.quantity}@${r.ts}=${r.avg}`),
          ['adc0.voltage@1000=7', 'air.humidity@1000=55', 'air.temperature@1000=1', 'air.temperature@1005=4', 'air.temperature@1009=2', 'air.temperature@1010=10', 'air.temperature@1019=30', 'air.temperature@1020=-1'],
        );
        assert.deepEqual(all[0], { sensor: 'adc0', quantity: 'voltage', ts: 1000, min: 7, max: 7, avg: 7, count: 1 });
        assert.equal((await store.queryReadings({ device: 'b1', sensor: 'air', from: 0, to: 10_000 })).length, 7);
        assert.equal((await store.queryReadings({ device: 'b1', quantity: 'temperature', from: 0, to: 10_000 })).length, 6);
        assert.deepEqual(await store.queryReadings({ device: 'b1', sensor: 'adc0', quantity: 'temperature', from: 0, to: 10_000 }), []);
        assert.deepEqual((await store.queryReadings({ device: 'b2', from: 0, to: 10_000 })).map((r) => r.avg), [99]);
        assert.deepEqual(await store.queryReadings({ device: 'nobody', from: 0, to: 10_000 }), []);
      });

      it('includes from and excludes to', async () => {
        const store = await seeded();
        const q = { device: 'b1', sensor: 'air', quantity: 'temperature' };
        assert.deepEqual((await store.queryReadings({ ...q, from: 1005, to: 1019 })).map((r) => r.ts), [1005, 1009, 1010]);
        assert.deepEqual((await store.queryReadings({ ...q, from: 1006, to: 1020 })).map((r) => r.ts), [1009, 1010, 1019]);
        assert.deepEqual(await store.queryReadings({ ...q, from: 1020, to: 1020 }), []);
      });

      it('downsamples into buckets aligned to multiples of bucketMs', async () => {
        const store = await seeded();
        const buckets = await store.queryReadings({ device: 'b1', sensor: 'air', quantity: 'temperature', from: 0, to: 10_000, bucketMs: 10 });
        assert.deepEqual(buckets, [
          { sensor: 'air', quantity: 'temperature', ts: 1000, min: 1, max: 4, avg: 7 / 3, count: 3 },
          { sensor: 'air', quantity: 'temperature', ts: 1010, min: 10, max: 30, avg: 20, count: 2 },
          { sensor: 'air', quantity: 'temperature', ts: 1020, min: -1, max: -1, avg: -1, count: 1 },
        ]);
        const wide = await store.queryReadings({ device: 'b1', from: 1001, to: 10_000, bucketMs: 1000 });
        assert.deepEqual(wide, [{ sensor: 'air', quantity: 'temperature', ts: 1000, min: -1, max: 30, avg: 45 / 5, count: 5 }]);
        assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 10_000, bucketMs: 0 })).length, 8, 'bucketMs 0 means raw points');
      });

      it('floors bucket starts before 1970 too', async () => {
        const store = await fresh('b1');
        await store.commit(batch({ readings: [reading(-5, 1), reading(-10, 3), reading(-11, 8)] }));
        assert.deepEqual(
          (await store.queryReadings({ device: 'b1', from: -100, to: 0, bucketMs: 10 })).map((b) => [b.ts, b.count]),
          [
            [-20, 1],
            [-10, 2],
          ],
        );
      });

      it('limits rows: 10,000 by default, 100,000 at most', async () => {
        const store = await fresh('b1');
        const many = Array.from({ length: 100_005 }, (_, i) => reading(i, i));
        await store.commit(batch({ readings: many }));
        const q = { device: 'b1', from: 0, to: 1e9 };
        assert.equal((await store.queryReadings(q)).length, 10_000);
        assert.equal((await store.queryReadings({ ...q, limit: 3 })).at(-1)?.ts, 2);
        assert.equal((await store.queryReadings({ ...q, limit: 1_000_000 })).length, 100_000);
        assert.equal((await store.queryReadings({ ...q, bucketMs: 100, limit: 5 })).length, 5);
        assert.equal((await store.queryReadings({ ...q, bucketMs: 100 })).length, 1001);
      });

      it('refuses a bad limit, bucket or time with bad_request', async () => {
        const store = await seeded();
        const q = { device: 'b1', from: 0, to: 10_000 };
        await assert.rejects(store.queryReadings({ ...q, limit: 0 }), hubError('bad_request', /limit/));
        await assert.rejects(store.queryReadings({ ...q, limit: 2.5 }), hubError('bad_request', /limit/));
        await assert.rejects(store.queryReadings({ ...q, bucketMs: -10 }), hubError('bad_request', /bucketMs/));
        await assert.rejects(store.queryReadings({ ...q, bucketMs: 0.5 }), hubError('bad_request', /bucketMs/));
        await assert.rejects(store.queryReadings({ ...q, from: Number.NaN }), hubError('bad_request', /from/));
      });

      it('lists a board’s series with their latest point and unit', async () => {
        const store = await seeded();
        await store.commit(batch({ readings: [reading(900, 123), reading(1030, 5, { quantity: 'humidity', unit: 'percent' })] }));
        assert.deepEqual(await store.sensorsOf('b1'), [
          { sensor: 'adc0', quantity: 'voltage', unit: 'V', lastTs: 1000, lastValue: 7 },
          { sensor: 'air', quantity: 'humidity', unit: 'percent', lastTs: 1030, lastValue: 5 },
          { sensor: 'air', quantity: 'temperature', unit: '°C', lastTs: 1020, lastValue: -1 },
        ]);
        assert.deepEqual(await store.sensorsOf('nobody'), []);
      });

      it('lists every board’s latest points in one query, by device, sensor and quantity', async () => {
        const store = await seeded();
        await store.commit(batch({ readings: [reading(1100, 4, { device: 'a0' }), reading(1200, 9, { device: 'zz', sensor: 'soil', quantity: 'moisture', unit: '%' })] }));
        assert.deepEqual(
          (await store.latestSensors()).map((s) => `${s.device}/${s.sensor}/${s.quantity}=${s.lastValue}@${s.lastTs}`),
          ['a0/air/temperature=4@1100', 'b1/adc0/voltage=7@1000', 'b1/air/humidity=55@1000', 'b1/air/temperature=-1@1020', 'b2/air/temperature=99@1000', 'zz/soil/moisture=9@1200'],
        );
      });
    });

    describe('events queries', () => {
      const seeded = async (): Promise<HubStore> => {
        const store = await fresh('b1', 'b2');
        const events = Array.from({ length: 150 }, (_, i) => ({ device: i % 3 === 0 ? 'b2' : 'b1', ts: 10_000 + i, type: i % 2 === 0 ? 'edge' : 'lease_expired', data: { n: i } }));
        await store.commit(batch({ events }));
        return store;
      };

      it('returns the newest first, 100 by default', async () => {
        const store = await seeded();
        const page = await store.queryEvents({});
        assert.equal(page.length, 100);
        assert.deepEqual(page[0], { id: 150, device: 'b1', ts: 10_149, type: 'lease_expired', data: { n: 149 } });
        assert.equal(page.at(-1)?.id, 51);
      });

      it('pages forward, oldest first, after an id', async () => {
        const store = await seeded();
        const ids: number[] = [];
        let afterId = 0;
        for (;;) {
          const page = await store.queryEvents({ afterId, limit: 40 });
          if (page.length === 0) break;
          ids.push(...page.map((e) => e.id));
          afterId = page.at(-1)?.id ?? afterId;
        }
        assert.deepEqual(ids, Array.from({ length: 150 }, (_, i) => i + 1));
      });

      it('filters by device, type and time (from included, to excluded)', async () => {
        const store = await seeded();
        const b2 = await store.queryEvents({ device: 'b2', limit: 1000 });
        assert.equal(b2.length, 50);
        assert.ok(b2.every((e) => e.device === 'b2'));
        const edges = await store.queryEvents({ device: 'b1', type: 'edge', from: 10_010, to: 10_020 });
        assert.deepEqual(edges.map((e) => e.ts), [10_016, 10_014, 10_010]);
        assert.deepEqual((await store.queryEvents({ type: 'edge', afterId: 140 })).map((e) => e.id), [141, 143, 145, 147, 149]);
      });

      it('caps the limit at 1,000 and refuses a bad one', async () => {
        const store = await fresh('b1');
        await store.commit(batch({ events: Array.from({ length: 1005 }, (_, i) => ({ device: 'b1', ts: i, type: 'edge', data: {} })) }));
        assert.equal((await store.queryEvents({ limit: 5000 })).length, 1000);
        await assert.rejects(store.queryEvents({ limit: -1 }), hubError('bad_request'));
      });
    });

    describe('prune', () => {
      it('deletes readings and events older than the retention, in chunks, and keeps the rest', async () => {
        const store = await fresh('b1');
        const old = Array.from({ length: 12_000 }, (_, i) => reading(i % 1000, i, { sensor: `s${i % 2}` }));
        await store.commit(
          batch({
            readings: [...old, reading(1000, 1), reading(1500, 2)],
            events: [
              { device: 'b1', ts: 999, type: 'edge', data: {} },
              { device: 'b1', ts: 1000, type: 'edge', data: {} },
            ],
          }),
        );
        assert.deepEqual(await store.prune(11_000, 10_000), { readings: 12_000, events: 1, more: false });
        assert.deepEqual((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 })).map((r) => r.ts), [1000, 1500]);
        assert.deepEqual((await store.queryEvents({})).map((e) => e.ts), [1000]);
        assert.deepEqual(await store.prune(11_000, 10_000), { readings: 0, events: 0, more: false });
      });

      it('stops at maxRows, oldest first, and says more is left', async () => {
        const store = await fresh('b1');
        // Inserted newest first: pruning goes by time, not by insertion.
        const old = Array.from({ length: 7000 }, (_, i) => reading(7000 - i, i));
        await store.commit(batch({ readings: [...old, reading(20_000, 1)], events: [0, 1, 2].map((ts) => ({ device: 'b1', ts, type: 'edge', data: {} })) }));
        assert.deepEqual(await store.prune(10_000, 0, { maxRows: 6000 }), { readings: 6000, events: 0, more: true });
        assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 }))[0]?.ts, 6001, 'the oldest went first');
        assert.deepEqual(await store.prune(10_000, 0, { maxRows: 1002 }), { readings: 1000, events: 2, more: true });
        assert.deepEqual(await store.prune(10_000, 0, { maxRows: 1002 }), { readings: 0, events: 1, more: false });
        assert.deepEqual((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 })).map((r) => r.ts), [20_000]);
      });

      it('leaves a series’ latest point listed after its readings are gone', async () => {
        const store = await fresh('b1');
        await store.commit(batch({ readings: [reading(100, 3)] }));
        await store.prune(10_000, 1000);
        assert.deepEqual(await store.queryReadings({ device: 'b1', from: 0, to: 1e9 }), []);
        assert.deepEqual((await store.sensorsOf('b1')).map((s) => s.lastValue), [3]);
      });

      it('removes the oldest readings first, then the oldest events, for retention by size', async () => {
        const store = await fresh('b1');
        await store.commit(batch({ readings: [reading(300, 3), reading(100, 1), reading(200, 2)], events: [0, 1].map((ts) => ({ device: 'b1', ts, type: 'edge', data: {} })) }));
        const first = await store.pruneOldest(2);
        assert.ok(first.readings >= 2 && first.events === 0, JSON.stringify(first));
        assert.ok((await store.queryReadings({ device: 'b1', from: 0, to: 1e9 })).every((r) => r.ts > 200), 'the oldest went first');
        for (let i = 0; i < 5; i++) await store.pruneOldest(2);
        assert.deepEqual(await store.queryReadings({ device: 'b1', from: 0, to: 1e9 }), []);
        assert.deepEqual(await store.queryEvents({}), [], 'then the events');
        assert.deepEqual(await store.getDevice('b1').then((d) => d?.id), 'b1', 'the registry is never pruned');
      });

      it('says how much it takes', async () => {
        const store = await fresh('b1');
        const before = await store.size();
        await store.commit(batch({ readings: Array.from({ length: 20_000 }, (_, i) => reading(i, i)) }));
        await store.checkpoint();
        const after = await store.size();
        assert.ok(after.used + after.wal > before.used + before.wal, `${JSON.stringify(before)} → ${JSON.stringify(after)}`);
      });
    });

    describe('rollouts of hubs sharing the store', () => {
      it('each hub resumes only its own, and no board is put in two running rollouts, whichever hub asks', async () => {
        const { store: hubA, beside } = await fixture.make({ hubId: 'hub-a' });
        const hubB = await beside({ hubId: 'hub-b' });
        const mine = await hubA.rollouts.create('0.2.0', ['alpha', 'beta'], 1, 'ops', 1000);
        const theirs = await hubB.rollouts.create('0.2.0', ['gamma'], 1, 'ops', 1001);
        assert.deepEqual((await hubA.rollouts.running()).map((r) => r.id), [mine.id]);
        assert.deepEqual((await hubB.rollouts.running()).map((r) => r.id), [theirs.id]);
        await assert.rejects(hubB.rollouts.create('0.3.0', ['delta', 'beta'], 1, 'ops', 1002), hubError('board_in_rollout', new RegExp(`"beta" is part of rollout ${mine.id}`)));
        assert.deepEqual((await hubB.rollouts.list()).map((r) => r.id), [theirs.id, mine.id], 'the refused one was not made, and every hub lists all');
        assert.equal(await hubB.rollouts.end(mine.id, 'cancelled', 2000, null), true, 'ended through the other hub');
        assert.deepEqual(await hubA.rollouts.running(), []);
      });
    });

    describe('stored rules', () => {
      it('keeps the rules made through the API in the order made, renamed in place, enabled or not, across a reopen', async () => {
        const made = await fixture.make();
        const { store } = made;
        await store.addRule({ name: 'a', definition: { name: 'a', x: 1 }, enabled: true }, 1000, 'ops');
        await store.addRule({ name: 'b', definition: { name: 'b' }, enabled: true }, 2000, 'ops');
        assert.equal(await store.replaceRule('a', { name: 'a2', definition: { name: 'a2' }, enabled: false }, 3000, 'api-token'), true);
        assert.equal(await store.replaceRule('nobody', { name: 'c', definition: { name: 'c' }, enabled: true }, 3000, 'ops'), false);
        await assert.rejects(store.addRule({ name: 'b', definition: { name: 'b' }, enabled: true }, 4000, 'ops'), hubError('conflict'));
        await assert.rejects(store.replaceRule('a2', { name: 'b', definition: { name: 'b' }, enabled: true }, 4000, 'ops'), hubError('conflict'));
        const reopened = await made.reopen();
        assert.deepEqual(await reopened.storedRules(), [
          { name: 'a2', definition: { name: 'a2' }, enabled: false, createdAt: 1000, updatedAt: 3000, updatedBy: 'api-token' },
          { name: 'b', definition: { name: 'b' }, enabled: true, createdAt: 2000, updatedAt: 2000, updatedBy: 'ops' },
        ]);
        assert.equal(await reopened.removeRule('b'), true);
        assert.equal(await reopened.removeRule('b'), false);
        assert.deepEqual((await reopened.storedRules()).map((r) => r.name), ['a2']);
      });
    });

    describe('API tokens', () => {
      it('makes, verifies, lists and revokes named tokens, keeping only their hashes', async () => {
        const store = await fresh();
        const { token, view } = await store.apiTokens.create('tablet', 'read', 5000);
        assert.deepEqual(view, { name: 'tablet', scope: 'read', createdAt: 5000 });
        await store.apiTokens.create('ci', 'control', 6000);
        assert.deepEqual(await store.apiTokens.verify(token), { name: 'tablet', scope: 'read' });
        assert.equal(await store.apiTokens.verify(`${token}x`), undefined);
        assert.deepEqual((await store.apiTokens.list()).map((t) => [t.name, t.scope]), [
          ['ci', 'control'],
          ['tablet', 'read'],
        ]);
        await assert.rejects(store.apiTokens.create('tablet', 'admin'), hubError('conflict'));
        await assert.rejects(store.apiTokens.create('api-token', 'admin'), hubError('conflict', /admin token/));
        await assert.rejects(store.apiTokens.create('two words', 'read'), hubError('bad_request'));
        assert.equal(await store.apiTokens.revoke('tablet'), true);
        assert.equal(await store.apiTokens.revoke('tablet'), false);
        assert.equal(await store.apiTokens.verify(token), undefined, 'revoked');
      });
    });

    describe('rollouts', () => {
      it('keeps a rollout with each board’s part, resumable while running, and ends it once', async () => {
        const made = await fixture.make();
        const { store } = made;
        const view = await store.rollouts.create('0.2.0', ['alpha', 'beta', 'gamma'], 1, 'ops', 1000);
        assert.deepEqual(
          view.boards.map((b) => [b.device, b.wave, b.state]),
          [
            ['alpha', 1, 'waiting'],
            ['beta', 2, 'waiting'],
            ['gamma', 2, 'waiting'],
          ],
        );
        assert.equal(await store.rollouts.rolloutOf('beta'), view.id);
        assert.equal(await store.rollouts.usingRelease('0.2.0'), view.id);
        assert.equal(await store.rollouts.usingRelease('0.3.0'), undefined);
        await store.rollouts.updateBoard(view.id, 'alpha', { state: 'updating', phase: 'sending', sentBytes: 10, totalBytes: 100, startedAt: 1100 });
        await store.rollouts.updateBoard(view.id, 'alpha', { error: { code: 'timeout', message: 'slow' } });
        const reopened = await made.reopen();
        const [running] = await reopened.rollouts.running();
        assert.equal(running?.id, view.id);
        assert.deepEqual(
          { ...running?.boards[0] },
          { ...view.boards[0], state: 'updating', phase: 'sending', sentBytes: 10, totalBytes: 100, startedAt: 1100, error: { code: 'timeout', message: 'slow' } },
        );
        assert.equal(await reopened.rollouts.end(view.id, 'stopped', 2000, { device: 'alpha', code: 'timeout', message: 'slow' }), true);
        assert.equal(await reopened.rollouts.end(view.id, 'cancelled', 3000, null), false, 'it had ended already');
        const ended = await reopened.rollouts.get(view.id);
        assert.deepEqual([ended?.state, ended?.endedAt, ended?.reason], ['stopped', 2000, { device: 'alpha', code: 'timeout', message: 'slow' }]);
        assert.deepEqual(await reopened.rollouts.running(), []);
        assert.equal(await reopened.rollouts.rolloutOf('beta'), undefined, 'an ended rollout holds no board');
        assert.deepEqual((await reopened.rollouts.list()).map((r) => r.id), [view.id]);
        assert.equal(await reopened.rollouts.get(view.id + 1), undefined);
      });
    });
  });
}
