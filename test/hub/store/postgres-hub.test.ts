// Real hubs on the PostgreSQL store: a board linked to one hub stores its readings and events
// where a second hub sharing the database reads them, its commands go through the store's
// outbox, and when it moves to the second hub the first one's goodbye leaves it online.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresStore } from '../../../src/hub/store/postgres/postgres-store.js';
import { startLinkedBoard } from '../../support/linked-board.js';
import { PostgresCluster, SKIP_WITHOUT_POSTGRES } from '../../support/postgres.js';
import { eventually, startTestHub, type TestHub } from '../../support/test-hub.js';

const SENSOR_BOARD = {
  name: 'bench',
  pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
  sensors: [{ name: 'chip', driver: 'chip_temp' }],
};

describe('hubs on the PostgreSQL store', { skip: SKIP_WITHOUT_POSTGRES, timeout: 120_000 }, () => {
  let cluster: PostgresCluster | undefined;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    cluster = await PostgresCluster.start();
  });

  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await cluster?.stop();
  });

  async function hubOn(url: string): Promise<TestHub> {
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 } }, openStore: (_file, options) => PostgresStore.open(url, options) });
    cleanups.push(() => hub.close());
    return hub;
  }

  test('two hubs share boards, readings, events and presence through one database', async () => {
    const url = await (cluster as PostgresCluster).createDatabase();
    const hubA = await hubOn(url);
    const hubB = await hubOn(url);
    assert.equal(hubA.store.kind, 'postgres');
    const { token } = await hubA.store.addDevice('bench', { name: 'Bench' });

    const first = await startLinkedBoard({ port: hubA.link.port, token, id: 'bench', config: SENSOR_BOARD });
    cleanups.push(() => first.close());
    await eventually(async () => ((await hubA.deviceLink('bench'))?.online ? true : undefined), 'linked to hub A');
    const reply = await hubA.facade.command('bench', { action: 'write_pin', pin: 15, value: 1, timeout: 0.3 });
    assert.equal(reply['ok'], true);
    assert.equal(first.hardware.gpio.level(15), 1);
    // What hub A stored, hub B reads.
    await eventually(async () => ((await hubB.store.queryReadings({ device: 'bench', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length >= 3 ? true : undefined), 'readings through hub B');
    const expired = await eventually(async () => (await hubB.store.queryEvents({ device: 'bench', type: 'lease_expired' }))[0], 'the lease expiry through hub B');
    assert.equal(expired.data['pin'], 15);
    assert.equal(await hubB.store.linkedHub('bench'), hubA.hubId);

    // The board moves to hub B; hub A sees its old connection end afterwards.
    await first.close();
    const second = await startLinkedBoard({ port: hubB.link.port, token, id: 'bench', config: SENSOR_BOARD });
    cleanups.push(() => second.close());
    await eventually(async () => ((await hubA.store.linkedHub('bench')) === hubB.hubId ? true : undefined), 'held by hub B');
    assert.equal(await hubA.store.markOffline('bench', Date.now()), false, 'hub A no longer holds it');
    assert.equal((await hubA.store.getDevice('bench'))?.online, true);
    const readingsBefore = (await hubA.store.queryReadings({ device: 'bench', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length;
    await eventually(
      async () => ((await hubA.store.queryReadings({ device: 'bench', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length > readingsBefore + 2 ? true : undefined),
      'readings through hub B, read by hub A',
    );
  });
});
