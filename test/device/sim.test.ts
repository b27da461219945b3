// The simulated backend: environment, GPIO, PWM, ADC, I2C buses, PIR and createSimHardware.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { SENSOR_DRIVERS } from '../../src/device/drivers/sensors/index.js';
import type { SensorDriver } from '../../src/device/drivers/types.js';
import { BusError, type Level } from '../../src/device/hal/types.js';
import { SimAds1115 } from '../../src/device/sim/chips/ads1115.js';
import { SimAht10 } from '../../src/device/sim/chips/aht10.js';
import { SimEmc2101 } from '../../src/device/sim/chips/emc2101.js';
import { SIM_CHIPS } from '../../src/device/sim/chips/index.js';
import { SimTmp102 } from '../../src/device/sim/chips/tmp102.js';
import { SimEnvironment } from '../../src/device/sim/environment.js';
import { SimAdc } from '../../src/device/sim/sim-adc.js';
import { SimGpio } from '../../src/device/sim/sim-gpio.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import { SimI2cBus } from '../../src/device/sim/sim-i2c.js';
import { SimPwm } from '../../src/device/sim/sim-pwm.js';
import { during, noAdc } from './sim-support.js';

function driver(id: string): SensorDriver {
  const d = SENSOR_DRIVERS[id];
  assert.ok(d, `driver ${id}`);
  return d;
}

void describe('SimEnvironment', { timeout: 30_000 }, () => {
  void test('the same seed at the same clock time gives the same values, whatever was read before', async () => {
    const c1 = new ManualClock();
    const c2 = new ManualClock();
    const e1 = new SimEnvironment(42, c1);
    const e2 = new SimEnvironment(42, c2);
    e1.humidity('other'); // reading order must not matter
    for (const step of [0, 1234, 60_000, 3_600_000]) {
      await c1.advance(step);
      await c2.advance(step);
      for (const key of ['i2c0:0x38', 'i2c0:0x48']) {
        assert.equal(e1.temperature(key), e2.temperature(key));
        assert.equal(e1.humidity(key), e2.humidity(key));
        assert.equal(e1.heater(key), e2.heater(key));
        assert.equal(e1.light(key), e2.light(key));
      }
    }
    const r1 = e1.random('pir:15');
    const r2 = e2.random('pir:15');
    assert.deepEqual([r1(), r1(), r1()], [r2(), r2(), r2()]);
  });

  void test('another seed or another key gives other values', () => {
    const clock = new ManualClock();
    const a = new SimEnvironment(1, clock);
    const b = new SimEnvironment(2, clock);
    assert.notEqual(a.temperature('x'), b.temperature('x'));
    assert.notEqual(a.temperature('x'), a.temperature('y'));
    assert.notEqual(a.random('k')(), b.random('k')());
  });

  void test('signals stay in their plausible ranges, move slowly, and do move', async () => {
    const clock = new ManualClock();
    const env = new SimEnvironment(7, clock);
    const seen = { tMin: Infinity, tMax: -Infinity };
    let prev = env.temperature('room');
    for (let i = 0; i < 2 * 3600; i += 5) {
      await clock.advance(5000);
      const t = env.temperature('room');
      assert.ok(t >= 18 && t <= 26, `temperature ${t}`);
      assert.ok(Math.abs(t - prev) < 1, `a 5 s step moved ${t - prev} °C`);
      const h = env.humidity('room');
      assert.ok(h >= 30 && h <= 60, `humidity ${h}`);
      const p = env.heater('pt');
      assert.ok(p >= 20 && p <= 80, `heater ${p}`);
      const l = env.light('ldr');
      assert.ok(Number.isInteger(l) && l >= 10_000 && l <= 45_000, `light ${l}`);
      seen.tMin = Math.min(seen.tMin, t);
      seen.tMax = Math.max(seen.tMax, t);
      prev = t;
    }
    assert.ok(seen.tMax - seen.tMin > 2, `the room temperature only spanned ${seen.tMin}–${seen.tMax}`);
  });
});

