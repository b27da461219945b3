// The sensors on a data pin of their own (ds18b20, dht22) and chip_temp's fallback to the
// backend's processor temperature: over stubs, over the Linux backend's prepared sysfs, and
// through a Board on the simulator with the firmware docs' example config.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { openHardware } from '../../src/device/backends/index.js';
import { IioDht } from '../../src/device/backends/linux/iio-dht.js';
import { LinuxOneWire, romFromW1Name } from '../../src/device/backends/linux/onewire.js';
import { Board } from '../../src/device/board.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { chipTemp } from '../../src/device/drivers/sensors/chip-temp.js';
import { dht22 } from '../../src/device/drivers/sensors/dht22.js';
import { ds18b20 } from '../../src/device/drivers/sensors/ds18b20.js';
import { SENSOR_DRIVERS } from '../../src/device/drivers/sensors/index.js';
import { romFromParts } from '../../src/device/drivers/sensors/onewire-rom.js';
import { SensorFault, type SensorContext, type SensorDriver } from '../../src/device/drivers/types.js';
import type { DhtSensors, OneWire } from '../../src/device/hal/types.js';
import { silentLogger } from '../../src/device/logger.js';
import type { SimHardware } from '../../src/device/sim/sim-hardware.js';
import { tempRoots, withClock, writeTree, type TempRoots } from './linux/fake-sysfs.js';
import { noAdc } from './sim-support.js';

const ROOT = new URL('../../../', import.meta.url);
const P1 = romFromParts(0x28, [1, 2, 3, 4, 5, 6]);
const P2 = romFromParts(0x28, [6, 5, 4, 3, 2, 1]);

function sensor(driver: SensorDriver, options: unknown, hardware: SensorContext<unknown>['hardware'], clock = new ManualClock()) {
  return driver.create({ bus: undefined, address: undefined, adc: noAdc, hardware, clock, options: driver.optionsSchema.parse(options) });
}

function stubOneWire(roms: Record<number, string[]>, celsius = 21.5): OneWire & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    scan: (pin) => Promise.resolve(roms[pin] ?? []),
    readCelsius: (pin, rom) => {
      reads.push(`${pin}:${rom}`);
      return Promise.resolve(celsius);
    },
  };
}

void describe('ds18b20', { timeout: 30_000 }, () => {
  void test('is registered for the pin bus with options pin and rom', () => {
    assert.equal(SENSOR_DRIVERS['ds18b20'], ds18b20);
    assert.equal(ds18b20.bus, 'pin');
    assert.deepEqual(ds18b20.quantities, { temperature: '°C' });
    assert.throws(() => ds18b20.optionsSchema.parse({}), /options\.pin is required/);
    assert.throws(() => ds18b20.optionsSchema.parse({ pin: 4, rom: '28-0000075c1a2b' }), /16 hex digits/);
    assert.throws(() => ds18b20.optionsSchema.parse({ pin: 4, extra: 1 }), /extra/);
    assert.deepEqual(ds18b20.optionsSchema.parse({ pin: 4, rom: P1.toUpperCase() }), { pin: 4, rom: P1 });
  });

  void test('one probe on the pin and no rom: it is used', async () => {
    const ow = stubOneWire({ 4: [P1] });
    const s = sensor(ds18b20, { pin: 4 }, { oneWire: ow });
    await s.init();
    assert.deepEqual(await s.read(), { temperature: 21.5 });
    assert.deepEqual(ow.reads, [`4:${P1}`]);
  });

  void test('several probes need options.rom; the rom chooses one; a rom not on the bus or an empty bus is a SensorFault', async () => {
    const ow = stubOneWire({ 4: [P1, P2] });
    await assert.rejects(sensor(ds18b20, { pin: 4 }, { oneWire: ow }).init(), (err: unknown) => err instanceof SensorFault && err.message === `2 DS18B20s answer on pin 4 (${P1}, ${P2}); choose one with options.rom`);
    const chosen = sensor(ds18b20, { pin: 4, rom: P2 }, { oneWire: ow });
    await chosen.init();
    await chosen.read();
    assert.deepEqual(ow.reads, [`4:${P2}`]);
    const absent = romFromParts(0x28, [9, 9, 9, 9, 9, 9]);
    await assert.rejects(sensor(ds18b20, { pin: 4, rom: absent }, { oneWire: ow }).init(), new RegExp(`no DS18B20 with ROM ${absent} on pin 4; found ${P1}, ${P2}`));
    await assert.rejects(sensor(ds18b20, { pin: 5 }, { oneWire: ow }).init(), /no DS18B20 answers on pin 5; check the wiring, the 3\.3 V supply and the 4\.7 kΩ pull-up/);
    await assert.rejects(sensor(ds18b20, { pin: 4 }, {}).init(), /this board has no 1-Wire access/);
  });

  void describe('over the Linux backend', () => {
    let roots: TempRoots;
    beforeEach(() => (roots = tempRoots()));
    afterEach(() => roots.cleanup());

    void test('finds the probe under /sys/bus/w1/devices and reads its temperature', async () => {
      writeTree(join(roots.sys, 'bus/w1/devices'), { '28-0000075c1a2b': { temperature: '19875\n' } });
      const s = sensor(ds18b20, { pin: 4 }, { oneWire: new LinuxOneWire({ roots }) });
      await s.init();
      assert.deepEqual(await s.read(), { temperature: 19.875 });
      assert.equal(romFromW1Name('28-0000075c1a2b'), '282b1a5c07000021');
    });
  });
});

