// The device runtime end to end over real TCP on loopback, on the demo board, with a clock the
// test moves: sensors, actuators, subscriptions, reset, sleep and concurrent clients.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { DEMO_BOARD_CONFIG } from '../../src/device/demo-board.js';
import { SimAds1115, SimAht10, SimEmc2101, SimTmp102 } from '../../src/device/sim/chips/index.js';
import { LineClient } from '../support/line-client.js';
import { startSimDevice, type SimDevice } from '../support/sim-device.js';

let sim: SimDevice | undefined;
const clients: LineClient[] = [];

async function demo(overrides: Record<string, unknown> = {}): Promise<SimDevice> {
  sim = await startSimDevice({ ...DEMO_BOARD_CONFIG, ...overrides });
  return sim;
}

async function connect(s: SimDevice): Promise<LineClient> {
  const c = await LineClient.connect(s.port);
  clients.push(c);
  return c;
}

/** Sends a request whose answer waits on the board's clock, moves the clock, returns the reply. */
async function slowRequest(s: SimDevice, c: LineClient, message: object, ms = 500): Promise<Record<string, unknown>> {
  await c.send(message);
  await new Promise((r) => setTimeout(r, 10));
  await s.clock.advance(ms);
  return c.next();
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.close();
  sim = undefined;
});

describe('demo board sensors', { timeout: 30_000 }, () => {
  test('list_sensors names every configured sensor with its quantities', async () => {
    const s = await demo();
    const c = await connect(s);
    const reply = await c.request({ action: 'list_sensors' });
    const sensors = reply['sensors'] as Array<Record<string, unknown>>;
    assert.deepEqual(
      sensors.map((x) => x['name']),
      ['air', 't_heater', 't_sink', 't_emc', 'pt100', 'chip'],
    );
    assert.deepEqual(sensors[0], { name: 'air', driver: 'aht10', bus: 0, address: 0x38, quantities: { temperature: '°C', humidity: '%' } });
  });

  test('read_sensor decodes what each simulated chip holds', async () => {
    const s = await demo();
    const c = await connect(s);
    s.hardware.chip(0, 0x38, SimAht10).set({ temperature: 23.4, humidity: 41.5 });
    s.hardware.chip(0, 0x48, SimTmp102).set({ temperature: -12.25 });
    s.hardware.chip(0, 0x49, SimTmp102).set({ temperature: 48.5 });
    s.hardware.chip(0, 0x4c, SimEmc2101).set({ temperature: 31, external_temperature: 35.625 });
    s.hardware.chip(0, 0x4a, SimAds1115).set({ temperature: 60 });
    s.hardware.adc.setChipTemperature(27);

    const air = await slowRequest(s, c, { action: 'read_sensor', name: 'air' });
    assert.equal(air['ok'], true);
    const airValues = air['values'] as Record<string, number>;
    assert.ok(Math.abs((airValues['temperature'] ?? NaN) - 23.4) < 0.01, JSON.stringify(air));
    assert.ok(Math.abs((airValues['humidity'] ?? NaN) - 41.5) < 0.01, JSON.stringify(air));
    assert.deepEqual(air['units'], { temperature: '°C', humidity: '%' });

    const heater = await slowRequest(s, c, { action: 'read_sensor', name: 't_heater' });
    assert.deepEqual(heater['values'], { temperature: -12.25 });
    const sink = await slowRequest(s, c, { action: 'read_sensor', name: 't_sink' });
    assert.deepEqual(sink['values'], { temperature: 48.5 });
    const emc = await slowRequest(s, c, { action: 'read_sensor', name: 't_emc' });
    assert.deepEqual(emc['values'], { temperature: 31, external_temperature: 35.625 });
    const pt = await slowRequest(s, c, { action: 'read_sensor', name: 'pt100' });
    assert.ok(Math.abs(((pt['values'] as Record<string, number>)['temperature'] ?? NaN) - 60) < 0.5, JSON.stringify(pt));
    const chip = await slowRequest(s, c, { action: 'read_sensor', name: 'chip' });
    assert.ok(Math.abs(((chip['values'] as Record<string, number>)['temperature'] ?? NaN) - 27) < 1, JSON.stringify(chip));
  });

  test('an unplugged chip gives sensor_error naming its address, and works again when plugged back', async () => {
    const s = await demo();
    const c = await connect(s);
    const bus = s.hardware.buses.get(0);
    assert.ok(bus);
    const chip = bus.detach(0x48);
    const reply = await slowRequest(s, c, { action: 'read_sensor', name: 't_heater' });
    assert.equal(reply['ok'], false);
    const error = reply['error'] as { code: string; message: string };
    assert.equal(error.code, 'sensor_error');
    assert.match(error.message, /0x48/);
    assert.match(error.message, /check the wiring/);
    assert.ok(chip);
    bus.attach(chip);
    assert.equal((await slowRequest(s, c, { action: 'read_sensor', name: 't_heater' }))['ok'], true);
  });

  test('i2c_scan lists the chips on the bus', async () => {
    const s = await demo();
    const c = await connect(s);
    assert.deepEqual(await c.request({ action: 'i2c_scan', bus: 0 }), { action: 'i2c_scan', bus: 0, addresses: [0x38, 0x48, 0x49, 0x4a, 0x4c], ok: true });
  });

  test('read_adc returns the raw reading and volts', async () => {
    const s = await demo();
    const c = await connect(s);
    s.hardware.adc.set(26, 32768);
    const reply = await c.request({ action: 'read_adc', pin: 26 });
    assert.equal(reply['raw'], 32768);
    assert.equal(reply['volts'], Math.round((32768 / 65535) * 3.3 * 1e4) / 1e4);
  });

  test('a sensor subscription sends readings every interval until unsubscribed', async () => {
    const s = await demo();
    const c = await connect(s);
    s.hardware.chip(0, 0x48, SimTmp102).set({ temperature: 20.5 });
    const sub = await c.request({ action: 'subscribe', sensor: 't_heater', interval_ms: 1000 });
    assert.equal(sub['ok'], true);
    await s.clock.advance(1100);
    const first = await c.next();
    assert.deepEqual(first, { event: 'reading', seq: 1, ts: first['ts'], sub: sub['sub'], sensor: 't_heater', values: { temperature: 20.5 }, units: { temperature: '°C' } });
    await s.clock.advance(1000);
    assert.equal((await c.next())['seq'], 2);
    assert.equal((await c.request({ action: 'unsubscribe', sub: sub['sub'] }))['ok'], true);
    await s.clock.advance(5000);
    assert.deepEqual(await c.request({ action: 'ping', id: 'quiet' }), { action: 'ping', id: 'quiet', ok: true });
  });
});