void describe('SimGpio', { timeout: 30_000 }, () => {
  void test('pins below pin_count exist; others throw RangeError', () => {
    const gpio = new SimGpio(30);
    assert.equal(gpio.has(0), true);
    assert.equal(gpio.has(29), true);
    assert.equal(gpio.has(30), false);
    assert.equal(gpio.has(-1), false);
    assert.equal(gpio.has(1.5), false);
    assert.throws(() => gpio.setupInput(30, 'none'), /pin 30 does not exist: this board has pins 0–29/);
    assert.throws(() => gpio.watch(31, () => {}), RangeError);
  });

  void test('inputs float to their pull; drive() overrides it and fires watchers on change only', () => {
    const gpio = new SimGpio(30);
    gpio.setupInput(3, 'none');
    assert.equal(gpio.read(3), 0);
    gpio.setupInput(4, 'up');
    assert.equal(gpio.read(4), 1);
    const seen: Level[] = [];
    const stop = gpio.watch(4, (l) => seen.push(l));
    gpio.drive(4, 1); // no change: the pull-up already reads 1
    gpio.drive(4, 0);
    gpio.drive(4, 0);
    gpio.drive(4, undefined); // floats back up
    assert.deepEqual(seen, [0, 1]);
    stop();
    gpio.drive(4, 0);
    assert.deepEqual(seen, [0, 1]);
    assert.equal(gpio.read(4), 0);
  });

  void test('changing the pull of a floating input moves its level, and watchers see that edge', () => {
    const gpio = new SimGpio(30);
    gpio.setupInput(6, 'up');
    const seen: Level[] = [];
    gpio.watch(6, (l) => seen.push(l));
    gpio.setupInput(6, 'none');
    gpio.setupInput(6, 'down'); // still 0: no edge
    gpio.setupInput(6, 'up');
    assert.deepEqual(seen, [0, 1]);
    gpio.drive(6, 0); // driven pins ignore the pull
    gpio.setupInput(6, 'none');
    assert.deepEqual(seen, [0, 1, 0]);
  });

  void test('outputs record their level; writes need an output; reads need a set-up pin', () => {
    const gpio = new SimGpio(30);
    assert.throws(() => gpio.read(8), /not set up/);
    assert.throws(() => gpio.write(8, 1), /not an output/);
    gpio.setupOutput(8, 1);
    assert.equal(gpio.level(8), 1);
    gpio.drive(8, 0); // an outside driver does not beat an output
    assert.equal(gpio.read(8), 1);
    gpio.write(8, 0);
    assert.equal(gpio.level(8), 0);
    assert.throws(() => gpio.write(8, 2 as Level), RangeError);
  });

  void test('release returns the pin to unused and drops its watchers', () => {
    const gpio = new SimGpio(30);
    gpio.setupInput(9, 'down');
    let calls = 0;
    gpio.watch(9, () => calls++);
    gpio.release(9);
    assert.equal(gpio.mode(9), 'unused');
    assert.equal(gpio.watcherCount(9), 0);
    gpio.drive(9, 1);
    assert.equal(calls, 0);
    assert.equal(gpio.level(9), 1);
    assert.throws(() => gpio.read(9), /not set up/);
  });
});

void describe('SimPwm and SimAdc', { timeout: 30_000 }, () => {
  void test('SimPwm records freq and duty per pin and validates them', () => {
    const pwm = new SimPwm(30);
    pwm.set(2, 500, 0.1);
    pwm.set(3, 20_000, 1);
    assert.deepEqual(pwm.channel(2), { freq: 500, duty: 0.1 });
    assert.deepEqual(pwm.channel(3), { freq: 20_000, duty: 1 });
    pwm.stop(2);
    assert.equal(pwm.channel(2), undefined);
    assert.throws(() => pwm.set(2, 500, 1.01), RangeError);
    assert.throws(() => pwm.set(2, 0, 0.5), RangeError);
    assert.throws(() => pwm.set(30, 500, 0.5), /pin 30 does not exist/);
  });

  void test('SimAdc gives plausible 12-bit-in-u16 readings on its pins only; set() pins one', async () => {
    const clock = new ManualClock();
    const adc = new SimAdc([26, 27, 28], 3.3, new SimEnvironment(3, clock));
    for (let i = 0; i < 20; i++) {
      for (const pin of [26, 27, 28]) {
        const v = adc.readU16(pin);
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 65535);
        const raw12 = v >> 4;
        assert.equal(v, (raw12 << 4) | (raw12 >> 8), `read_u16 scaling of ${v}`);
      }
      const light = adc.readU16(26);
      assert.ok(light >= 9_000 && light <= 46_000, `light ${light}`);
      await clock.advance(30_000);
    }
    assert.throws(() => adc.readU16(5), /pin 5 has no ADC; ADC pins: 26, 27, 28/);
    adc.set(27, 12_345);
    assert.equal(adc.readU16(27), 12_345);
    adc.set(27, undefined);
    assert.notEqual(adc.readU16(27), 12_345);
  });
});

