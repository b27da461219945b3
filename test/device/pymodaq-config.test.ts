// The pymodaq: section of a board config (docs/pymodaq.md): defaults, and each refusal with the
// path of what to change; and the example bench, which serves PyMoDAQ as the docs show.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadBoardConfig, parseBoardConfig } from '../../src/device/config.js';
import { PymodaqCatalog } from '../../src/device/pymodaq/catalog.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function problems(raw: unknown): string[] {
  try {
    parseBoardConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

const twoBuses = {
  auth: 'none',
  i2c: [{ bus: 1 }, { bus: 3 }],
  actuators: [{ name: 'heater', driver: 'pwm', pin: 23, max_lease_s: 600 }],
  sensors: [
    { name: 't_heater', driver: 'tmp102', bus: 1, address: 0x48 },
    { name: 't_plate', driver: 'pt100_ads1115', bus: 3, address: 0x48 },
    { name: 't_cpu', driver: 'chip_temp' },
  ],
};

describe('the pymodaq: section', { timeout: 30_000 }, () => {
  test('defaults: port 5555, hold 10 s, no scope written (actuate where the board has no tokens), the protocol host', () => {
    const c = parseBoardConfig({ pymodaq: {} });
    assert.deepEqual(c.pymodaq, { port: 5555, hold_s: 10, addresses: {} });
    assert.equal(parseBoardConfig({}).pymodaq, undefined, 'no section, no PyMoDAQ server');
  });

  test('two sensors at one address are refused until addresses tells them apart', () => {
    assert.deepEqual(problems({ ...twoBuses, pymodaq: {} }), [
      'pymodaq.addresses: t_heater (bus 1) and t_plate (bus 3) would both answer PyMoDAQ at 0x48, which reads a sensor by its address alone; give one of them another address here, e.g. t_plate: 0x4D',
    ]);
    const c = parseBoardConfig({ ...twoBuses, pymodaq: { addresses: { t_plate: '0x4D', t_cpu: 0x50 } } });
    assert.ok(c.pymodaq);
    const catalog = new PymodaqCatalog(c, c.pymodaq);
    assert.equal(catalog.sensorAt(0x48)?.name, 't_heater');
    assert.equal(catalog.sensorAt(0x4d)?.name, 't_plate');
    assert.equal(catalog.sensorAt(0x50)?.name, 't_cpu', 'a sensor with no address of its own is served at the one given');
    assert.deepEqual(problems({ ...twoBuses, pymodaq: { addresses: { t_plate: 0x48 } } }), [
      'pymodaq.addresses: t_heater (bus 1) and t_plate would both answer PyMoDAQ at 0x48, which reads a sensor by its address alone; give one of them another address here, e.g. t_plate: 0x4D',
    ]);
  });

  test('addresses names sensors the config has, at valid addresses', () => {
    assert.deepEqual(problems({ ...twoBuses, pymodaq: { addresses: { t_plate: 0x4d, t_sink: 0x49 } } }), ['pymodaq.addresses.t_sink: no sensor named "t_sink"; sensors: t_heater, t_plate, t_cpu']);
    assert.deepEqual(problems({ ...twoBuses, pymodaq: { addresses: { t_plate: 0x99 } } }), ['pymodaq.addresses.t_plate: expected 0x03–0x77']);
  });

  test("hold_s may not outlast an actuator's maximum lease", () => {
    assert.deepEqual(problems({ ...twoBuses, sensors: [], pymodaq: { hold_s: 900 } }), ['pymodaq.hold_s: 900 s is longer than the actuator "heater" may be held (max_lease_s 600 s)']);
    assert.deepEqual(problems({ ...twoBuses, sensors: [], max_lease_s: 5, actuators: [{ name: 'fan', driver: 'pwm', pin: 18 }], pymodaq: {} }), ['pymodaq.hold_s: 10 s is longer than the actuator "fan" may be held (max_lease_s 5 s)']);
  });

  test('on a board with tokens the scope must be written; read or actuate, never admin', () => {
    const tokens = { auth: { tokens: [{ token: 'a-token-of-enough-length', scope: 'admin' }] } };
    assert.deepEqual(problems({ ...tokens, pymodaq: {} }), [
      'pymodaq.scope: required on a board with tokens: PyMoDAQ sends no token, so any client that reaches this port gets this scope; write "read" (readings only) or "actuate"',
    ]);
    assert.equal(parseBoardConfig({ ...tokens, pymodaq: { scope: 'read' } }).pymodaq?.scope, 'read');
    assert.deepEqual(problems({ pymodaq: { scope: 'admin' } }), ['pymodaq.scope: expected "read" or "actuate"']);
  });

  test('the PyMoDAQ port is not the protocol port', () => {
    assert.deepEqual(problems({ listen: { port: 5555 }, pymodaq: {} }), ["pymodaq.port: 5555 is listen.port, where protocol v1 listens; PyMoDAQ's default is 5555"]);
  });

  test('examples/bench.yaml serves PyMoDAQ on 5555 with the PT-100 at 0x4D, every I2C sensor at its own address', async () => {
    const bench = await loadBoardConfig(join(ROOT, 'examples', 'bench.yaml'));
    assert.ok(bench.pymodaq);
    assert.equal(bench.pymodaq.port, 5555);
    assert.equal(bench.pymodaq.hold_s, 10);
    const scan = new PymodaqCatalog(bench, bench.pymodaq).scan();
    assert.deepEqual(
      scan.detector.map((d) => `${String(d['address'])} ${String(d['name'])} ${String(d['units'])}`),
      ['0x38 rh_out %', '0x48 t_heater °C', '0x49 t_sink °C', '0x4a t_in °C', '0x4b t_out °C', '0x4c t_emc °C', '0x4d t_plate °C'],
    );
    assert.deepEqual(scan.actuator, [
      { title: 'fan', name: 'fan', pin: 18, driver: 'PWM', units: '', minVal: 0, maxVal: 255, address: null, frequency: 25000 },
      { title: 'heater', name: 'heater', pin: 23, driver: 'PWM', units: '', minVal: 0, maxVal: 255, address: null, frequency: 100 },
    ]);
  });
});
