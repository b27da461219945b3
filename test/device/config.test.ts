import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadBoardConfig, parseBoardConfig } from '../../src/device/config.js';
import { DEMO_BOARD_CONFIG } from '../../src/device/demo-board.js';
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

test('an empty config gets sensible defaults and is frozen', { timeout: 30_000 }, () => {
  const c = parseBoardConfig({});
  assert.equal(c.listen.port, 12345);
  assert.equal(c.max_lease_s, 3600);
  assert.equal(c.max_frame_bytes, 65536);
  assert.deepEqual(c.adc.pins, [26, 27, 28]);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.listen) && Object.isFrozen(c.adc.pins));
});

test('the demo board and the example bench are valid', { timeout: 30_000 }, async () => {
  assert.equal(parseBoardConfig(DEMO_BOARD_CONFIG).sensors.length, 6);
  const bench = await loadBoardConfig(join(ROOT, 'examples', 'bench.yaml'));
  assert.equal(bench.sensors.find((s) => s.name === 't_emc')?.address, 0x4c, 'YAML hex addresses');
});

test('messages carry the path of the bad value', { timeout: 30_000 }, () => {
  assert.deepEqual(problems({ sensors: [{ name: 'a', driver: 'aht10', address: '0x99' }], i2c: [{ bus: 0 }] }), ['sensors[0].address: expected 0x03–0x77']);
  assert.deepEqual(problems({ sensors: [{ name: 'a', driver: 'bme999' }] }), ['sensors[0].driver: expected one of aht10, tmp102, emc2101, pt100_ads1115, chip_temp, ds18b20, dht22']);
  assert.deepEqual(problems({ pins: [{ pin: 2, mode: 'output', colour: 'red' }] }).length, 1);
  assert.match(problems({ listen: { port: 70000 } })[0] ?? '', /^listen\.port: /);
});

test('cross checks: pins used twice, names reused, undeclared buses, wrong addresses, shared addresses', { timeout: 30_000 }, () => {
  assert.deepEqual(problems({ pins: [{ pin: 2, mode: 'output' }], actuators: [{ name: 'fan', driver: 'pwm', pin: 2 }] }), ['actuators[0].pin: pin 2 is already used by pins[0]']);
  assert.deepEqual(problems({ i2c: [{ bus: 0, sda: 4, scl: 5 }], pins: [{ pin: 5, mode: 'input' }] }), ['pins[0].pin: pin 5 is already used by i2c[0].scl']);
  assert.deepEqual(problems({ pins: [{ pin: 40, mode: 'input' }] }), ['pins[0].pin: pin 40 does not exist: gpio.pin_count is 30']);
  assert.deepEqual(problems({ pins: [{ pin: 1, name: 'x', mode: 'input' }, { pin: 2, name: 'x', mode: 'input' }] }), ['pins[1].name: the name "x" is used twice']);
  assert.deepEqual(problems({ sensors: [{ name: 'a', driver: 'tmp102', bus: 1 }] }), ['sensors[0].bus: I2C bus 1 is not declared in i2c']);
  assert.deepEqual(problems({ i2c: [{ bus: 0 }], sensors: [{ name: 'a', driver: 'aht10', address: 0x48 }] }), ['sensors[0].address: aht10 answers only at 0x38, 0x39']);
  assert.deepEqual(problems({ i2c: [{ bus: 0 }], sensors: [{ name: 'a', driver: 'tmp102' }, { name: 'b', driver: 'pt100_ads1115' }] }), ['sensors[1].address: address 0x48 on bus 0 is already used by sensors[0] (a)']);
  assert.deepEqual(problems({ sim: { pir: [{ pin: 9 }] } }), ['sim.pir[0].pin: pin 9 must also be listed in pins with mode "input"']);
});

test('driver options are checked with their path', { timeout: 30_000 }, () => {
  const p = problems({ i2c: [{ bus: 0 }], sensors: [{ name: 'pt', driver: 'pt100_ads1115', options: { channel: 9 } }] });
  assert.equal(p.length, 1);
  assert.match(p[0] ?? '', /^sensors\[0\]\.options\.channel: /);
});

test('a file that cannot be read or parsed says so with its name', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-config-'));
  await assert.rejects(loadBoardConfig(join(dir, 'missing.yaml')), /missing\.yaml: the board config is not valid:\n {2}- cannot read the file \(ENOENT\)/);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{ "name": ');
  await assert.rejects(loadBoardConfig(bad), /bad\.json: .*cannot parse the file/s);
  const yaml = join(dir, 'board.yml');
  await writeFile(yaml, 'name: shed\nmax_lease_s: -1\n');
  await assert.rejects(loadBoardConfig(yaml), /board\.yml: .*max_lease_s: expected a number of seconds > 0/s);
});

