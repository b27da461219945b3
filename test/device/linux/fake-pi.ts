// A fake Raspberry Pi 4 for the Linux backend's tests: the fake kernel's GPIO chips and I2C
// adapter (with the PyMoDAQ thermal bench's chips on bus 1), prepared /sys, /dev and /proc
// folders, and the bench's board config.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../../src/common/clock.js';
import type { Identity } from '../../../src/device/backends/linux/access.js';
import { openLinuxHardware, type LinuxDeps } from '../../../src/device/backends/linux/index.js';
import { ROOT_VARIABLES } from '../../../src/device/backends/linux/roots.js';
import { parseBoardConfig, type BoardConfig } from '../../../src/device/config.js';
import type { Hardware } from '../../../src/device/hal/types.js';
import { SimAht10, SimEmc2101, SimTmp102 } from '../../../src/device/sim/chips/index.js';
import { SimEnvironment } from '../../../src/device/sim/environment.js';
import { FakeKernel, type FakeGpioChip, type FakeI2cAdapter, type FakeLineOptions } from '../../support/fake-kernel.js';
import { devNode, fakePwmKernel, PI4_PWM, pwmChip, writeTree, type FakePwmKernel, type TempRoots } from './fake-sysfs.js';

export const SOURCE = '/etc/tether/bench.yaml';
export const MODEL = 'Raspberry Pi 4 Model B Rev 1.4';
/** The user a Raspberry Pi OS service runs as; the suite itself runs as root, which may open anything. */
export const PI: Identity = { name: 'pi', uid: 1000, gids: [1000] };

export const PROC_NET_WIRELESS =
  'Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n' +
  ' face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n' +
  ' wlan0: 0000   58.  -52.  -256        0      0      0      0      0        0\n';

/** The PyMoDAQ thermal bench (examples/bench.yaml) for the Linux backend: the heater in software PWM, no board name so the device tree's is shown. */
export function benchConfig(extra: Record<string, unknown> = {}): Readonly<BoardConfig> {
  return parseBoardConfig(benchRaw(extra), SOURCE);
}

/** The same config as a file would hold it. */
export function benchRaw(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
      name: 'thermal-bench',
      auth: 'none',
      max_lease_s: 3600,
      i2c: [{ bus: 1, sda: 2, scl: 3 }],
      pins: [
        { pin: 17, name: 'door', mode: 'input', pull: 'up', debounce_ms: 10 },
        { pin: 27, name: 'flow', mode: 'input', pull: 'down' },
        // An active-low relay: its safe level is high.
        { pin: 24, name: 'pump_n', mode: 'output', safe_value: 1 },
      ],
      actuators: [
        { name: 'fan', driver: 'pwm', pin: 18, safe_value: 0, options: { freq: 25000 } },
        { name: 'heater', driver: 'pwm', pin: 23, safe_value: 0, max_lease_s: 600, options: { freq: 100 } },
      ],
      sensors: [
        { name: 'rh_out', driver: 'aht10', bus: 1, address: 0x38 },
        { name: 't_heater', driver: 'tmp102', bus: 1, address: 0x48 },
        { name: 't_sink', driver: 'tmp102', bus: 1, address: 0x49 },
        { name: 't_in', driver: 'tmp102', bus: 1, address: 0x4a },
        { name: 't_out', driver: 'tmp102', bus: 1, address: 0x4b },
        { name: 't_emc', driver: 'emc2101', bus: 1, address: 0x4c },
        { name: 'cpu', driver: 'chip_temp' },
      ],
      backend: { software_pwm: [23] },
      ...extra,
  };
}

/** A Raspberry Pi 4's header chip: GPIO 0–8 pulled up at power-on, the rest down. */
export function pi4Lines(): FakeLineOptions[] {
  return Array.from({ length: 58 }, (_, i) => ({ name: `GPIO${i}`, bias: i <= 8 ? 'pull-up' : 'pull-down' }));
}

