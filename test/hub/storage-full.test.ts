// Fault injection: the hub's disk fills up. The store is made full for real with SQLite's
// max_page_count (SqliteStore.capPages): a write that needs one more page fails with SQLITE_FULL, as
// on a full disk. The hub must stay up, acknowledge nothing it did not store, refuse links and API
// writes with storage_full, keep answering reads, and take everything up again by itself once
// there is room: the readings a board held arrive then, once each.
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SystemClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { silentLogger } from '../../src/device/logger.js';
import { startDevice } from '../../src/device/runtime.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';
import { HubError } from '../../src/hub/errors.js';
import { storageFaultCode } from '../../src/hub/store/storage-health.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { startLinkedBoard, untilLinked, type LinkedBoard } from '../support/linked-board.js';
import { keyOfToken } from '../../src/protocol/auth.js';
import { helloFrame, openRawLink } from '../support/raw-link.js';
import { eventually, sqliteStoreOf, startTestHub, type TestHub } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Errors that would have crashed a hub process: collected instead, and asserted empty. */
function watchCrashes(): unknown[] {
  const seen: unknown[] = [];
  const onError = (err: unknown) => void seen.push(err);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  cleanups.push(() => {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  });
  return seen;
}

const NO_CAP = 1_000_000_000;

/** A board in hub mode whose readings the test numbers: `values.n` is 0, 1, 2, … in the order sent. */
async function countingBoard(port: number, token: string) {
  const acked: number[] = [];
  const onAcked = (body: JsonObject) => {
    if (body['event'] === 'reading') acked.push((body['values'] as { n: number }).n);
  };
  const linked: LinkedBoard = await startLinkedBoard({ port, token, id: 'tank', outboxCapacity: 10_000, onAcked });
  cleanups.push(() => linked.close());
  let next = 0;
  return {
    linked,
    acked,
    get sent() {
      return next;
    },
    send(count: number) {
      for (let i = 0; i < count; i++) linked.link.emit({ event: 'reading', sensor: 'level', values: { n: next++ }, units: { n: 'count' } });
    },
  };
}

