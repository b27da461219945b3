// LinuxI2cBus over the fake kernel's /dev/i2c-1: the real sensor drivers talking to the
// simulator's chips through I2C_RDWR, register reads as one combined transaction, both pointer
// layouts (64-bit, and 32-bit as on armhf), scan probes, and the errors a user can act on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/common/clock.js';
import * as uapi from '../../../src/device/backends/linux/i2c-uapi.js';
import { LinuxI2cBus } from '../../../src/device/backends/linux/i2c.js';
import { SENSOR_DRIVERS } from '../../../src/device/drivers/sensors/index.js';
import type { SensorDriver } from '../../../src/device/drivers/types.js';
import { BusError } from '../../../src/device/hal/types.js';
import { SimAht10 } from '../../../src/device/sim/chips/aht10.js';
import { SimTmp102 } from '../../../src/device/sim/chips/tmp102.js';
import { SimEnvironment } from '../../../src/device/sim/environment.js';
import { FakeKernel, type I2cDevice } from '../../support/fake-kernel.js';
import type { FakeI2cAdapterOptions } from '../../support/fake-i2c-adapter.js';
import { during, noAdc } from '../sim-support.js';

function rig(options: FakeI2cAdapterOptions & { pointerSize?: uapi.PointerSize } = {}) {
  const clock = new ManualClock();
  const kernel = new FakeKernel({ clock, ...(options.pointerSize !== undefined ? { pointerSize: options.pointerSize } : {}) });
  const adapter = kernel.addI2cAdapter(1, options);
  const bus = new LinuxI2cBus({ kernel, bus: 1, devRoot: kernel.devRoot, ...(options.pointerSize !== undefined ? { pointerSize: options.pointerSize } : {}) });
  const environment = new SimEnvironment(1, clock);
  const chipContext = (address: number) => ({ address, clock, environment, key: `i2c1:0x${address.toString(16)}`, options: {} });
  return { clock, kernel, adapter, bus, chipContext };
}

function driver(id: string): SensorDriver {
  const d = SENSOR_DRIVERS[id];
  assert.ok(d, id);
  return d;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('expected a rejection');
}

const blank: I2cDevice = { write() {}, read: (n) => new Uint8Array(n) };

for (const pointerSize of [8, 4] as const) {
  void describe(`LinuxI2cBus with ${pointerSize * 8}-bit pointers: real drivers on simulated chips`, { timeout: 30_000 }, () => {
    void test('the AHT10 driver initialises and reads through I2C_RDWR', async () => {
      const { clock, adapter, bus, chipContext } = rig({ pointerSize });
      const chip = new SimAht10(chipContext(0x38));
      chip.set({ temperature: 21.5, humidity: 40 });
      adapter.attach(0x38, chip);
      const sensor = driver('aht10').create({ bus, address: 0x38, adc: noAdc, hardware: {}, clock, options: {} });
      await during(clock, sensor.init());
      assert.equal(chip.isCalibrated, true);
      const values = await during(clock, sensor.read());
      assert.ok(Math.abs((values['temperature'] ?? NaN) - 21.5) < 0.01, `temperature ${values['temperature']}`);
      assert.ok(Math.abs((values['humidity'] ?? NaN) - 40) < 0.01, `humidity ${values['humidity']}`);
      assert.deepEqual(Array.from(adapter.transfers[0]?.messages[0]?.bytes ?? []), [0xba], 'the soft reset went out first');
    });

    void test('the TMP102 driver reads the temperature the chip holds', async () => {
      const { clock, adapter, bus, chipContext } = rig({ pointerSize });
      const chip = new SimTmp102(chipContext(0x48));
      chip.set({ temperature: 25.0625 });
      adapter.attach(0x48, chip);
      const sensor = driver('tmp102').create({ bus, address: 0x48, adc: noAdc, hardware: {}, clock, options: {} });
      await during(clock, sensor.init());
      assert.deepEqual(await during(clock, sensor.read()), { temperature: 25.0625 });
    });

    void test('writeRead is one I2C_RDWR with two messages to the same address, the second a read: a repeated start', async () => {
      const { kernel, adapter, bus, chipContext } = rig({ pointerSize });
      adapter.attach(0x48, new SimTmp102(chipContext(0x48)));
      const config = await bus.writeRead(0x48, Uint8Array.of(0x01), 2);
      assert.deepEqual(Array.from(config), [0x60, 0xa0]);
      const rdwr = kernel.ioctls.filter((c) => c.request === uapi.I2C_RDWR);
      assert.equal(rdwr.length, 1);
      const sent = rdwr[0]?.sent as Buffer;
      assert.equal(sent.length, pointerSize === 8 ? 16 : 8, 'sizeof(struct i2c_rdwr_ioctl_data)');
      assert.equal(sent.readUInt32LE(pointerSize), 2, 'nmsgs');
      assert.deepEqual(adapter.attempts, [
        [
          { addr: 0x48, flags: 0, len: 1 },
          { addr: 0x48, flags: uapi.I2C_M_RD, len: 2 },
        ],
      ]);
      assert.deepEqual(
        adapter.transfers[0]?.messages.map((m) => [m.addr, m.flags, Array.from(m.bytes)]),
        [
          [0x48, 0, [0x01]],
          [0x48, 1, [0x60, 0xa0]],
        ],
      );
    });
  });
}