void describe('dht22', { timeout: 30_000 }, () => {
  function stubDht(values: Array<{ temperature: number; humidity: number }>): DhtSensors & { calls: number } {
    const d = {
      calls: 0,
      read: () => {
        const v = values[Math.min(d.calls, values.length - 1)]!;
        d.calls++;
        return Promise.resolve({ ...v });
      },
    };
    return d;
  }

  void test('is registered for the pin bus; reads temperature and humidity rounded to 0.1', async () => {
    assert.equal(SENSOR_DRIVERS['dht22'], dht22);
    assert.equal(dht22.bus, 'pin');
    assert.deepEqual(dht22.quantities, { temperature: '°C', humidity: '%' });
    const s = sensor(dht22, { pin: 17 }, { dht: stubDht([{ temperature: 21.349, humidity: 45.65 }]) });
    await s.init();
    assert.deepEqual(await s.read(), { temperature: 21.3, humidity: 45.7 });
  });

  void test('is not read more often than every 2 s: a sooner read returns the last reading', async () => {
    const clock = new ManualClock();
    const dht = stubDht([
      { temperature: 20, humidity: 40 },
      { temperature: 21, humidity: 41 },
    ]);
    const s = sensor(dht22, { pin: 17 }, { dht }, clock);
    await s.init();
    assert.equal(dht.calls, 1);
    await clock.advance(1999);
    assert.deepEqual(await s.read(), { temperature: 20, humidity: 40 });
    assert.equal(dht.calls, 1);
    await clock.advance(1);
    assert.deepEqual(await s.read(), { temperature: 21, humidity: 41 });
    assert.equal(dht.calls, 2);
  });

  void test('a reading outside the chip’s range is a SensorFault naming the pin; no DHT access is an Error', async () => {
    const s = sensor(dht22, { pin: 17 }, { dht: stubDht([{ temperature: 120, humidity: 50 }]) });
    await assert.rejects(s.read(), (err: unknown) => err instanceof SensorFault && /the DHT22 on pin 17 reports 120 °C, 50 %/.test(err.message));
    await assert.rejects(sensor(dht22, { pin: 17 }, {}).init(), /this board has no DHT access/);
  });

  void describe('over the Linux backend', () => {
    let roots: TempRoots;
    beforeEach(() => (roots = tempRoots()));
    afterEach(() => roots.cleanup());

    void test('reads the dht11 IIO device on its GPIO', async () => {
      writeTree(join(roots.sys, 'bus/iio/devices/iio:device0'), { name: 'dht11@4\n', in_temp_input: '22500\n', in_humidityrelative_input: '41000\n' });
      const clock = new ManualClock();
      const s = sensor(dht22, { pin: 4 }, { dht: new IioDht({ roots, clock }) }, clock);
      await s.init();
      assert.deepEqual(await s.read(), { temperature: 22.5, humidity: 41 });
    });
  });
});

