// Every sensor driver against its simulated chip, values pinned with set(); the actuators on
// simulated GPIO and PWM. Time is a ManualClock throughout.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { ACTUATOR_DRIVERS } from '../../src/device/drivers/actuators/index.js';
import { digital } from '../../src/device/drivers/actuators/digital.js';
import { isPwmActuator, pwm } from '../../src/device/drivers/actuators/pwm.js';
import { aht10 } from '../../src/device/drivers/sensors/aht10.js';
import { chipTemp } from '../../src/device/drivers/sensors/chip-temp.js';
import { emc2101 } from '../../src/device/drivers/sensors/emc2101.js';
import { SENSOR_DRIVERS } from '../../src/device/drivers/sensors/index.js';
import { pt100Ads1115, pt100Temperature } from '../../src/device/drivers/sensors/pt100-ads1115.js';
import { tmp102 } from '../../src/device/drivers/sensors/tmp102.js';
import { SensorFault } from '../../src/device/drivers/types.js';
import { BusError } from '../../src/device/hal/types.js';
import { SimAds1115 } from '../../src/device/sim/chips/ads1115.js';
import { SimAht10 } from '../../src/device/sim/chips/aht10.js';
import { SimEmc2101 } from '../../src/device/sim/chips/emc2101.js';
import { SimTmp102 } from '../../src/device/sim/chips/tmp102.js';
import { SimEnvironment } from '../../src/device/sim/environment.js';
import { SimAdc } from '../../src/device/sim/sim-adc.js';
import { SimGpio } from '../../src/device/sim/sim-gpio.js';
import { SimI2cBus } from '../../src/device/sim/sim-i2c.js';
import { SimPwm } from '../../src/device/sim/sim-pwm.js';
import { bench, during, noAdc, wire } from './sim-support.js';

const PT100_DEFAULTS = { channel: 0, divider_ohms: 97.7, supply_v: 3.29, counts_per_supply: 26300 };

void describe('registries', { timeout: 30_000 }, () => {
  void test('SENSOR_DRIVERS lists each driver by id, with no prototype keys', () => {
    assert.deepEqual(Object.keys(SENSOR_DRIVERS).sort(), ['aht10', 'chip_temp', 'dht22', 'ds18b20', 'emc2101', 'pt100_ads1115', 'tmp102']);
    for (const [id, d] of Object.entries(SENSOR_DRIVERS)) assert.equal(d.id, id);
    assert.equal(Object.getPrototypeOf(SENSOR_DRIVERS), null);
    assert.equal('toString' in SENSOR_DRIVERS, false);
    assert.equal(Object.hasOwn(SENSOR_DRIVERS, 'constructor'), false);
    assert.ok(Object.isFrozen(SENSOR_DRIVERS));
  });

  void test('ACTUATOR_DRIVERS lists digital and pwm, with no prototype keys', () => {
    assert.deepEqual(Object.keys(ACTUATOR_DRIVERS).sort(), ['digital', 'pwm']);
    assert.equal(Object.getPrototypeOf(ACTUATOR_DRIVERS), null);
    assert.equal('__proto__' in ACTUATOR_DRIVERS, false);
  });

  void test('option schemas fill defaults and reject unknown keys', () => {
    assert.deepEqual(pt100Ads1115.optionsSchema.parse({}), PT100_DEFAULTS);
    assert.deepEqual(pt100Ads1115.optionsSchema.parse({ channel: 3 }), { ...PT100_DEFAULTS, channel: 3 });
    assert.equal(pt100Ads1115.optionsSchema.safeParse({ channel: 4 }).success, false);
    assert.equal(aht10.optionsSchema.safeParse({ rate: 1 }).success, false);
    assert.deepEqual(digital.optionsSchema.parse({}), { active_low: false, drive: 'push_pull' });
    assert.deepEqual(pwm.optionsSchema.parse({}), { freq: 1000 });
    assert.equal(pwm.optionsSchema.safeParse({ freq: 0.5 }).success, false);
  });
});