describe('demo board actuators and inputs', { timeout: 30_000 }, () => {
  test('an active-low relay: logical 1 drives the pin low, and expiry drives it high again', async () => {
    const s = await demo();
    const c = await connect(s);
    assert.equal(s.hardware.gpio.level(15), 1, 'the relay starts off (pin high)');
    const reply = await c.request({ action: 'write_pin', pin: 15, value: 1, timeout: 2 });
    assert.deepEqual(reply['lease'], { value: 1, safe_value: 0, expires_in_s: 2 });
    assert.equal(s.hardware.gpio.level(15), 0);
    const wroteAt = s.clock.now();
    await s.clock.advance(2000);
    assert.deepEqual(await c.next(), { event: 'lease_expired', seq: 1, ts: Math.round(wroteAt + 2000), pin: 15, name: 'relay', value: 0, held: 1 });
    assert.equal(s.hardware.gpio.level(15), 1);
  });

  test('the fan is PWM with a lease; the heater has its own shorter maximum lease', async () => {
    const s = await demo();
    const c = await connect(s);
    const fan = await c.request({ action: 'pwm', pin: 18, freq: 25000, duty: 0.6, timeout: 30 });
    assert.equal(fan['ok'], true, JSON.stringify(fan));
    assert.deepEqual(s.hardware.pwm.channel(18), { freq: 25000, duty: 0.6 });
    const heater = await c.request({ action: 'pwm', pin: 23, freq: 100, duty: 0.5, timeout: 601 });
    assert.equal((heater['error'] as { code: string }).code, 'lease_too_long');
    assert.deepEqual(s.hardware.pwm.channel(23), { freq: 100, duty: 0 }, 'a refused write changes nothing');
    await s.clock.advance(30_000);
    assert.equal((await c.next())['event'], 'lease_expired');
    assert.equal(s.hardware.pwm.channel(18)?.duty, 0);
  });

  test('setup_pin on a configured actuator is a pin_conflict', async () => {
    const s = await demo();
    const c = await connect(s);
    const reply = await c.request({ action: 'setup_pin', pin: 15, mode: 'input' });
    assert.equal((reply['error'] as { code: string }).code, 'pin_conflict');
  });

  test('edges on the PIR input reach a pin subscription', async () => {
    const s = await demo({ sim: { seed: 1 } }); // no automatic PIR: the test drives the pin
    const c = await connect(s);
    const sub = await c.request({ action: 'subscribe', pin: 22, edge: 'rising' });
    assert.equal(sub['ok'], true);
    s.hardware.gpio.drive(22, 1);
    s.hardware.gpio.drive(22, 0);
    s.hardware.gpio.drive(22, 1);
    const a = await c.next();
    const b = await c.next();
    assert.deepEqual([a['event'], a['pin'], a['value'], a['seq']], ['edge', 22, 1, 1]);
    assert.deepEqual([b['event'], b['value'], b['seq']], ['edge', 1, 2]);
    assert.deepEqual(await c.request({ action: 'read_pin', pin: 22 }), { action: 'read_pin', pin: 22, value: 1, ok: true });
  });

  test('the simulated PIR produces motion edges by itself', async () => {
    const s = await demo();
    const c = await connect(s);
    await c.request({ action: 'subscribe', pin: 22 });
    await s.clock.advance(120_000);
    const edge = await c.next();
    assert.equal(edge['event'], 'edge');
    assert.equal(edge['pin'], 22);
  });
});

