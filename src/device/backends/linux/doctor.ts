// `tether doctor`: what this machine offers (GPIO chips and their lines, I2C buses and the
// addresses that answer, PWM chips, 1-Wire probes, DHT devices, the CPU temperature, WiFi) and
// who may use it, and — given a board config — whether that config can start here, with the
// line to run or add for each problem (the same survey the backend runs at start).
import type { BoardConfig } from '../../config.js';
import { hex } from '../../hex.js';
import { groupNames, nodeAccess, type Identity } from './access.js';
import { grantAccess } from './advice.js';
import { detectBoardModel } from './board-model.js';
import { findMainChip, listChips, readLines } from './gpio-chips.js';
import { LinuxI2cBus } from './i2c.js';
import { listDhtDevices } from './iio-dht.js';
import type { Kernel } from './kernel.js';
import { romFromW1Name, w1GpioMasters, w1ProbeFolders } from './onewire.js';
import { under, type KernelRoots } from './roots.js';
import { survey, type Finding } from './survey.js';
import { listPwmChips } from './sysfs-pwm.js';
import { cpuTemperatureReader } from './thermal.js';
import { signalOf, wirelessLines } from './wireless.js';

export interface NodeReport {
  readonly path: string;
  /** e.g. "crw-rw---- root:gpio" */
  readonly access: string | undefined;
  /** This user may open it for reading and writing. */
  readonly usable: boolean;
  /** How to get access, when not usable. */
  readonly advice: string | undefined;
}

export interface GpioChipReport extends NodeReport {
  readonly name: string;
  readonly label: string | undefined;
  readonly lines: number | undefined;
  /** The chip whose offsets are the config's pin numbers (backend.gpio_chip: auto). */
  readonly main: boolean;
  /** Lines someone holds now: a program (its consumer) or a kernel driver. */
  readonly inUse: ReadonlyArray<{ offset: number; name: string; consumer: string }>;
  readonly error: string | undefined;
}

export interface I2cBusReport extends NodeReport {
  readonly bus: number;
  /** Addresses that answered a probe, as 0x48. */
  readonly answering: readonly string[] | undefined;
  readonly error: string | undefined;
}

export interface DoctorReport {
  readonly model: string | undefined;
  readonly user: { readonly name: string; readonly uid: number; readonly groups: readonly string[] };
  readonly roots: KernelRoots;
  readonly gpio: readonly GpioChipReport[];
  readonly i2c: readonly I2cBusReport[];
  readonly pwm: ReadonlyArray<{ chip: number; path: string; channels: number | undefined; exported: readonly number[]; device: string | undefined } & Pick<NodeReport, 'usable' | 'advice'>>;
  readonly oneWire: { readonly present: boolean; readonly gpios: readonly number[]; readonly probes: readonly string[] };
  readonly dht: ReadonlyArray<{ name: string; path: string; gpio: number | undefined }>;
  readonly cpuTemperature: number | undefined;
  readonly wifi: ReadonlyArray<{ iface: string; dbm: number | undefined }>;
  /** Present when a config was given. */
  readonly config: { readonly source: string; readonly canStart: boolean; readonly findings: readonly Finding[] } | undefined;
}

export interface DoctorOptions {
  kernel: Kernel;
  roots: KernelRoots;
  identity: Identity;
  config?: { source: string; value: Readonly<BoardConfig> };
  /** Probe I2C addresses (like i2cdetect); default true. */
  scanI2c?: boolean;
}

export async function examine(o: DoctorOptions): Promise<DoctorReport> {
  const { kernel, roots, identity } = o;
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const report = (path: string, kind: 'gpio' | 'i2c' | 'pwm'): NodeReport => {
    const a = nodeAccess(path, identity);
    // A PWM chip's export file is write-only: writing it is all anyone does with it.
    const usable = a.exists && a.writable && (kind === 'pwm' || a.readable);
    return { path, access: a.shown, usable, advice: usable || !a.exists ? undefined : grantAccess(kind, path, a.group) };
  };

  let mainPath: string | undefined;
  try {
    mainPath = findMainChip(kernel, roots.dev, o.config?.value.backend.gpio_chip ?? 'auto').path;
  } catch {
    // No Raspberry Pi chip: every chip is listed, none marked main.
  }
  const gpio: GpioChipReport[] = [];
  let chips: ReturnType<typeof listChips> = [];
  let chipsError: string | undefined;
  try {
    chips = listChips(kernel, roots.dev);
  } catch (err) {
    chipsError = message(err);
  }
  for (const chip of chips) {
    let inUse: GpioChipReport['inUse'] = [];
    let error: string | undefined;
    try {
      inUse = readLines(kernel, chip)
        .filter((l) => l.used)
        .map((l) => ({ offset: l.offset, name: l.name, consumer: l.consumer }));
    } catch (err) {
      error = message(err);
    }
    gpio.push({ ...report(chip.path, 'gpio'), name: chip.name, label: chip.label, lines: chip.lines, main: chip.path === mainPath, inUse, error });
  }
  if (chipsError !== undefined) gpio.push({ ...report(roots.dev, 'gpio'), name: '?', label: undefined, lines: undefined, main: false, inUse: [], error: chipsError });

  const i2c: I2cBusReport[] = [];
  let devNames: string[] = [];
  try {
    devNames = kernel.list(roots.dev);
  } catch {
    // No dev root: nothing to list.
  }
  const busIds = devNames.flatMap((n) => /^i2c-(\d+)$/.exec(n)?.slice(1).map(Number) ?? []).sort((a, b) => a - b);
  for (const bus of busIds) {
    const node = report(under(roots.dev, `i2c-${bus}`), 'i2c');
    let answering: string[] | undefined;
    let error: string | undefined;
    if (node.usable && o.scanI2c !== false) {
      const b = new LinuxI2cBus({ kernel, bus, devRoot: roots.dev });
      try {
        answering = (await b.scan()).map(hex);
      } catch (err) {
        error = message(err);
      } finally {
        b.close();
      }
    }
    i2c.push({ ...node, bus, answering, error });
  }

  const pwm = listPwmChips(roots).map((c) => {
    const node = report(under(c.path, 'export'), 'pwm');
    return { chip: c.chip, path: c.path, channels: c.npwm, exported: c.exported, device: c.device, usable: node.usable, advice: node.advice };
  });

  const w1Folders = await w1ProbeFolders(roots);
  const oneWire = { present: w1Folders !== undefined, gpios: w1Folders === undefined ? [] : await w1GpioMasters(roots), probes: (w1Folders ?? []).map(romFromW1Name) };

  const dht = (await listDhtDevices(roots)).map((d) => ({ name: d.name, path: d.dir, gpio: d.pin }));
  let cpuTemperature: number | undefined;
  try {
    cpuTemperature = await cpuTemperatureReader(roots)();
  } catch {
    cpuTemperature = undefined;
  }
  const wifi = wirelessLines(roots).map((l) => ({ iface: l.iface, dbm: signalOf(l) }));

  let config: DoctorReport['config'];
  if (o.config !== undefined) {
    const { findings } = await survey(o.config.value, { kernel, roots, identity, probe: true });
    config = { source: o.config.source, canStart: findings.every((f) => f.ok), findings };
  }
  return {
    model: detectBoardModel(roots).model,
    user: { name: identity.name, uid: identity.uid, groups: groupNames(identity) },
    roots,
    gpio,
    i2c,
    pwm,
    oneWire,
    dht,
    cpuTemperature,
    wifi,
    config,
  };
}