void describe('SimI2cBus', { timeout: 30_000 }, () => {
  void test('scan lists attached addresses in order; an address takes one chip', async () => {
    const clock = new ManualClock();
    const environment = new SimEnvironment(1, clock);
    const bus = new SimI2cBus(1);
    const ctx = (address: number) => ({ address, clock, environment, key: `k${address}`, options: {} });
    bus.attach(new SimEmc2101(ctx(0x4c)));
    bus.attach(new SimAht10(ctx(0x38)));
    const tmp = new SimTmp102(ctx(0x48));
    bus.attach(tmp);
    assert.deepEqual(await bus.scan(), [0x38, 0x48, 0x4c]);
    assert.throws(() => bus.attach(new SimAds1115(ctx(0x48))), /already answers at 0x48 on simulated I2C bus 1/);
    assert.equal(bus.detach(0x48), tmp);
    assert.equal(bus.detach(0x48), undefined);
    assert.deepEqual(await bus.scan(), [0x38, 0x4c]);
    await assert.rejects(bus.read(0x48, 2), (err: unknown) => err instanceof BusError && err.bus === 1 && err.message === 'no device answers at 0x48 on I2C bus 1 — check the wiring and the pull-ups');
    await assert.rejects(bus.write(0x10, Uint8Array.of(0)), /no device answers at 0x10 on I2C bus 1/);
  });

  void test('SIM_CHIPS has a chip for every I2C sensor driver', () => {
    const i2cDrivers = Object.values(SENSOR_DRIVERS).filter((d) => d.bus === 'i2c').map((d) => d.id).sort();
    assert.deepEqual(Object.keys(SIM_CHIPS).sort(), i2cDrivers);
    assert.equal(Object.getPrototypeOf(SIM_CHIPS), null);
  });
});

void describe('createSimHardware', { timeout: 30_000 }, () => {
  const config = parseBoardConfig({
    board: 'Test bench',
    i2c: [{ bus: 0 }, { bus: 1 }],
    pins: [{ pin: 15, mode: 'input' }],
    sensors: [
      { name: 'air', driver: 'aht10' },
      { name: 'shelf', driver: 'tmp102', address: '0x49' },
      { name: 'fan', driver: 'emc2101' },
      { name: 'kettle', driver: 'pt100_ads1115', bus: 1, options: { channel: 2 } },
      { name: 'mcu', driver: 'chip_temp' },
    ],
    sim: { seed: 5, absent: [{ bus: 0, address: '0x49' }], pir: [{ pin: 15, mean_interval_s: 5, hold_s: 2 }] },
  });

  function open(clock = new ManualClock()): { hw: SimHardware; clock: ManualClock } {
    return { hw: createSimHardware(config, clock), clock };
  }

  void test('describes itself and lists its buses', () => {
    const { hw } = open();
    try {
      assert.equal(hw.platform, 'sim');
      assert.equal(hw.board, 'Test bench');
      assert.deepEqual(hw.i2cBuses, [0, 1]);
      assert.equal(hw.i2c(0), hw.buses.get(0));
      assert.equal(hw.i2c(2), undefined);
      assert.equal(hw.gpio.has(29), true);
      assert.equal(hw.gpio.has(30), false);
      assert.deepEqual(hw.adc.pins, [26, 27, 28]);
      const m = hw.memory();
      assert.ok(m.alloc > 0 && m.free >= 0);
    } finally {
      hw.close();
    }
  });

  void test('puts a chip at each configured address, except the ones in sim.absent', async () => {
    const { hw } = open();
    try {
      assert.deepEqual(await hw.i2c(0)!.scan(), [0x38, 0x4c]);
      assert.deepEqual(await hw.i2c(1)!.scan(), [0x48]);
      assert.ok(hw.chip(0, 0x38) instanceof SimAht10);
      assert.equal(hw.chip(0, 0x49), undefined);
      assert.equal(hw.chip(1, 0x48, SimAds1115).frontEnd.channel, 2);
      assert.throws(() => hw.chip(0, 0x38, SimTmp102), /no simulated SimTmp102 at 0x38 on I2C bus 0 \(found SimAht10\)/);
    } finally {
      hw.close();
    }
  });

  void test('every configured sensor reads what its chip holds; the absent one gets a BusError', async () => {
    const { hw, clock } = open();
    try {
      hw.chip(0, 0x38, SimAht10).set({ temperature: 19.75, humidity: 52.5 });
      hw.chip(0, 0x4c, SimEmc2101).set({ temperature: 33, external_temperature: 41.625 });
      hw.chip(1, 0x48, SimAds1115).set({ temperature: 65 });
      hw.adc.setChipTemperature(27);
      const make = (id: string, bus: number, address: number | undefined, options: Record<string, unknown> = {}) => {
        const d = driver(id);
        return d.create({ bus: hw.i2c(bus), address, adc: hw.adc, hardware: {}, clock, options: d.optionsSchema.parse(options) });
      };
      const air = make('aht10', 0, 0x38);
      await during(clock, air.init());
      assert.deepEqual(await during(clock, air.read()), { temperature: 19.75, humidity: 52.5 });
      const fan = make('emc2101', 0, 0x4c);
      await during(clock, fan.init());
      assert.deepEqual(await during(clock, fan.read()), { temperature: 33, external_temperature: 41.625 });
      const kettle = make('pt100_ads1115', 1, 0x48, { channel: 2 });
      await during(clock, kettle.init());
      const k = (await during(clock, kettle.read()))['temperature']!;
      assert.ok(Math.abs(k - 65) < 0.06, `kettle ${k}`);
      const mcu = make('chip_temp', 0, undefined);
      await mcu.init();
      assert.ok(Math.abs((await mcu.read())['temperature']! - 27) < 0.5);
      const shelf = make('tmp102', 0, 0x49);
      await assert.rejects(during(clock, shelf.init()), (err: unknown) => err instanceof BusError && /no device answers at 0x49 on I2C bus 0/.test(err.message));
    } finally {
      hw.close();
    }
  });

  void test('unpinned chips read the seeded environment', async () => {
    const { hw, clock } = open();
    try {
      await clock.advance(90_000);
      const chip = hw.chip(0, 0x38, SimAht10);
      const expected = chip.values(); // latched when the measurement is triggered, now
      assert.deepEqual(expected, { temperature: hw.environment.temperature('i2c0:0x38'), humidity: hw.environment.humidity('i2c0:0x38') });
      const air = driver('aht10').create({ bus: hw.i2c(0), address: 0x38, adc: noAdc, hardware: {}, clock, options: {} });
      await during(clock, air.init());
      const before = chip.values();
      const v = await during(clock, air.read());
      assert.ok(Math.abs(v['temperature']! - before.temperature) < 0.006);
      assert.ok(Math.abs(v['humidity']! - before.humidity) < 0.006);
      assert.ok(before.temperature >= 18 && before.temperature <= 26);
    } finally {
      hw.close();
    }
  });
});