void describe('i2c_msg and i2c_rdwr_ioctl_data layouts', { timeout: 30_000 }, () => {
  void test('LP64 (x86-64, arm64) and ILP32 (armhf): the pointer moves the sizes, not buf\'s offset', () => {
    assert.deepEqual({ ...uapi.i2cMsgLayout(8) }, { addr: 0, flags: 2, len: 4, buf: 8, size: 16, align: 8 });
    assert.deepEqual({ ...uapi.i2cMsgLayout(4) }, { addr: 0, flags: 2, len: 4, buf: 8, size: 12, align: 4 });
    assert.deepEqual({ ...uapi.rdwrDataLayout(8) }, { msgs: 0, nmsgs: 8, size: 16, align: 8 });
    assert.deepEqual({ ...uapi.rdwrDataLayout(4) }, { msgs: 0, nmsgs: 4, size: 8, align: 4 });
    assert.equal(uapi.pointerSizeFor('arm'), 4);
    assert.equal(uapi.pointerSizeFor('arm64'), 8);
    assert.equal(uapi.pointerSizeFor('x64'), 8);
  });
});

void describe('LinuxI2cBus: scan', { timeout: 30_000 }, () => {
  void test('probes 0x03–0x77 once each: an empty write, but a one-byte read where EEPROMs live', async () => {
    const { adapter, bus } = rig();
    for (const a of [0x38, 0x48, 0x50]) adapter.attach(a, blank);
    assert.deepEqual(await bus.scan(), [0x38, 0x48, 0x50]);
    const probes = adapter.attempts.map((m) => m[0]);
    assert.equal(probes.length, 0x77 - 0x03 + 1);
    assert.deepEqual(
      probes.map((p) => p?.addr),
      Array.from({ length: 0x77 - 0x03 + 1 }, (_, i) => i + 0x03),
    );
    const kind = (addr: number) => {
      const p = probes.find((q) => q?.addr === addr);
      return p?.flags === uapi.I2C_M_RD && p.len === 1 ? 'read' : p?.flags === 0 && p.len === 0 ? 'empty write' : 'other';
    };
    assert.deepEqual([0x03, 0x2f, 0x30, 0x37, 0x38, 0x48, 0x4f, 0x50, 0x5f, 0x60, 0x77].map(kind), [
      'empty write',
      'empty write',
      'read',
      'read',
      'empty write',
      'empty write',
      'empty write',
      'read',
      'read',
      'empty write',
      'empty write',
    ]);
  });

  void test('an adapter without SMBus quick (the Pi 5\'s) is probed with reads only', async () => {
    const { adapter, bus } = rig({ funcs: uapi.I2C_FUNC_I2C });
    adapter.attach(0x40, blank);
    assert.deepEqual(await bus.scan(), [0x40]);
    assert.ok(adapter.attempts.every((m) => m[0]?.flags === uapi.I2C_M_RD && m[0].len === 1));
  });

  void test('an adapter that refuses empty messages is probed with reads from then on', async () => {
    const { adapter, bus } = rig({ noZeroLength: true });
    adapter.attach(0x03, blank);
    adapter.attach(0x40, blank);
    assert.deepEqual(await bus.scan(), [0x03, 0x40]);
    assert.deepEqual(adapter.attempts[0], [{ addr: 0x03, flags: 0, len: 0 }]);
    assert.ok(adapter.attempts.slice(1).every((m) => m[0]?.flags === uapi.I2C_M_RD));
    assert.equal(adapter.attempts.length, 0x77 - 0x03 + 2);
  });

  void test('a stuck bus stops the scan with a BusError', async () => {
    const { adapter, bus } = rig();
    adapter.failWith = 'ETIMEDOUT';
    const err = await rejection(bus.scan());
    assert.ok(err instanceof BusError);
    assert.match(err.message, /^I2C bus 1 timed out scanning 0x03 — something holds SDA or SCL low/);
  });
});