void describe('aht10', { timeout: 30_000 }, () => {
  void test('init resets, calibrates and checks the calibrated bit; read decodes the pinned values', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    b.chip.set({ temperature: 21.5, humidity: 45.25 });
    const sensor = b.sensor(aht10);
    await during(b.clock, sensor.init());
    assert.ok(b.chip.isCalibrated);
    assert.deepEqual(wire(b.transfers), [['write', 0xba], ['write', 0xe1, 0x08, 0x00], ['read', 0x08]]);
    assert.deepEqual(b.transfers.map((t) => t.at), [0, 20, 70]);

    b.transfers.length = 0;
    const start = b.clock.now();
    assert.deepEqual(await during(b.clock, sensor.read()), { temperature: 21.5, humidity: 45.25 });
    // 45.25 % → 0x73D71, 21.5 °C → 0x5B852 (the AHT10 datasheet's formulas inverted by hand)
    assert.deepEqual(wire(b.transfers), [['write', 0xac, 0x33, 0x00], ['read', 0x08, 0x73, 0xd7, 0x15, 0xb8, 0x52]]);
    assert.equal(b.transfers[1]!.at - start, 80, 'reads 80 ms after the trigger');
  });

  void test('decoded values match the chip within one LSB (and the 0.01 rounding) across the range', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    const sensor = b.sensor(aht10);
    await during(b.clock, sensor.init());
    for (const [temperature, humidity] of [[-40, 0], [-0.07, 12.345], [0, 100], [25.555, 33.3], [84.99, 99.99], [149.9, 0.5]] as const) {
      b.chip.set({ temperature, humidity });
      const v = await during(b.clock, sensor.read());
      assert.ok(Math.abs(v['temperature']! - temperature) <= 0.005 + 200 / 2 ** 20, `T ${temperature} → ${v['temperature']}`);
      assert.ok(Math.abs(v['humidity']! - humidity) <= 0.005 + 100 / 2 ** 20, `RH ${humidity} → ${v['humidity']}`);
    }
  });

  void test('reading before the 75 ms conversion ends gives the busy bit and the old data', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    b.chip.set({ temperature: 10, humidity: 50 });
    await b.bus.write(0x38, Uint8Array.of(0xe1, 0x08, 0x00));
    await b.bus.write(0x38, Uint8Array.of(0xac, 0x33, 0x00));
    const early = await b.bus.read(0x38, 6);
    assert.deepEqual([...early], [0x88, 0, 0, 0, 0, 0]);
    await b.clock.advance(74);
    assert.equal((await b.bus.read(0x38, 1))[0], 0x88);
    await b.clock.advance(1);
    const done = await b.bus.read(0x38, 6);
    assert.equal(done[0], 0x08);
    // 50 % → 0x80000, 10 °C → 0x4CCCD (the AHT10 datasheet's formulas inverted)
    assert.deepEqual([...done.subarray(1)], [0x80, 0x00, 0x04, 0xcc, 0xcd]);
  });

  void test('a slow chip is read again every 20 ms, up to 3 times', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    b.chip.set({ temperature: 30, humidity: 40 });
    const sensor = b.sensor(aht10);
    await during(b.clock, sensor.init());
    b.chip.conversionMs = 110;
    b.transfers.length = 0;
    const start = b.clock.now();
    assert.deepEqual(await during(b.clock, sensor.read()), { temperature: 30, humidity: 40 });
    const reads = b.transfers.filter((t) => t.op === 'read');
    assert.deepEqual(reads.map((t) => t.at - start), [80, 100, 120]);
    assert.deepEqual(reads.map((t) => (t.bytes[0]! & 0x80) !== 0), [true, true, false]);
  });

  void test('a chip still busy after 3 retries is a SensorFault', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    const sensor = b.sensor(aht10);
    await during(b.clock, sensor.init());
    b.chip.conversionMs = 1000;
    await assert.rejects(during(b.clock, sensor.read(), 500), (err: unknown) => err instanceof SensorFault && /still busy 140 ms/.test(err.message));
    assert.equal(b.transfers.filter((t) => t.op === 'read').length, 1 + 4);
  });

  void test('a chip that does not calibrate fails init with a SensorFault saying so', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    b.chip.refuseCalibration = true;
    await assert.rejects(during(b.clock, b.sensor(aht10).init()), (err: unknown) => err instanceof SensorFault && /calibrated/.test(err.message) && /status 0x00/.test(err.message));
  });

  void test('the simulated chip ignores a calibrate sent during the 20 ms soft reset', async () => {
    const b = bench((ctx) => new SimAht10(ctx), 0x38);
    await b.bus.write(0x38, Uint8Array.of(0xba));
    await b.bus.write(0x38, Uint8Array.of(0xe1, 0x08, 0x00));
    assert.equal((await b.bus.read(0x38, 1))[0], 0x80);
    await b.clock.advance(20);
    assert.equal((await b.bus.read(0x38, 1))[0], 0x00);
    await b.bus.write(0x38, Uint8Array.of(0xe1, 0x08, 0x00));
    assert.equal((await b.bus.read(0x38, 1))[0], 0x08);
  });
});