/** The `n` of every stored reading of the counting board, in order. */
async function storedNumbers(hub: TestHub): Promise<number[]> {
  return (await hub.store.queryReadings({ device: 'tank', sensor: 'level', from: 0, to: Date.now() + 3_600_000, limit: 100_000 }))
    .map((r) => r.avg)
    .sort((a, b) => a - b);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Fills what room the capped store has left with a burst of readings, until a write fails. */
async function fillUp(hub: TestHub): Promise<void> {
  const store = sqliteStoreOf(hub);
  store.capPages(store.pageCount());
  const burst = Array.from({ length: 1000 }, (_, i) => ({ device: 'burst', sensor: 'burst', quantity: 'n', ts: i, value: i, unit: null }));
  for (let i = 0; i < 1000 && (await hub.facade.storage()).state === 'ok'; i++) {
    try {
      await hub.store.commit({ readings: burst, events: [], linkStates: [] });
    } catch {
      // the burst that did not fit
    }
  }
  assert.equal((await hub.facade.storage()).state, 'full');
}

async function api(hub: TestHub, method: 'GET' | 'POST', route: string, body?: object): Promise<{ status: number; json: JsonObject }> {
  const response = await fetch(`http://127.0.0.1:${hub.http.port}${route}`, {
    method,
    headers: { authorization: `Bearer ${hub.apiToken.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as JsonObject };
}

/** A hello with the board's own token on a raw connection: the hub refuses it with storage_full and closes. */
async function assertHelloRefused(hub: TestHub, token: string): Promise<void> {
  const raw = await openRawLink(hub.link.port);
  cleanups.push(() => raw.close());
  // The hub proves itself and checks the board before it finds it cannot store the link.
  const reject = await raw.authenticate('tank', token, { boot_id: 'other-boot' });
  assert.equal(reject['link'], 'reject');
  assert.equal((reject['error'] as JsonObject)['code'], 'storage_full');
  assert.match(String((reject['error'] as JsonObject)['message']), /free disk space/);
  await raw.closed;
}

describe('fault injection: the hub disk fills up', { timeout: 90_000 }, () => {
  test('security: with the store full the hub stays up and acknowledges nothing; writes answer 507 storage_full and reads work; once there is room the readings the board kept arrive, none lost and none twice', async () => {
    const crashes = watchCrashes();
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const { token } = await hub.store.addDevice('tank');
    const board = await countingBoard(hub.link.port, token);
    await untilLinked(board.linked.link);
    board.send(20);
    await eventually(async () => (board.acked.length === 20 && (await storedNumbers(hub)).length === 20 ? true : undefined), 'the first 20 readings stored and acknowledged');

    // The disk is full from here: the pages the file has are all the store gets.
    const store = sqliteStoreOf(hub);
    store.capPages(store.pageCount());
    await eventually(
      async () => {
        if ((await hub.facade.storage()).state === 'full') return true;
        board.send(50);
        return undefined;
      },
      'a reading that does not fit',
      20_000,
    );
    const ackedWhenFull = board.acked.length;
    const storedWhenFull = await storedNumbers(hub);
    assert.deepEqual(storedWhenFull, range(storedWhenFull.length), 'what was stored is what the board sent, in order');
    board.send(100);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(board.acked.length, ackedWhenFull, 'nothing is acknowledged while the store is full');
    assert.deepEqual(await storedNumbers(hub), storedWhenFull, 'nothing more is stored');
    assert.ok(ackedWhenFull <= storedWhenFull.length, 'every acknowledged reading was stored');
    assert.notEqual(board.linked.link.state, 'up', 'the board is not linked while the hub cannot store');

    // The link server still answers, with a coded refusal the board backs off from.
    await assertHelloRefused(hub, token);

    const command = await api(hub, 'POST', '/api/devices/tank/commands', { action: 'ping' });
    assert.equal(command.status, 507);
    assert.equal((command.json['error'] as JsonObject)['code'], 'storage_full');
    const readings = await api(hub, 'GET', '/api/devices/tank/readings?sensor=level&from=0&limit=10000');
    assert.equal(readings.status, 200);
    assert.equal((readings.json['readings'] as unknown[]).length, storedWhenFull.length);
    const health = await api(hub, 'GET', '/api/health');
    assert.equal(health.status, 200);
    const storage = health.json['storage'] as JsonObject;
    assert.equal(storage['state'], 'full');
    assert.match(String(storage['error']), /^SQLITE_FULL: /);
    assert.ok(typeof storage['since'] === 'number' && storage['since'] <= Date.now() && storage['since'] > Date.now() - 60_000, String(storage['since']));
    assert.ok(typeof storage['bytes'] === 'number' && storage['bytes'] > 0);

    // Space comes back: nobody tells the hub, it finds out.
    store.capPages(NO_CAP);
    await eventually(async () => ((await hub.facade.storage()).state === 'ok' ? true : undefined), 'the hub writing again', 20_000);
    await eventually(() => (board.acked.length === board.sent ? true : undefined), `all ${board.sent} readings acknowledged`, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a reading stored twice would be now
    assert.deepEqual(await storedNumbers(hub), range(board.sent), 'every reading the board sent is stored, once');
    assert.equal((await api(hub, 'GET', '/api/health')).json['storage'] !== undefined, true);
    assert.equal(((await api(hub, 'GET', '/api/health')).json['storage'] as JsonObject)['state'], 'ok');
    assert.equal((await api(hub, 'POST', '/api/devices/tank/commands', { action: 'ping' })).status, 200, 'commands go through again');
    assert.deepEqual(crashes, []);
  });

  test('security: a hub restarted on a full store starts, refuses the board cleanly, and takes what the board kept once there is room', async () => {
    const crashes = watchCrashes();
    const first = await startTestHub();
    const { data } = first;
    const linkPort = first.link.port;
    const { token } = await first.store.addDevice('tank');
    const board = await countingBoard(linkPort, token);
    await untilLinked(board.linked.link);
    board.send(20);
    await eventually(() => (board.acked.length === 20 ? true : undefined), '20 readings acknowledged');
    await first.close();
    board.send(30); // kept by the board while there is no hub

    // The disk filled while the hub was down: no free page in the file, none to add.
    const db = new Database(path.join(data, 'tether.db'));
    db.exec('VACUUM');
    db.close();
    let store: SqliteStore | undefined;
    const hub = await startTestHub({
      data,
      linkPort,
      openStore: (file) => {
        store = SqliteStore.open(file);
        store.capPages(store.pageCount());
        return store;
      },
    });
    cleanups.push(() => hub.close());
    assert.equal((await hub.facade.storage()).state, 'full', 'found full at start');
    await assertHelloRefused(hub, token);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the board's own hellos, refused too
    assert.notEqual(board.linked.link.state, 'up');
    assert.equal(board.acked.length, 20);
    assert.deepEqual(await storedNumbers(hub), range(20), 'reads work');

    (store ?? assert.fail('the hub opened its store through openStore')).capPages(NO_CAP);
    await eventually(() => (board.acked.length === 50 ? true : undefined), 'the 30 kept readings acknowledged', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await storedNumbers(hub), range(50), 'stored once each');
    assert.deepEqual(crashes, []);
  });

  test('security: a store write or read that fails during a board handshake ends that connection only; the hub stays up and the board links on its next try', async () => {
    const crashes = watchCrashes();
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const { token } = await hub.store.addDevice('tank');
    // The disk refuses the write of the link state once (an I/O error the store did not see coming).
    const save = hub.store.saveLinkState.bind(hub.store);
    let failures = 0;
    hub.store.saveLinkState = (id, state) => {
      if (failures++ === 0) return Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }));
      return save(id, state);
    };
    const raw = await openRawLink(hub.link.port);
    cleanups.push(() => raw.close());
    await raw.authenticate('tank', token).catch(() => undefined);
    await raw.closed;
    assert.deepEqual(
      raw.frames.map((f) => f['link']),
      ['challenge'],
      'closed without a welcome',
    );

    // A read the disk fails while the hello is checked: that connection ends too, and only it.
    const keyOf = hub.store.keyOf.bind(hub.store);
    hub.store.keyOf = () => {
      hub.store.keyOf = keyOf;
      return Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' }));
    };
    const second = await openRawLink(hub.link.port);
    cleanups.push(() => second.close());
    second.send(helloFrame('tank'));
    await second.closed;
    assert.deepEqual(second.frames, [], 'closed without a welcome');

    const board = await countingBoard(hub.link.port, token);
    await untilLinked(board.linked.link, 10_000);
    board.send(5);
    await eventually(() => (board.acked.length === 5 ? true : undefined), 'readings acknowledged after the failed handshake');
    assert.deepEqual(await storedNumbers(hub), range(5));
    assert.deepEqual(crashes, []);
  });

  test('security: a board the hub dials (pull mode) has its readings stored again once the store has room', async () => {
    const crashes = watchCrashes();
    const clock = new SystemClock();
    const config = parseBoardConfig({ name: 'pi', auth: 'none', listen: { host: '127.0.0.1', port: 0 }, sensors: [{ name: 'chip', driver: 'chip_temp' }] });
    const hardware = createSimHardware(config, clock);
    const device = await startDevice({ config, hardware, clock, logger: silentLogger, host: '127.0.0.1', port: 0 });
    cleanups.push(() => device.close());
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 50 }, devices: [{ id: 'pi', address: `127.0.0.1:${device.port}` }] } });
    cleanups.push(() => hub.close());
    const count = async (from: number) => (await hub.store.queryReadings({ device: 'pi', sensor: 'chip', from, to: Date.now() + 60_000 })).length;
    await eventually(async () => ((await count(0)) >= 3 ? true : undefined), 'readings from the pulled board');
    await fillUp(hub);
    await new Promise((resolve) => setTimeout(resolve, 300)); // readings arrive and cannot be stored
    sqliteStoreOf(hub).capPages(NO_CAP);
    await eventually(async () => ((await hub.facade.storage()).state === 'ok' ? true : undefined), 'the hub writing again', 20_000);
    const recovered = Date.now();
    await eventually(async () => ((await count(recovered)) >= 3 ? true : undefined), 'readings stored again after the store recovered');
    assert.deepEqual(crashes, []);
  });

  test('security: a hub whose database cannot even be opened for lack of disk waits for room instead of exiting', async () => {
    let refusals = 0;
    const started = Date.now();
    const hub = await startTestHub({
      openStore: (file) => {
        // What SQLite says when a disk with no room left cannot take the WAL's shared-memory file.
        if (refusals++ === 0) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_SHMSIZE' });
        return SqliteStore.open(file);
      },
    });
    cleanups.push(() => hub.close());
    assert.equal(refusals, 2, 'opened at the second try');
    assert.ok(Date.now() - started >= 900, 'after waiting for the disk');
    assert.equal((await hub.facade.storage()).state, 'ok');
    // Anything but the disk is no reason to wait: the start fails at once.
    await assert.rejects(
      startTestHub({
        openStore: () => {
          throw new Error('the hub database is at schema 99, written by a newer Tether; this one knows up to 3');
        },
      }),
      /schema 99/,
    );
  });
});

describe('the store on a full disk', { timeout: 30_000 }, () => {
  const isStorageFull = (err: unknown) => err instanceof HubError && err.code === 'storage_full' && err.httpStatus === 507 && /SQLITE_FULL/.test(err.message);
  const reading = (i: number) => ({ device: 'b1', sensor: 'air', quantity: 't', ts: i, value: i, unit: null });

  test('security: once a write fails for lack of room, writes are refused at once with storage_full, bookkeeping is skipped, reads work, and a probe that gets through ends it', async () => {
    const store = SqliteStore.open(':memory:', { wallNow: () => 1234 });
    cleanups.push(() => store.close());
    const { token } = await store.addDevice('b1');
    store.capPages(store.pageCount());
    let failed: unknown;
    for (let i = 0; failed === undefined && i < 1000; i++) {
      try {
        await store.commit({ readings: Array.from({ length: 500 }, (_, j) => reading(i * 500 + j)), events: [], linkStates: [] });
      } catch (err) {
        failed = err;
      }
    }
    assert.ok(isStorageFull(failed), String(failed));
    assert.deepEqual(store.health.fault, { code: 'SQLITE_FULL', message: 'database or disk is full', since: 1234 });
    const stored = (await store.queryReadings({ device: 'b1', from: 0, to: 1e9, limit: 100_000 })).length;

    // A small write would fit on a page that has room; it is refused all the same, so that what
    // is stored does not depend on which page has room (and no board is acknowledged at random).
    await assert.rejects(store.commit({ readings: [reading(1e8)], events: [], linkStates: [] }), isStorageFull);
    await assert.rejects(store.outboxAdd('b1', 1, { action: 'ping' }), isStorageFull);
    await assert.rejects(store.addDevice('b2'), isStorageFull);
    await assert.rejects(store.saveLinkState('b1', { bootId: 'x' }), isStorageFull);
    assert.equal((await store.markLinked('b1', { firmware: 'f', capabilities: [], bootId: 'x', now: 5 })), false, 'bookkeeping is skipped, not thrown');
    assert.equal((await store.markOffline('b1', 5)), false);
    assert.equal((await store.setSignal('b1', -50)), false);
    assert.equal((await store.outboxAck('b1', 1)), 0);
    assert.equal((await store.getDevice('b1'))?.bootId, null, 'nothing of it was written');
    assert.equal((await store.keyOf('b1'))?.equals(keyOfToken(token)), true, 'reads work');
    assert.equal((await store.queryReadings({ device: 'b1', from: 0, to: 1e9, limit: 100_000 })).length, stored);

    assert.equal((await store.probe()), false, 'no room for the probe either');
    assert.equal(store.health.full, true);
    store.capPages(NO_CAP);
    assert.equal((await store.probe()), true);
    assert.equal(store.health.fault, null);
    await store.commit({ readings: [reading(1e8)], events: [], linkStates: [] });
    assert.equal((await store.markLinked('b1', { firmware: 'f', capabilities: [], bootId: 'x', now: 5 })), true);
  });

  test('security: only the disk makes a store full: SQLITE_FULL, SQLITE_IOERR and SQLITE_READONLY (and their extended codes)', async () => {
    const code = (c: string) => storageFaultCode(Object.assign(new Error('x'), { code: c }));
    assert.deepEqual(
      ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_SHMSIZE', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED'].map(code),
      ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_SHMSIZE', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED'],
    );
    for (const other of ['SQLITE_BUSY', 'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_FULLX', 'SQLITE_IOERRX', 'ENOSPC', '']) assert.equal(code(other), undefined, other);
    assert.equal(storageFaultCode(new Error('database or disk is full')), undefined, 'the code says it, not the message');
    assert.equal(storageFaultCode(null), undefined);

    // A constraint failure is the data's fault: it fails that write, not the store.
    const store = SqliteStore.open(':memory:');
    cleanups.push(() => store.close());
    await store.addDevice('b1');
    await assert.rejects(store.commit({ readings: [{ ...reading(1), value: Number.NaN }], events: [], linkStates: [] }), /NOT NULL/);
    assert.equal(store.health.full, false);
  });
});

