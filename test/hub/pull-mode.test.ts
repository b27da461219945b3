// Pull mode: the hub dials a board that only listens (direct mode) and keeps it linked.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { SystemClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { silentLogger } from '../../src/device/logger.js';
import { startDevice } from '../../src/device/runtime.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';
import type { HubError } from '../../src/hub/errors.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listeningBoard() {
  const clock = new SystemClock();
  const config = parseBoardConfig({
    name: 'pi',
    listen: { host: '127.0.0.1', port: 0 },
    pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
    sensors: [{ name: 'chip', driver: 'chip_temp' }],
  });
  const hardware = createSimHardware(config, clock);
  const device = await startDevice({ config, hardware, clock, logger: silentLogger, host: '127.0.0.1', port: 0 });
  cleanups.push(() => device.close());
  return { device, hardware };
}

describe('hub: pull mode', () => {
  test('the hub dials a listening board: online, readings stored, leased commands run', async () => {
    const { device, hardware } = await listeningBoard();
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 }, devices: [{ id: 'pi', address: `127.0.0.1:${device.port}` }] } });
    cleanups.push(() => hub.close());
    await eventually(() => (hub.facade.devices().find((d) => d.id === 'pi')?.online === true ? true : undefined), 'pi online');
    assert.equal(typeof hub.facade.device('pi')?.rssi, 'number', 'the signal strength from get_info');
    await eventually(() => (hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 }).length >= 2 ? true : undefined), 'readings');
    const reply = await hub.facade.command('pi', { action: 'write_pin', pin: 15, value: 1, timeout: 0.3, id: 7 });
    assert.equal(reply['ok'], true);
    assert.equal(reply['id'], 7);
    assert.equal(hardware.gpio.level(15), 1);
    await eventually(() => hub.facade.events({ device: 'pi', type: 'lease_expired' })[0], 'lease_expired logged');
    assert.equal(hardware.gpio.level(15), 0);
  });

  test('fault injection: after a dropped connection and a black hole the hub dials again and reports resume', async () => {
    const { device } = await listeningBoard();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: device.port } });
    cleanups.push(() => proxy.close());
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 }, devices: [{ id: 'pi', address: `127.0.0.1:${proxy.port}` }] } });
    cleanups.push(() => hub.close());
    const online = () => hub.facade.devices().find((d) => d.id === 'pi')?.online === true;
    await eventually(() => (online() ? true : undefined), 'online');
    const connections = () => hub.facade.events({ device: 'pi', type: 'online' }).length;
    proxy.dropAll();
    // The hub dials again within a backoff step, too fast to poll for "offline": count the links.
    await eventually(() => (connections() === 2 && online() ? true : undefined), 'linked a second time');
    assert.equal(hub.facade.events({ device: 'pi', type: 'offline' }).length, 1);
    proxy.blackhole();
    await eventually(() => (online() ? undefined : true), 'offline: the pings went unanswered');
    await assert.rejects(hub.facade.command('pi', { action: 'ping' }), (e: HubError) => e.code === 'device_offline');
    proxy.heal();
    await eventually(() => (online() ? true : undefined), 'online after the black hole', 10_000);
    const before = hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 }).length;
    await eventually(() => (hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 }).length > before ? true : undefined), 'new readings');
    assert.ok(hub.facade.events({ device: 'pi', type: 'online' }).length >= 3);
  });
});