void describe('chip_temp on a board whose ADC has no internal channel', { timeout: 30_000 }, () => {
  test('reads the backend’s processor temperature instead', async () => {
    const s = sensor(chipTemp, {}, { cpuTemperature: () => Promise.resolve(47.234) });
    await s.init();
    assert.deepEqual(await s.read(), { temperature: 47.23 });
    await assert.rejects(sensor(chipTemp, {}, { cpuTemperature: () => Promise.resolve(400) }).read(), (err: unknown) => err instanceof SensorFault);
    await assert.rejects(sensor(chipTemp, {}, {}).init(), /no internal temperature channel .* and the board reports no processor temperature/);
  });
});

void describe('the firmware docs’ example config on the simulator', { timeout: 60_000 }, () => {
  const fixture = readFileSync(new URL('test/fixtures/firmware-greenhouse.json', ROOT), 'utf8');

  test('the fixture is the example in docs/firmware.md, word for word', () => {
    assert.ok(readFileSync(new URL('docs/firmware.md', ROOT), 'utf8').includes(fixture.trim()), 'docs/firmware.md no longer holds test/fixtures/firmware-greenhouse.json; copy the example again');
  });

  async function start(raw: unknown) {
    const clock = new ManualClock();
    const config = parseBoardConfig(raw, 'firmware-greenhouse.json');
    const hardware = (await openHardware(config, { sim: true, clock })) as SimHardware;
    const board = new Board(config, hardware, clock, silentLogger);
    await withClock(clock, board.start(), 5000, 50);
    return { clock, hardware, board };
  }

  void test('its ds18b20 (and a dht22 added to it) read through a Board on the sim backend', async () => {
    const raw = JSON.parse(fixture) as { sensors: unknown[] };
    raw.sensors.push({ name: 'greenhouse_air', driver: 'dht22', options: { pin: 17 } });
    const { clock, hardware, board } = await start(raw);
    try {
      const soil = await withClock(clock, board.readSensor('soil'), 2000, 50);
      assert.deepEqual(soil.units, { temperature: '°C' });
      const t = soil.values['temperature']!;
      assert.ok(t >= 18 && t <= 26, `soil ${t} °C`);
      assert.equal(t * 16, Math.round(t * 16), 'in the DS18B20’s 1/16 °C steps');
      const [rom] = await hardware.oneWire.scan(22);
      hardware.oneWire.setTemperature(rom!, 31.3);
      assert.deepEqual((await withClock(clock, board.readSensor('soil'), 2000, 50)).values, { temperature: 31.3125 });

      const air = await board.readSensor('greenhouse_air');
      assert.deepEqual(air.units, { temperature: '°C', humidity: '%' });
      assert.ok(air.values['humidity']! >= 30 && air.values['humidity']! <= 60, `humidity ${air.values['humidity']}`);
      assert.deepEqual((await board.readSensor('greenhouse_air')).values, air.values, 'read again within 2 s: the same reading');
      assert.ok((await withClock(clock, board.readSensor('air'), 2000, 50)).values['temperature'] !== undefined);

      hardware.oneWire.unplug(rom!);
      await assert.rejects(withClock(clock, board.readSensor('soil'), 2000, 50), /ds18b20: no DS18B20 .* answers on pin 22/);
    } finally {
      board.close();
      hardware.close();
    }
  });

  void test('two probes on one pin need options.rom, as on the real bus', async () => {
    const base = JSON.parse(fixture) as { sensors: Array<Record<string, unknown>> };
    base.sensors.push({ name: 'soil2', driver: 'ds18b20', options: { pin: 22 } });
    // The config says so before anything starts: a shared 1-Wire bus needs each probe's ROM.
    await assert.rejects(start(base), /sensors\[1\]\.options\.rom: 2 DS18B20s share the 1-Wire bus on pin 22: give each its rom/);
    base.sensors[1] = { name: 'soil', driver: 'ds18b20', options: { pin: 22, rom: P1 } };
    base.sensors[2] = { name: 'soil2', driver: 'ds18b20', options: { pin: 22, rom: P2 } };
    const { clock, hardware, board } = await start(base);
    try {
      hardware.oneWire.setTemperature(P1, 10);
      hardware.oneWire.setTemperature(P2, 12.5);
      assert.deepEqual((await withClock(clock, board.readSensor('soil'), 2000, 50)).values, { temperature: 10 });
      assert.deepEqual((await withClock(clock, board.readSensor('soil2'), 2000, 50)).values, { temperature: 12.5 });
    } finally {
      board.close();
      hardware.close();
    }
  });
});
