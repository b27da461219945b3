// Starts a simulated board in this process on a loopback port, with a clock the test moves.
import { ManualClock, SystemClock } from '../../src/common/clock.js';
import { parseBoardConfig, type BoardConfig } from '../../src/device/config.js';
import { startDevice, type RunningDevice } from '../../src/device/runtime.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';

export interface SimDevice {
  device: RunningDevice;
  hardware: SimHardware;
  clock: ManualClock;
  port: number;
  close(): Promise<void>;
}

export async function startSimDevice(rawConfig: unknown, clock: ManualClock = new ManualClock()): Promise<SimDevice> {
  const config = parseBoardConfig(rawConfig);
  const hardware = createSimHardware(config, clock);
  const device = await whileAdvancing(clock, startDevice({ config, hardware, clock, host: '127.0.0.1', port: 0 }));
  return { device, hardware, clock, port: device.port, close: () => device.close() };
}

export interface RealTimeSim {
  device: RunningDevice;
  hardware: SimHardware;
  /** Closes the board once; later calls do nothing. */
  close: () => Promise<void>;
}

/** A simulated board on the system clock, for tests where other processes' time matters too. */
export async function startRealTimeSim(config: Readonly<BoardConfig>): Promise<RealTimeSim> {
  const clock = new SystemClock();
  const hardware = createSimHardware(config, clock);
  const device = await startDevice({ config, hardware, clock, host: '127.0.0.1', port: 0 });
  let open = true;
  const close = async () => {
    if (open) await device.close();
    open = false;
  };
  return { device, hardware, close };
}

/** Moves the clock in small steps until the promise settles (sensor probes sleep on it at start). */
async function whileAdvancing<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  for (let step = 0; step < 1000 && !settled; step++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!settled) await clock.advance(10);
  }
  return tracked;
}
