// Shared helpers for the driver and simulator tests.
import { ManualClock } from '../../src/common/clock.js';
import type { Sensor, SensorDriver } from '../../src/device/drivers/types.js';
import type { Adc } from '../../src/device/hal/types.js';
import { SimEnvironment } from '../../src/device/sim/environment.js';
import { SimI2cBus, type SimChipContext, type SimI2cChip, type SimTransfer } from '../../src/device/sim/sim-i2c.js';

/** An ADC with no pins and no internal channel, for I2C drivers that never touch it. */
export const noAdc: Adc = {
  pins: [],
  vref: 3.3,
  readU16: () => {
    throw new Error('this test ADC has no pins');
  },
};

/**
 * Runs `promise` while the manual clock moves `ms` forward, so that a driver's clock.sleep()
 * calls resolve; returns its value or rethrows its error. A handler is attached at once, so a
 * rejection is never reported as unhandled while time advances.
 */
export async function during<T>(clock: ManualClock, promise: Promise<T>, ms = 1000): Promise<T> {
  let result: PromiseSettledResult<T> | undefined;
  const settled = promise.then(
    (value) => void (result = { status: 'fulfilled', value }),
    (reason: unknown) => void (result = { status: 'rejected', reason }),
  );
  await new Promise<void>((resolve) => setImmediate(resolve)); // let it reach its first sleep
  await clock.advance(ms);
  await Promise.race([settled, new Promise<void>((resolve) => setImmediate(resolve))]);
  if (result === undefined) throw new Error(`still pending after ${ms} ms of clock time`);
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

export interface Bench<C extends SimI2cChip> {
  clock: ManualClock;
  environment: SimEnvironment;
  bus: SimI2cBus;
  chip: C;
  /** Every acknowledged transfer, with the clock time it happened at. */
  transfers: Array<SimTransfer & { at: number }>;
  /** The driver's sensor on this bus at the chip's address, with options parsed by its schema. */
  sensor(driver: SensorDriver, options?: Record<string, unknown>): Sensor;
}

/** One simulated chip on bus 0, with a fresh ManualClock. */
export function bench<C extends SimI2cChip>(make: (ctx: SimChipContext) => C, address: number, options: unknown = {}): Bench<C> {
  const clock = new ManualClock();
  const environment = new SimEnvironment(1, clock);
  const bus = new SimI2cBus(0);
  const chip = make({ address, clock, environment, key: 'bench', options });
  bus.attach(chip);
  const transfers: Bench<C>['transfers'] = [];
  bus.onTransfer = (t) => transfers.push({ ...t, at: clock.now() });
  return {
    clock,
    environment,
    bus,
    chip,
    transfers,
    sensor: (driver, opts = {}) => driver.create({ bus, address, adc: noAdc, hardware: {}, clock, options: driver.optionsSchema.parse(opts) }),
  };
}

/** Transfers as [op, bytes...] arrays, to compare with deepEqual. */
export function wire(transfers: readonly SimTransfer[]): Array<[string, ...number[]]> {
  return transfers.map((t) => [t.op, ...t.bytes]);
}
