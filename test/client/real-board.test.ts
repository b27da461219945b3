// The SDK's typed helpers against the real device runtime on the demo board (not a fake), so
// that a reply shape the SDK does not expect fails here.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { connect, TetherError, type BoardClient } from '../../src/client/index.js';
import { DEMO_BOARD_CONFIG } from '../../src/device/demo-board.js';
import { SimAht10 } from '../../src/device/sim/chips/index.js';
import { startSimDevice } from '../support/sim-device.js';

const sim = await startSimDevice({ ...DEMO_BOARD_CONFIG, sim: { seed: 3 } });
const client: BoardClient = await connect({ host: '127.0.0.1', port: sim.port });
after(async () => {
  await client.close();
  await sim.close();
});

/** Runs a helper whose reply waits on the board's clock (a sensor conversion). */
async function withClock<T>(promise: Promise<T>, ms = 500): Promise<T> {
  await new Promise((r) => setTimeout(r, 10));
  await sim.clock.advance(ms);
  return promise;
}

test('identity helpers', { timeout: 30_000 }, async () => {
  assert.equal(typeof (await client.ping()), 'number');
  assert.deepEqual(await client.getVersion(), { version: '0.1.0', protocol: 1 });
  const info = await client.getInfo();
  assert.equal(info['name'], 'demo');
  assert.ok((await client.listActions()).includes('write_pin'));
});

test('pins and leases', { timeout: 30_000 }, async () => {
  await client.setupPin({ pin: 2, mode: 'output', value: 0, safeValue: 0 });
  assert.deepEqual(await client.writePin(2, 1, { timeout: 5 }), { value: 1, safeValue: 0, expiresInS: 5 });
  assert.equal(await client.readPin(2), 1);
  const state = await client.getState();
  assert.deepEqual(state.leases, [{ pin: 2, value: 1, expires_in_s: 5 }]);
  assert.deepEqual(state.sensors, ['air', 't_heater', 't_sink', 't_emc', 'pt100', 'chip']);
  assert.equal(typeof state.bootId, 'string');
  assert.equal(await client.writePin(2, 0), null);
  assert.deepEqual(await client.pwm(18, { freq: 25000, duty: 0.5, timeout: 10 }), { value: 0.5, safeValue: 0, expiresInS: 10 });
  await assert.rejects(client.writePin(2, 1), (err: unknown) => err instanceof TetherError && err.code === 'missing_field');
});

test('ADC, I2C and sensors', { timeout: 30_000 }, async () => {
  sim.hardware.adc.set(26, 32768);
  assert.deepEqual(await client.readAdc(26), { raw: 32768, volts: 1.65 });
  assert.deepEqual(await client.i2cScan(0), { bus: 0, addresses: [0x38, 0x48, 0x49, 0x4a, 0x4c] });
  const sensors = await client.listSensors();
  assert.deepEqual(sensors[0], { name: 'air', driver: 'aht10', bus: 0, address: 0x38, quantities: { temperature: '°C', humidity: '%' } });
  sim.hardware.chip(0, 0x38, SimAht10).set({ temperature: 21.5, humidity: 40.25 });
  assert.deepEqual(await withClock(client.readSensor('air')), { values: { temperature: 21.5, humidity: 40.25 }, units: { temperature: '°C', humidity: '%' } });
});

test('a sensor subscription as an async iterator', { timeout: 30_000 }, async () => {
  const sub = await client.subscribe({ sensor: 't_heater', intervalMs: 1000 });
  await sim.clock.advance(1100);
  for await (const event of sub) {
    assert.equal(event.event, 'reading');
    assert.equal(event['sensor'], 't_heater');
    break;
  }
  assert.equal((await client.getState()).leases.length, 1, 'the pwm lease from the earlier test is still there');
});

test('sleep and reset', { timeout: 30_000 }, async () => {
  await assert.rejects(client.sleep({ deep: true, timeMs: 1500 }), (err: unknown) => err instanceof TetherError && err.code === 'unsupported');
  await client.reset();
  await sim.clock.advance(1000);
  await client.closed;
  assert.equal(client.isOpen, false);
});