void describe('tmp102', { timeout: 30_000 }, () => {
  void test('reads the temperature register big-endian and decodes 12-bit values exactly', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x48);
    const sensor = b.sensor(tmp102);
    await during(b.clock, sensor.init());
    for (const t of [25.0625, 0, 100.5, 127.9375]) {
      b.chip.set({ temperature: t });
      assert.deepEqual(await during(b.clock, sensor.read()), { temperature: t });
    }
    b.transfers.length = 0;
    b.chip.set({ temperature: 25.0625 });
    await during(b.clock, sensor.read());
    assert.deepEqual(wire(b.transfers), [['write', 0x00], ['read', 0x19, 0x10]]);
  });

  void test('negative temperatures are two’s complement', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x49);
    const sensor = b.sensor(tmp102);
    await during(b.clock, sensor.init());
    for (const t of [-0.0625, -10.5, -25, -55]) {
      b.chip.set({ temperature: t });
      assert.deepEqual(await during(b.clock, sensor.read()), { temperature: t });
    }
    b.chip.set({ temperature: -25 });
    await during(b.clock, sensor.read());
    assert.deepEqual([...b.transfers.at(-1)!.bytes], [0xe7, 0x00]); // datasheet example: −25 °C = 0xE70
  });

  void test('values between steps decode within one LSB (0.0625 °C)', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x48);
    const sensor = b.sensor(tmp102);
    await during(b.clock, sensor.init());
    for (const t of [21.33, -7.77, 0.03]) {
      b.chip.set({ temperature: t });
      const v = (await during(b.clock, sensor.read()))['temperature']!;
      assert.ok(Math.abs(v - t) <= 0.0625 / 2, `${t} → ${v}`);
    }
  });

  void test('with the EM bit set at init the driver decodes 13-bit extended mode', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x48);
    await b.bus.write(0x48, Uint8Array.of(0x01, 0x60, 0xb0)); // config with EM = 1
    const sensor = b.sensor(tmp102);
    await during(b.clock, sensor.init());
    for (const t of [140.5, 25.125, -40]) {
      b.chip.set({ temperature: t });
      assert.deepEqual(await during(b.clock, sensor.read()), { temperature: t });
    }
  });

  void test('in 12-bit mode the chip saturates at 127.9375 °C', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x48);
    const sensor = b.sensor(tmp102);
    await during(b.clock, sensor.init());
    b.chip.set({ temperature: 140.5 });
    assert.deepEqual(await during(b.clock, sensor.read()), { temperature: 127.9375 });
  });

  void test('init rejects a chip whose configuration register no TMP102 has (an ADS1115 at 0x48)', async () => {
    const b = bench((ctx) => new SimAds1115(ctx), 0x48);
    await assert.rejects(during(b.clock, b.sensor(tmp102).init()), (err: unknown) => err instanceof SensorFault && /0x85 0x83/.test(err.message));
  });
});

