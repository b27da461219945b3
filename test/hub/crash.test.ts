// Fault injection: `tether hub` killed with SIGKILL. What the board saw acknowledged survives
// (protocol.md §10.4: ack means committed), and a lease set through the hub still ends on the
// board when the hub is gone (§4, §10.3).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { spawnHubCli, type HubProcess } from '../support/hub-process.js';
import { startLinkedBoard, untilLinked } from '../support/linked-board.js';
import { eventually, registerInStore, tempDataDir } from '../support/test-hub.js';
import { assertLease } from '../support/lease.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts `tether hub` as a child process with a config file in its data folder. */
async function spawnHub(data: string, config: object): Promise<HubProcess> {
  const configFile = path.join(data, 'hub.json');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const hub = await spawnHubCli(['hub', '--config', configFile, '--data', data, '--http-port', '0', '--link-port', '0']);
  cleanups.push(() => void hub.child.kill('SIGKILL'));
  return hub;
}

async function kill(hub: HubProcess): Promise<void> {
  hub.child.kill('SIGKILL');
  await hub.exited;
}

const CHIPS = {
  name: 'kiln',
  pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
  sensors: ['a', 'b', 'c', 'd'].map((s) => ({ name: `chip_${s}`, driver: 'chip_temp' })),
};

describe('fault injection: the hub killed with SIGKILL', { timeout: 60_000 }, () => {
  test('during ingest: every reading the board saw acknowledged is in the store afterwards', async () => {
    const data = tempDataDir();
    const token = await registerInStore(data, 'kiln');
    const hub = await spawnHub(data, { link: { host: '127.0.0.1', keepalive_ms: 200 }, telemetry: { interval_ms: 50 } });
    const acked: JsonObject[] = [];
    const linked = await startLinkedBoard({ port: hub.linkPort, token, id: 'kiln', config: CHIPS, onAcked: (body) => void (body['event'] === 'reading' && acked.push(body)) });
    cleanups.push(() => linked.close());
    await eventually(() => (acked.length >= 200 ? true : undefined), '200 acknowledged readings', 20_000);
    await kill(hub); // mid-stream: readings are arriving every few ms
    const seen = acked.length;

    const store = SqliteStore.open(path.join(data, 'tether.db'));
    try {
      const stored = new Map<string, number>();
      for (const row of (await store.queryReadings({ device: 'kiln', from: 0, to: Date.now() + 3_600_000, limit: 100_000 }))) {
        const key = `${row.sensor}=${row.avg}`;
        stored.set(key, (stored.get(key) ?? 0) + 1);
      }
      const missing = acked.filter((body) => {
        const key = `${String(body['sensor'])}=${(body['values'] as { temperature: number }).temperature}`;
        const left = stored.get(key) ?? 0;
        stored.set(key, left - 1);
        return left <= 0;
      });
      assert.equal(missing.length, 0, `${missing.length} of ${seen} acknowledged readings are not in the store`);
    } finally {
      await store.close();
    }
  });

  test('a lease set through the REST API reverts on the board when the hub is killed', async () => {
    const data = tempDataDir();
    const token = await registerInStore(data, 'kiln');
    const hub = await spawnHub(data, { link: { host: '127.0.0.1', keepalive_ms: 200 } });
    const linked = await startLinkedBoard({ port: hub.linkPort, token, id: 'kiln' });
    cleanups.push(() => linked.close());
    await untilLinked(linked.link);
    const apiToken = fs.readFileSync(path.join(data, 'api-token'), 'utf8').trim();
    assert.equal(apiToken, hub.apiToken, 'the sign-in link carries the token in the file');
    assert.equal(fs.statSync(path.join(data, 'api-token')).mode & 0o777, 0o600);
    const response = await fetch(`http://127.0.0.1:${hub.httpPort}/api/devices/kiln/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'write_pin', pin: 15, value: 1, timeout: 1 }),
    });
    assert.equal(response.status, 200);
    const reply = (await response.json()) as JsonObject;
    assertLease(reply['lease'], { value: 1, safe_value: 0, expires_in_s: 1 });
    assert.equal(linked.hardware.gpio.level(15), 1);
    await kill(hub);
    await eventually(() => (linked.link.state !== 'up' ? true : undefined), 'the board notices the hub is gone');
    assert.equal(linked.hardware.gpio.level(15), 1, 'the lease is still running');
    await eventually(() => (linked.hardware.gpio.level(15) === 0 ? true : undefined), 'the relay back at its safe value', 5000);
  });
});