export interface PiOptions {
  /** dtparam=i2c_arm=on: /dev/i2c-1 exists. Default true. */
  i2c?: boolean;
  /** dtoverlay=pwm-2chan: pwmchip0 is the SoC's PWM. Default true. */
  pwmOverlay?: boolean;
  /** What I2C bus 1's adapter says it can do (I2C_FUNCS). */
  i2cFuncs?: number;
}

export interface Pi {
  roots: TempRoots;
  clock: ManualClock;
  kernel: FakeKernel;
  /** gpiochip0, pinctrl-bcm2711. */
  chip: FakeGpioChip;
  adapter: FakeI2cAdapter | undefined;
  pwmKernel: FakePwmKernel;
  /** TETHER_SYSFS_ROOT, TETHER_DEV_ROOT and TETHER_PROC_ROOT set to the prepared folders. */
  env: NodeJS.ProcessEnv;
  chips: { aht10: SimAht10; tmp102: SimTmp102[]; emc2101: SimEmc2101 };
  open(config: Readonly<BoardConfig>, deps?: Partial<LinuxDeps>): Promise<Hardware>;
  /** A file under sys/class/pwm, trimmed. */
  pwmFile(rel: string): string;
}

/** A fake Raspberry Pi 4 running Raspberry Pi OS, with the bench's chips on I2C bus 1. */
export function fakePi4(roots: TempRoots, options: PiOptions = {}): Pi {
  writeTree(roots.sys, {
    firmware: { devicetree: { base: { model: `${MODEL}\0` } } },
    class: { thermal: { thermal_zone0: { type: 'cpu-thermal\n', temp: '47234\n' } } },
  });
  writeTree(join(roots.proc, 'net'), { wireless: PROC_NET_WIRELESS });
  if (options.pwmOverlay ?? true) pwmChip(roots, 0, PI4_PWM);
  const clock = new ManualClock();
  const kernel = new FakeKernel({ clock, devRoot: roots.dev });
  const chip = kernel.addChip({ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: pi4Lines() });
  kernel.addChip({ name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: ['BT_ON', 'WL_ON', 'PWR_LED_OFF', 'GLOBAL_RESET'] });
  devNode(roots, 'gpiochip0');
  devNode(roots, 'gpiochip1');
  const environment = new SimEnvironment(4, clock);
  const ctx = (address: number) => ({ address, clock, environment, key: `i2c1:0x${address.toString(16)}`, options: {} });
  const chips = { aht10: new SimAht10(ctx(0x38)), tmp102: [0x48, 0x49, 0x4a, 0x4b].map((a) => new SimTmp102(ctx(a))), emc2101: new SimEmc2101(ctx(0x4c)) };
  let adapter: FakeI2cAdapter | undefined;
  if (options.i2c ?? true) {
    adapter = kernel.addI2cAdapter(1, options.i2cFuncs !== undefined ? { funcs: options.i2cFuncs } : {});
    devNode(roots, 'i2c-1');
    adapter.attach(0x38, chips.aht10);
    for (const t of chips.tmp102) adapter.attach(t.address, t);
    adapter.attach(0x4c, chips.emc2101);
  }
  const pwmKernel = fakePwmKernel(roots);
  const env = { [ROOT_VARIABLES.sys]: roots.sys, [ROOT_VARIABLES.dev]: roots.dev, [ROOT_VARIABLES.proc]: roots.proc };
  return {
    roots,
    clock,
    kernel,
    chip,
    adapter,
    pwmKernel,
    env,
    chips,
    open: (config, deps = {}) => openLinuxHardware(config, { clock, source: SOURCE, env }, { kernel, sysfsIo: pwmKernel.io, sleepSync: pwmKernel.sleep, ...deps }),
    pwmFile: (rel) => readFileSync(join(roots.sys, 'class/pwm', rel), 'utf8').trim(),
  };
}