void describe('emc2101', { timeout: 30_000 }, () => {
  void test('checks the IDs, then decodes internal (1 °C) and external (0.125 °C) temperatures', async () => {
    const b = bench((ctx) => new SimEmc2101(ctx), 0x4c);
    const sensor = b.sensor(emc2101);
    await during(b.clock, sensor.init());
    assert.deepEqual(wire(b.transfers), [['write', 0xfe], ['read', 0x5d], ['write', 0xfd], ['read', 0x16]]);
    for (const [temperature, external_temperature] of [[31, 45.375], [-3, -5.25], [0, -0.125], [85, 126.875], [-40, -64]] as const) {
      b.chip.set({ temperature, external_temperature });
      assert.deepEqual(await during(b.clock, sensor.read()), { temperature, external_temperature });
    }
    b.transfers.length = 0;
    b.chip.set({ temperature: -3, external_temperature: -5.25 });
    await during(b.clock, sensor.read());
    assert.deepEqual(wire(b.transfers), [['write', 0x00], ['read', 0xfd], ['write', 0x01], ['read', 0xfa], ['write', 0x10], ['read', 0xc0]]);
  });

  void test('an open or shorted external diode is a SensorFault, not 127 °C', async () => {
    const b = bench((ctx) => new SimEmc2101(ctx), 0x4c);
    const sensor = b.sensor(emc2101);
    await during(b.clock, sensor.init());
    b.chip.externalFault = 'open';
    await assert.rejects(during(b.clock, sensor.read()), (err: unknown) => err instanceof SensorFault && /open \(0x7f 0x00\)/.test(err.message));
    b.chip.externalFault = 'short';
    await assert.rejects(during(b.clock, sensor.read()), (err: unknown) => err instanceof SensorFault && /shorted \(0x7f 0xe0\)/.test(err.message));
    b.chip.externalFault = undefined;
    b.chip.set({ temperature: 20, external_temperature: 30 });
    assert.deepEqual(await during(b.clock, sensor.read()), { temperature: 20, external_temperature: 30 });
  });

  void test('init rejects a chip with other IDs', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x4c);
    await assert.rejects(during(b.clock, b.sensor(emc2101).init()), (err: unknown) => err instanceof SensorFault && /not an EMC2101/.test(err.message));
  });

  void test('the simulated chip has the fan setting 0x4C and a tach reading 0x46/0x47 that follows it', async () => {
    const b = bench((ctx) => new SimEmc2101(ctx), 0x4c);
    const tach = async (): Promise<number> => {
      await b.bus.write(0x4c, Uint8Array.of(0x46));
      const [lo = 0] = await b.bus.read(0x4c, 1);
      await b.bus.write(0x4c, Uint8Array.of(0x47));
      const [hi = 0] = await b.bus.read(0x4c, 1);
      return (hi << 8) | lo;
    };
    assert.equal(await tach(), 0xffff, 'a stopped fan reads 0xFFFF');
    await b.bus.write(0x4c, Uint8Array.of(0x4c, 63));
    assert.equal(b.chip.fanSetting, 63);
    assert.equal(await tach(), 1800); // 5 400 000 / 3000 RPM
    await b.bus.write(0x4c, Uint8Array.of(0x4c, 21));
    await b.bus.write(0x4c, Uint8Array.of(0x4c));
    assert.deepEqual([...(await b.bus.read(0x4c, 1))], [21]);
    assert.equal(await tach(), 5400); // 1000 RPM
    await b.bus.write(0x4c, Uint8Array.of(0x00, 99)); // the temperature register is read-only
    b.chip.set({ temperature: 25 });
    await b.bus.write(0x4c, Uint8Array.of(0x00));
    assert.deepEqual([...(await b.bus.read(0x4c, 1))], [25]);
  });
});