describe('board lifecycle', { timeout: 30_000 }, () => {
  test('get_info reports the board, versions, memory and capabilities', async () => {
    const s = await demo();
    const c = await connect(s);
    const info = (await c.request({ action: 'get_info' }))['info'] as Record<string, unknown>;
    assert.equal(info['name'], 'demo');
    assert.equal(info['platform'], 'sim');
    assert.equal(info['protocol'], 1);
    assert.equal(typeof info['mem_free'], 'number');
    assert.equal(typeof info['mem_alloc'], 'number');
    assert.deepEqual(info['capabilities'], ['gpio', 'leases', 'pwm', 'subscribe', 'adc', 'i2c', 'sensors']);
  });

  test('reset: the reply comes first, then leases end, outputs go safe and connections close', async () => {
    const s = await demo();
    const c = await connect(s);
    await c.request({ action: 'setup_pin', pin: 2, mode: 'output', value: 0 });
    await c.request({ action: 'write_pin', pin: 2, value: 1, timeout: 60 });
    const bootBefore = ((await c.request({ action: 'get_info' }))['info'] as Record<string, unknown>)['boot_id'];
    assert.deepEqual(await c.request({ action: 'reset' }), { action: 'reset', reset_in_ms: 1000, ok: true });
    await s.clock.advance(1000);
    await c.waitClosed();
    assert.equal(s.hardware.gpio.mode(2), 'unused', 'pins not in the config are released');
    const d = await connect(s);
    const state = await d.request({ action: 'get_state' });
    assert.deepEqual(state['leases'], []);
    assert.notEqual(state['boot_id'], bootBefore);
    assert.equal((await d.request({ action: 'read_pin', pin: 2 }))['ok'], false);
  });

  test('light sleep holds replies until the board wakes, in order', async () => {
    const s = await demo();
    const c = await connect(s);
    assert.deepEqual(await c.request({ action: 'sleep', deep: 0, time_ms: 5000 }), { action: 'sleep', deep: 0, time_ms: 5000, sleep_ms: 5000, ok: true });
    await c.send({ action: 'ping', id: 1 });
    await c.send({ action: 'ping', id: 2 });
    await assert.rejects(c.next(100), /no line/);
    await s.clock.advance(5000);
    assert.equal((await c.next())['id'], 1);
    assert.equal((await c.next())['id'], 2);
  });

  test('a missing chip stops the start with an error naming the address', async () => {
    await assert.rejects(
      demo({ sim: { seed: 1, absent: [{ bus: 0, address: '0x49' }] } }),
      (err: Error) => /t_sink/.test(err.message) && /0x49/.test(err.message) && /I2C bus 0/.test(err.message),
    );
  });
});

describe('concurrent clients', { timeout: 30_000 }, () => {
  test('eight clients pipelining on their own pins all get their replies in order', async () => {
    const s = await demo();
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect(s)));
    const pins = [2, 3, 6, 7, 8, 9, 10, 11];
    await Promise.all(
      conns.map(async (c, i) => {
        const pin = pins[i] as number;
        const batch: object[] = [{ action: 'setup_pin', pin, mode: 'output', value: 0, id: 0 }];
        for (let k = 1; k <= 200; k++) {
          batch.push(k % 2 ? { action: 'write_pin', pin, value: 1, timeout: 10, id: k } : { action: 'write_pin', pin, value: 0, id: k });
          batch.push({ action: 'read_pin', pin, id: `r${k}` });
        }
        await c.write(batch.map((m) => JSON.stringify(m) + '\n').join(''));
        for (const sent of batch) {
          const reply = await c.next();
          const id = (sent as { id: number | string }).id;
          assert.equal(reply['id'], id);
          assert.equal(reply['ok'], true, JSON.stringify(reply));
          if (typeof id === 'string') assert.equal(reply['value'], Number(id.slice(1)) % 2, `pin ${pin} read ${id}`);
        }
      }),
    );
    const state = await (conns[0] as LineClient).request({ action: 'get_state' });
    assert.deepEqual(state['leases'], [], 'every pin ended on its safe value');
  });

  test('one client\'s lease is visible to, and can be ended by, another', async () => {
    const s = await demo();
    const [a, b] = [await connect(s), await connect(s)];
    await a.request({ action: 'write_pin', pin: 25, value: 1, timeout: 10 });
    assert.equal((await b.request({ action: 'read_pin', pin: 25 }))['value'], 1);
    assert.deepEqual((await b.request({ action: 'write_pin', pin: 25, value: 0 }))['lease'], null);
    assert.equal((await a.request({ action: 'read_pin', pin: 25 }))['value'], 0);
  });
});