test('backend: linux by default, the shorthand, and what only the Linux backend reads', { timeout: 30_000 }, () => {
  const c = parseBoardConfig({});
  assert.deepEqual(c.backend, { kind: 'linux', gpio_chip: 'auto', lines: {}, pwm: [], software_pwm: [] });
  assert.equal(parseBoardConfig({ backend: 'sim' }).backend.kind, 'sim');
  const full = parseBoardConfig({ backend: { kind: 'linux', gpio_chip: 'gpiochip4', lines: { '5': 'PIN_29' }, pwm: [{ pin: 18, chip: 2, channel: 2 }], software_pwm: [23], wifi: 'wlan0' } });
  assert.deepEqual(full.backend.pwm, [{ pin: 18, chip: 2, channel: 2 }]);
  assert.deepEqual(full.backend.lines, { '5': 'PIN_29' });
  assert.deepEqual(problems({ backend: 'arduino' }), ['backend.kind: expected "linux" or "sim"']);
  assert.deepEqual(problems({ backend: { kind: 'linux', pwm: [{ pin: 18, chip: 0, channel: 0 }, { pin: 18, chip: 0, channel: 1 }] } }), ['backend.pwm[1].pin: pin 18 is listed twice']);
  assert.deepEqual(problems({ backend: { software_pwm: [18], pwm: [{ pin: 18, chip: 0, channel: 0 }] } }), [
    'backend.software_pwm[0]: pin 18 is also a hardware PWM channel in backend.pwm; choose one',
  ]);
  assert.deepEqual(problems({ backend: { lines: { '40': 'GPIO18' } } }), ['backend.lines.40: pin 40 does not exist: gpio.pin_count is 30']);
  assert.deepEqual(problems({ backend: { wifi: 'wlan0; rm' } }), ['backend.wifi: expected an interface name such as wlan0']);
  assert.deepEqual(problems({ backend: { bogus: 1 } }), ['backend: Unrecognized key: "bogus"']);
});

test('only an input takes a debounce, of at most a second', { timeout: 30_000 }, () => {
  assert.equal(parseBoardConfig({ pins: [{ pin: 4, mode: 'input', debounce_ms: 5 }] }).pins[0]?.debounce_ms, 5);
  assert.deepEqual(problems({ pins: [{ pin: 4, mode: 'output', debounce_ms: 5 }] }), ['pins[0].debounce_ms: only an input takes a debounce']);
  assert.deepEqual(problems({ pins: [{ pin: 4, mode: 'input', debounce_ms: 5000 }] }), ['pins[0].debounce_ms: expected at most 1000 ms']);
});

test('a DHT owns its data pin; DS18B20s share a 1-Wire pin, each with its ROM', { timeout: 30_000 }, () => {
  assert.deepEqual(problems({ pins: [{ pin: 17, mode: 'output' }], sensors: [{ name: 'air', driver: 'dht22', options: { pin: 17 } }] }), ['sensors[0].options.pin: pin 17 is already used by pins[0]']);
  const shared = { sensors: [
    { name: 'a', driver: 'ds18b20', options: { pin: 4, rom: '28ff4a1b02170385' } },
    { name: 'b', driver: 'ds18b20', options: { pin: 4, rom: '28ff4a1b02170386' } },
  ] };
  assert.equal(parseBoardConfig(shared).sensors.length, 2);
  assert.deepEqual(problems({ sensors: [{ name: 'a', driver: 'ds18b20', options: { pin: 4 } }, { name: 'b', driver: 'ds18b20', options: { pin: 4, rom: '28ff4a1b02170386' } }] }), [
    'sensors[0].options.rom: 2 DS18B20s share the 1-Wire bus on pin 4: give each its rom',
  ]);
  assert.deepEqual(problems({ sensors: [{ name: 'a', driver: 'ds18b20', options: { pin: 4 } }, { name: 'air', driver: 'dht22', options: { pin: 4 } }] }), [
    'sensors[1].options.pin: pin 4 is already used by the 1-Wire bus of sensors[0] (a)',
  ]);
});

// The pymodaq: section (docs/pymodaq.md): defaults, each refusal with its path, and the example
// bench, which serves PyMoDAQ as the docs show.
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
    assert.deepEqual(parseBoardConfig({ pymodaq: null }).pymodaq, { port: 5555, hold_s: 10, addresses: {} }, '`pymodaq:` alone in YAML is null: the defaults');
  });

  test('two sensors at one address are refused until addresses tells them apart', () => {
    assert.deepEqual(problems({ ...twoBuses, pymodaq: {} }), [
      'pymodaq.addresses: t_heater (bus 1) and t_plate (bus 3) would both answer PyMoDAQ at 0x48, which reads a sensor by its address alone; give one of them another address here, e.g. t_plate: 0x49',
    ]);
    const crowded = { ...twoBuses, sensors: [...twoBuses.sensors, { name: 't_sink', driver: 'tmp102', bus: 1, address: 0x49 }] };
    assert.match(problems({ ...crowded, pymodaq: {} })[0] ?? '', /e\.g\. t_plate: 0x4a$/, 'the address suggested is free');
    const c = parseBoardConfig({ ...twoBuses, pymodaq: { addresses: { t_plate: '0x4D', t_cpu: 0x50 } } });
    assert.ok(c.pymodaq);
    const catalog = new PymodaqCatalog(c, c.pymodaq);
    assert.equal(catalog.sensorAt(0x48)?.name, 't_heater');
    assert.equal(catalog.sensorAt(0x4d)?.name, 't_plate');
    assert.equal(catalog.sensorAt(0x50)?.name, 't_cpu', 'a sensor with no address of its own is served at the one given');
    assert.deepEqual(problems({ ...twoBuses, pymodaq: { addresses: { t_plate: 0x48 } } }), [
      'pymodaq.addresses: t_heater (bus 1) and t_plate would both answer PyMoDAQ at 0x48, which reads a sensor by its address alone; give one of them another address here, e.g. t_plate: 0x49',
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
    assert.deepEqual(problems({ listen: { port: 5555 }, pymodaq: {} }), ["pymodaq.port: 5555 is also listen.port, where protocol v1 listens; give one of them another port (PyMoDAQ's default is 5555, protocol v1's 12345)"]);
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
