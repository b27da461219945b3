// The Linux backend: real pins and chips through the kernel — GPIO lines through the GPIO
// character device, I2C through /dev/i2c-N, PWM, 1-Wire, DHT and the CPU temperature through
// sysfs. Before it opens anything it checks the whole config against the machine, so a user
// meets every missing piece in one message with the line that fixes each.
import type { BoardConfig } from '../../config.js';
import type { Hardware, I2cBus } from '../../hal/types.js';
import { BackendUnavailableError, type BackendContext } from '../index.js';
import { currentIdentity, type Identity } from './access.js';
import { mapPins } from './gpio-chips.js';
import { LinuxGpio } from './gpio.js';
import { LinuxI2cBus } from './i2c.js';
import type { Kernel } from './kernel.js';
import { loadKoffiKernel } from './koffi-kernel.js';
import { kernelRoots } from './roots.js';
import { describeProblems, survey } from './survey.js';
import type { SysfsIo } from './sysfs-io.js';
import { createSysfsParts } from './sysfs-parts.js';

export interface LinuxDeps {
  /** The kernel seam; tests pass a fake, the default is the real one through koffi. */
  kernel?: Kernel;
  /** Whose permissions the pre-flight checks; default this process's user. */
  identity?: Identity;
  /** Sysfs access for PWM and the board model, and the wait for an exported PWM channel; tests pass a fake kernel's. */
  sysfsIo?: SysfsIo;
  sleepSync?: (ms: number) => void;
}

/** A Pi has no ADC of its own: an analog input is a chip on the bus (an ADS1115). */
const NO_ADC: Hardware['adc'] = {
  pins: [],
  vref: 3.3,
  readU16: (pin) => {
    throw new Error(`pin ${pin} has no ADC on this board`);
  },
};

export async function openLinuxHardware(config: Readonly<BoardConfig>, ctx: BackendContext, deps: LinuxDeps = {}): Promise<Hardware> {
  const roots = kernelRoots(ctx.env);
  const kernel = deps.kernel ?? (await loadKoffiKernel());
  const closers: Array<() => void> = [() => kernel.dispose()];
  let closed = false;
  // Last opened, first closed, each once; one that fails does not keep the rest (the kernel's
  // watcher thread above all) from closing.
  const closeAll = () => {
    if (closed) return;
    closed = true;
    const failures: unknown[] = [];
    for (const close of [...closers].reverse()) {
      try {
        close();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  };
  try {
    const { findings, pinMap } = await survey(config, { kernel, roots, identity: deps.identity ?? currentIdentity(), probe: false, ...(deps.sysfsIo ? { io: deps.sysfsIo } : {}) });
    const problems = findings.filter((f) => !f.ok);
    if (problems.length > 0) throw new BackendUnavailableError(describeProblems(ctx.source, problems));

    const { main, pins } = pinMap ?? mapPins(kernel, roots.dev, { gpioChip: config.backend.gpio_chip, lines: config.backend.lines, pinCount: config.gpio.pin_count });
    const gpio = new LinuxGpio({ kernel, clock: ctx.clock, pins });
    closers.push(() => gpio.close());
    const buses = new Map<number, LinuxI2cBus>();
    for (const b of config.i2c) {
      const bus = new LinuxI2cBus({ kernel, bus: b.bus, devRoot: roots.dev });
      bus.open();
      closers.push(() => bus.close());
      buses.set(b.bus, bus);
    }
    const parts = createSysfsParts(config, { roots, gpio, clock: ctx.clock, ...(deps.sysfsIo ? { io: deps.sysfsIo } : {}), ...(deps.sleepSync ? { sleepSync: deps.sleepSync } : {}) });
    closers.push(() => parts.close());
    return {
      platform: 'linux',
      board: config.board ?? parts.model.model ?? `Linux board (${main.label})`,
      gpio,
      pwm: parts.pwm,
      adc: NO_ADC,
      i2c: (bus: number): I2cBus | undefined => buses.get(bus),
      i2cBuses: [...buses.keys()].sort((a, b) => a - b),
      oneWire: parts.oneWire,
      dht: parts.dht,
      cpuTemperature: () => parts.cpuTemperature(),
      memory() {
        const m = process.memoryUsage();
        return { free: m.heapTotal - m.heapUsed, alloc: m.heapUsed };
      },
      signal: () => parts.signal(),
      close: closeAll,
    };
  } catch (err) {
    try {
      closeAll();
    } catch {
      // The error that stopped the start is the one to show.
    }
    if (err instanceof BackendUnavailableError) throw err;
    if (err instanceof Error) throw new BackendUnavailableError(`${ctx.source}: ${err.message}`);
    throw err;
  }
}