void describe('pt100_ads1115', { timeout: 30_000 }, () => {
  /** The raw count the PyMoDAQ thermal bench's divider gives at t °C, computed here independently. */
  const rawAt = (t: number, o = PT100_DEFAULTS, gain = 1): number => {
    const r = 100 * (1 + 0.00385 * t);
    return Math.round(((o.supply_v * r) / (r + o.divider_ohms) / o.supply_v) * o.counts_per_supply * gain);
  };

  void test('starts a single-shot conversion on AIN0 (config 0xC383), then reads the conversion register', async () => {
    const b = bench((ctx) => new SimAds1115(ctx), 0x48);
    const sensor = b.sensor(pt100Ads1115);
    await during(b.clock, sensor.init());
    b.chip.set({ temperature: 50 });
    b.transfers.length = 0;
    const start = b.clock.now();
    const v = await during(b.clock, sensor.read());
    assert.equal(b.chip.lastConfigWritten, 0xc383);
    const raw = rawAt(50);
    assert.deepEqual(wire(b.transfers), [['write', 0x01, 0xc3, 0x83], ['write', 0x01], ['read', 0xc3, 0x83], ['write', 0x00], ['read', raw >> 8, raw & 0xff]]);
    assert.equal(b.transfers[1]!.at - start, 10);
    assert.equal(v['temperature'], pt100Temperature(raw, PT100_DEFAULTS));
    assert.ok(Math.abs(v['temperature'] - 50) < 0.05, `50 → ${v['temperature']}`);
  });

  void test('decodes within one LSB across 0–100 °C and below zero', async () => {
    const b = bench((ctx) => new SimAds1115(ctx), 0x48);
    const sensor = b.sensor(pt100Ads1115);
    await during(b.clock, sensor.init());
    for (const t of [-20, 0, 18.4, 37.1, 63.3, 99.9]) {
      b.chip.set({ temperature: t });
      const v = (await during(b.clock, sensor.read()))['temperature']!;
      const raw = rawAt(t);
      const lsb = pt100Temperature(raw + 1, PT100_DEFAULTS) - pt100Temperature(raw, PT100_DEFAULTS);
      assert.ok(Math.abs(v - t) <= lsb + 0.005, `${t} → ${v} (LSB ${lsb.toFixed(3)} °C)`);
    }
  });

  void test('the channel option selects the MUX; other options change the formula', async () => {
    const opts = { channel: 3, divider_ohms: 1000, supply_v: 3.3, counts_per_supply: 26400 };
    const b = bench((ctx) => new SimAds1115(ctx), 0x4b, opts);
    const sensor = b.sensor(pt100Ads1115, opts);
    await during(b.clock, sensor.init());
    b.chip.set({ temperature: 42 });
    const v = await during(b.clock, sensor.read());
    assert.equal(b.chip.lastConfigWritten, 0xf383);
    assert.equal(v['temperature'], pt100Temperature(rawAt(42, opts), opts));
    assert.ok(Math.abs(v['temperature'] - 42) < 0.2);
  });

  void test('a PT-100 on another input reads 0 V: SensorFault', async () => {
    const b = bench((ctx) => new SimAds1115(ctx), 0x48, { channel: 0 });
    const sensor = b.sensor(pt100Ads1115, { channel: 1 });
    await during(b.clock, sensor.init());
    await assert.rejects(during(b.clock, sensor.read()), (err: unknown) => err instanceof SensorFault && /short circuit/.test(err.message));
  });

  void test('an open PT-100 puts the supply on the input: SensorFault "open circuit?"', async () => {
    const b = bench((ctx) => new SimAds1115(ctx), 0x48);
    const sensor = b.sensor(pt100Ads1115);
    await during(b.clock, sensor.init());
    b.chip.set({ open: true });
    await assert.rejects(during(b.clock, sensor.read()), (err: unknown) => err instanceof SensorFault && /open circuit\?/.test(err.message));
  });

  void test('the simulated ADS1115 holds OS low for one conversion time and only then updates the result', async () => {
    const b = bench((ctx) => new SimAds1115(ctx), 0x48);
    b.chip.set({ temperature: 20 });
    const word = async (reg: number): Promise<number> => {
      await b.bus.write(0x48, Uint8Array.of(reg));
      const [hi = 0, lo = 0] = await b.bus.read(0x48, 2);
      return (hi << 8) | lo;
    };
    assert.equal(await word(0x01), 0x8583, 'power-up config');
    await b.bus.write(0x48, Uint8Array.of(0x01, 0xc3, 0x83));
    assert.equal(await word(0x01), 0x4383, 'OS = 0 while converting');
    assert.equal(await word(0x00), 0, 'the old result until the conversion ends');
    await b.clock.advance(7);
    assert.equal((await word(0x01)) & 0x8000, 0);
    await b.clock.advance(1); // 1/128 s = 7.8 ms
    assert.equal(await word(0x01), 0xc383);
    assert.equal(await word(0x00), rawAt(20));
    // Same input at PGA ±2.048 V (0xC583): twice the counts.
    await b.bus.write(0x48, Uint8Array.of(0x01, 0xc5, 0x83));
    await b.clock.advance(8);
    assert.equal(await word(0x00), rawAt(20, PT100_DEFAULTS, 2));
  });
});