void describe('PIR', { timeout: 30_000 }, () => {
  async function edges(seed: number, ms: number): Promise<{ times: Array<[number, Level]>; hw: SimHardware; clock: ManualClock }> {
    const config = parseBoardConfig({ pins: [{ pin: 15, mode: 'input' }], sim: { seed, pir: [{ pin: 15, mean_interval_s: 5, hold_s: 2 }] } });
    const clock = new ManualClock();
    const hw = createSimHardware(config, clock);
    hw.gpio.setupInput(15, 'none');
    const times: Array<[number, Level]> = [];
    hw.gpio.watch(15, (level) => times.push([clock.now(), level]));
    await clock.advance(ms);
    return { times, hw, clock };
  }

  void test('drives the pin high for hold_s at random intervals; watch() sees every edge', async () => {
    const { times, hw, clock } = await edges(11, 120_000);
    try {
      assert.ok(times.length >= 10, `only ${times.length} edges in 2 minutes at a 5 s mean`);
      times.forEach(([, level], i) => assert.equal(level, i % 2 === 0 ? 1 : 0, `edge ${i}`));
      for (let i = 1; i < times.length; i += 2) assert.equal(times[i]![0] - times[i - 1]![0], 2000, 'high for hold_s');
      assert.equal(hw.pir.events(15), Math.ceil(times.length / 2));
      const gaps = [];
      for (let i = 2; i < times.length; i += 2) gaps.push(times[i]![0] - times[i - 1]![0]);
      assert.ok(new Set(gaps).size > 1, 'the intervals vary');
    } finally {
      hw.close();
    }
    assert.equal(hw.gpio.level(15), 0);
    assert.equal(clock.pendingTimers, 0, 'close() stops the PIR timers');
    const count = times.length;
    await clock.advance(60_000);
    assert.equal(times.length, count);
  });

  void test('the same seed gives the same motion; another seed other motion', async () => {
    const a = await edges(11, 60_000);
    const b = await edges(11, 60_000);
    const c = await edges(12, 60_000);
    for (const r of [a, b, c]) r.hw.close();
    assert.deepEqual(a.times, b.times);
    assert.notDeepEqual(a.times, c.times);
  });
});