void describe('LinuxI2cBus: errors a user can act on', { timeout: 30_000 }, () => {
  for (const nack of ['ENXIO', 'EREMOTEIO'] as const) {
    void test(`no device at the address (${nack}): the sim bus's wording, with bus and address`, async () => {
      const { bus } = rig({ nack });
      const err = await rejection(bus.read(0x49, 2));
      assert.ok(err instanceof BusError);
      assert.equal(err.message, 'no device answers at 0x49 on I2C bus 1 — check the wiring and the pull-ups');
      assert.equal(err.bus, 1);
      assert.equal(err.address, 0x49);
      assert.equal((await rejection(bus.writeRead(0x49, Uint8Array.of(0), 1))).message, err.message);
    });
  }

  void test('a timeout and a lost arbitration say what is wrong with the bus', async () => {
    const { adapter, bus } = rig();
    adapter.attach(0x48, blank);
    adapter.failWith = 'ETIMEDOUT';
    assert.equal((await rejection(bus.write(0x48, Uint8Array.of(1)))).message, 'I2C bus 1 timed out writing 0x48 — something holds SDA or SCL low; check the wiring, or power-cycle the device');
    adapter.failWith = 'EAGAIN';
    assert.match((await rejection(bus.read(0x48, 1))).message, /^I2C bus 1 lost arbitration reading 0x48/);
  });

  void test('a missing /dev/i2c-1 says how to turn I2C on', async () => {
    const kernel = new FakeKernel({ clock: new ManualClock() });
    const bus = new LinuxI2cBus({ kernel, bus: 1 });
    const err = await rejection(bus.read(0x48, 2));
    assert.ok(err instanceof BusError);
    assert.equal(
      err.message,
      '/dev/i2c-1 does not exist: I2C bus 1 is not enabled — turn I2C on with sudo raspi-config nonint do_i2c 0, or add dtparam=i2c_arm=on to /boot/firmware/config.txt (and i2c-dev to /etc/modules), then reboot',
    );
    assert.throws(() => new LinuxI2cBus({ kernel, bus: 3 }).open(), /\/dev\/i2c-3 does not exist: I2C bus 3 is not enabled — add dtoverlay=i2c3 to \/boot\/firmware\/config\.txt \(and i2c-dev to \/etc\/modules\), then reboot/);
  });

  void test('a /dev/i2c-1 the user may not open names the i2c group', async () => {
    const { kernel, bus } = rig();
    kernel.deny('/dev/i2c-1');
    assert.equal((await rejection(bus.read(0x48, 2))).message, 'cannot open /dev/i2c-1: permission denied — add your user to the i2c group (sudo usermod -aG i2c $USER), then log out and in again');
  });

  void test('an SMBus-only adapter is refused when opened', () => {
    const { kernel, bus } = rig({ funcs: 0x00020000 });
    assert.throws(() => bus.open(), /I2C bus 1 \(\/dev\/i2c-1\) can do only SMBus transfers/);
    assert.equal(kernel.openFdCount, 0);
  });

  void test('bad arguments are RangeErrors before anything goes on the bus; close() closes the adapter', async () => {
    const { kernel, adapter, bus } = rig();
    adapter.attach(0x48, blank);
    await assert.rejects(bus.read(0x48, 0), RangeError);
    await assert.rejects(bus.read(0x80, 1), RangeError);
    await assert.rejects(bus.writeRead(0x48, new Uint8Array(0), 1), RangeError);
    assert.equal(adapter.attempts.length, 0);
    await bus.write(0x48, Uint8Array.of(1, 2));
    assert.equal(kernel.openFdCount, 1);
    bus.close();
    assert.equal(kernel.openFdCount, 0);
  });
});