void describe('chip_temp', { timeout: 30_000 }, () => {
  void test('decodes the RP2040 internal channel within one 12-bit step', async () => {
    const clock = new ManualClock();
    const adc = new SimAdc([26, 27, 28], 3.3, new SimEnvironment(1, clock));
    const sensor = chipTemp.create({ bus: undefined, address: undefined, adc, hardware: {}, clock, options: {} });
    await sensor.init();
    for (const t of [27, 35.5, -10, 70]) {
      adc.setChipTemperature(t);
      const raw = adc.readInternalTempU16!();
      const expected = Math.round((27 - ((raw * 3.3) / 65535 - 0.706) / 0.001721) * 100) / 100;
      const v = (await sensor.read())['temperature']!;
      assert.equal(v, expected);
      assert.ok(Math.abs(v - t) <= 3.3 / 4095 / 0.001721, `${t} → ${v}`);
    }
  });

  void test('an ADC without an internal channel fails init with a clear Error', async () => {
    const sensor = chipTemp.create({ bus: undefined, address: undefined, adc: noAdc, hardware: {}, clock: new ManualClock(), options: {} });
    await assert.rejects(sensor.init(), /no internal temperature channel/);
    await assert.rejects(sensor.read(), /no internal temperature channel/);
    const simNoChannel = new SimAdc([26], 3.3, new SimEnvironment(1, new ManualClock()), { internalChannel: false });
    assert.equal(simNoChannel.readInternalTempU16, undefined);
  });

  void test('a reading no RP2040 gives is a SensorFault', async () => {
    const adc = { pins: [], vref: 3.3, readU16: () => 0, readInternalTempU16: () => 0 };
    const sensor = chipTemp.create({ bus: undefined, address: undefined, adc, hardware: {}, clock: new ManualClock(), options: {} });
    await assert.rejects(sensor.read(), SensorFault);
  });
});

void describe('missing and unplugged chips', { timeout: 30_000 }, () => {
  void test('a driver on an empty address gets a BusError naming the address and bus', async () => {
    const clock = new ManualClock();
    const bus = new SimI2cBus(0);
    const sensor = aht10.create({ bus, address: 0x38, adc: noAdc, hardware: {}, clock, options: {} });
    await assert.rejects(during(clock, sensor.init()), (err: unknown) => {
      assert.ok(err instanceof BusError);
      assert.equal(err.message, 'no device answers at 0x38 on I2C bus 0 — check the wiring and the pull-ups');
      assert.equal(err.address, 0x38);
      assert.equal(err.bus, 0);
      return true;
    });
  });

  void test('unplugging a chip at runtime turns reads into BusErrors; plugging it back restores them', async () => {
    const b = bench((ctx) => new SimTmp102(ctx), 0x4a);
    const sensor = b.sensor(tmp102);
    await during(b.clock, sensor.init());
    b.chip.set({ temperature: 22.25 });
    assert.deepEqual(await during(b.clock, sensor.read()), { temperature: 22.25 });
    assert.equal(b.bus.detach(0x4a), b.chip);
    assert.deepEqual(await b.bus.scan(), []);
    await assert.rejects(during(b.clock, sensor.read()), (err: unknown) => err instanceof BusError && err.address === 0x4a && /0x4a on I2C bus 0/.test(err.message));
    b.bus.attach(b.chip);
    assert.deepEqual(await during(b.clock, sensor.read()), { temperature: 22.25 });
  });
});

void describe('actuators', { timeout: 30_000 }, () => {
  void test('digital: logical 1 is on; init puts the pin out at the safe level', () => {
    const gpio = new SimGpio(30);
    const pwmHw = new SimPwm(30);
    const a = digital.create({ pin: 5, gpio, pwm: pwmHw, options: digital.optionsSchema.parse({}) });
    a.init(0);
    assert.equal(a.kind, 'digital');
    assert.equal(gpio.mode(5), 'output');
    assert.equal(gpio.level(5), 0);
    a.apply(1);
    assert.equal(gpio.level(5), 1);
    assert.equal(a.current(), 1);
    a.apply(0);
    assert.equal(gpio.level(5), 0);
    assert.equal(a.current(), 0);
  });

  void test('digital active_low inverts the physical level, not the logical one', () => {
    const gpio = new SimGpio(30);
    const a = digital.create({ pin: 6, gpio, pwm: new SimPwm(30), options: digital.optionsSchema.parse({ active_low: true }) });
    a.init(0);
    assert.equal(gpio.level(6), 1, 'off = high for an active-low relay');
    assert.equal(a.current(), 0);
    a.apply(1);
    assert.equal(gpio.level(6), 0);
    assert.equal(a.current(), 1);
    const b = digital.create({ pin: 7, gpio, pwm: new SimPwm(30), options: { active_low: true, drive: 'push_pull' } });
    b.init(1);
    assert.equal(gpio.level(7), 0);
    assert.equal(b.current(), 1);
  });

  void test('digital rejects values other than 0 and 1 and keeps its state', () => {
    const gpio = new SimGpio(30);
    const a = digital.create({ pin: 5, gpio, pwm: new SimPwm(30), options: { active_low: false, drive: 'push_pull' } });
    a.init(1);
    assert.throws(() => a.apply(0.5), RangeError);
    assert.equal(a.current(), 1);
    assert.equal(gpio.level(5), 1);
  });

  void test('pwm records frequency and duty; a write may change the frequency, which then stays', () => {
    const pwmHw = new SimPwm(30);
    const a = pwm.create({ pin: 12, gpio: new SimGpio(30), pwm: pwmHw, options: pwm.optionsSchema.parse({ freq: 2000 }) });
    assert.ok(isPwmActuator(a));
    assert.equal(pwmHw.channel(12), undefined);
    a.init(0);
    assert.deepEqual(pwmHw.channel(12), { freq: 2000, duty: 0 });
    a.apply(0.25);
    assert.deepEqual(pwmHw.channel(12), { freq: 2000, duty: 0.25 });
    a.apply(0.5, 25_000);
    assert.deepEqual(pwmHw.channel(12), { freq: 25_000, duty: 0.5 });
    a.apply(0.75);
    assert.deepEqual(pwmHw.channel(12), { freq: 25_000, duty: 0.75 });
    assert.equal(a.current(), 0.75);
    assert.equal(a.frequency(), 25_000);
    assert.throws(() => a.apply(1.5), RangeError);
    assert.throws(() => a.apply(0.5, 0), RangeError);
    assert.deepEqual(pwmHw.channel(12), { freq: 25_000, duty: 0.75 });
    assert.equal(a.current(), 0.75);
    assert.equal(isPwmActuator(digital.create({ pin: 1, gpio: new SimGpio(30), pwm: pwmHw, options: { active_low: false, drive: 'push_pull' } })), false);
  });
});
