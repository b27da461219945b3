// The GPIO chips under the dev root: what they are, what each line is doing (for `tether
// doctor`), which one is the Raspberry Pi's header, and where a named line is. The board
// config's pin numbers are line offsets on that main chip, plus backend.lines by name.
import { joinGroup } from './advice.js';
import { join } from 'node:path';
import { decodeChipInfo, decodeLineInfo, GPIO_GET_CHIPINFO_IOCTL, GPIO_V2_GET_LINEINFO_IOCTL, LineFlag, lineInfoQuery, CHIP_INFO } from './gpio-uapi.js';
import { isKernelError, type Kernel } from './kernel.js';

export interface GpioChip {
  /** e.g. /dev/gpiochip0 */
  path: string;
  /** The kernel's name, e.g. gpiochip0. */
  name: string;
  /** What the driver calls the chip, e.g. pinctrl-bcm2711. */
  label: string;
  lines: number;
}

export interface GpioLineInfo {
  offset: number;
  name: string;
  /** Who holds the line ("" when nobody, or a holder that gave no label). */
  consumer: string;
  /** Held by a program or a kernel driver, or not usable as a GPIO now. */
  used: boolean;
  direction: 'input' | 'output';
  activeLow: boolean;
  drive: 'push_pull' | 'open_drain' | 'open_source';
  /** "as-is" when the holder asked for no particular bias. */
  bias: 'pull-up' | 'pull-down' | 'disabled' | 'as-is';
  edges: 'none' | 'rising' | 'falling' | 'both';
  /** Set while a holder debounces the line. */
  debounceUs: number | undefined;
}

/** A GPIO line a board pin is wired to. */
export interface LineRef {
  chip: GpioChip;
  offset: number;
  /** The line's name, "" when the chip gives none. */
  name: string;
}

export class GpioSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpioSetupError';
  }
}

/**
 * Labels of the chip that carries a Raspberry Pi's 40-pin header, in the order they are
 * tried. From the drivers' sources (raspberrypi/linux): pinctrl-rp1.c names its chip
 * "pinctrl-rp1" (Pi 5, where it was gpiochip4 on early 6.1/6.6 kernels and gpiochip0 since);
 * pinctrl-bcm2835.c names the BCM2711's chip "pinctrl-bcm2711" (Pi 4, 400, CM4) and the older
 * SoCs' "pinctrl-bcm2835" (Pi 1–3, Zero), and some kernels name the BCM2711's after the
 * driver too. Not checked on hardware here: there was no Pi to run gpiodetect on.
 */
export const RASPBERRY_PI_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

const CHIP_NAME = /^gpiochip(\d+)$/;

/** Why a GPIO device file could not be opened, and what to do about it. */
export function openFailure(err: unknown, path: string, context: string): Error {
  if (isKernelError(err, 'EACCES', 'EPERM')) {
    return new GpioSetupError(`cannot open ${path}${context}: permission denied — ${joinGroup('gpio')}`);
  }
  if (isKernelError(err, 'ENOENT', 'ENODEV')) {
    return new GpioSetupError(`${path} does not exist${context}: check backend.gpio_chip; gpiodetect lists the chips this kernel has`);
  }
  return new GpioSetupError(`cannot open ${path}${context}: ${err instanceof Error ? err.message : String(err)}`);
}

function withChip<T>(kernel: Kernel, path: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = kernel.open(path, 'readwrite');
  } catch (err) {
    throw openFailure(err, path, '');
  }
  try {
    return fn(fd);
  } finally {
    kernel.close(fd);
  }
}

export function readChip(kernel: Kernel, path: string): GpioChip {
  return withChip(kernel, path, (fd) => chipOf(kernel, fd, path));
}

function chipOf(kernel: Kernel, fd: number, path: string): GpioChip {
  const buf = Buffer.alloc(CHIP_INFO.size);
  kernel.ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, buf);
  return { path, ...decodeChipInfo(buf) };
}

/** Every gpiochipN under the dev root, by number. */
export function listChips(kernel: Kernel, devRoot: string): GpioChip[] {
  let names: string[];
  try {
    names = kernel.list(devRoot);
  } catch (err) {
    if (isKernelError(err, 'ENOENT')) return [];
    throw err;
  }
  return names
    .map((n) => ({ n, m: CHIP_NAME.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map(({ n }) => readChip(kernel, join(devRoot, n)));
}

export function readLines(kernel: Kernel, chip: GpioChip): GpioLineInfo[] {
  return withChip(kernel, chip.path, (fd) => Array.from({ length: chip.lines }, (_, offset) => lineInfo(kernel, fd, offset)));
}

export function lineInfo(kernel: Kernel, chipFd: number, offset: number): GpioLineInfo {
  const buf = lineInfoQuery(offset);
  kernel.ioctl(chipFd, GPIO_V2_GET_LINEINFO_IOCTL, buf);
  const info = decodeLineInfo(buf);
  const has = (flag: bigint) => (info.flags & flag) !== 0n;
  const rising = has(LineFlag.EDGE_RISING);
  const falling = has(LineFlag.EDGE_FALLING);
  const debounce = info.attrs.find((a) => a.id === 'debounce');
  return {
    offset: info.offset,
    name: info.name,
    consumer: info.consumer,
    used: has(LineFlag.USED),
    direction: has(LineFlag.OUTPUT) ? 'output' : 'input',
    activeLow: has(LineFlag.ACTIVE_LOW),
    drive: has(LineFlag.OPEN_DRAIN) ? 'open_drain' : has(LineFlag.OPEN_SOURCE) ? 'open_source' : 'push_pull',
    bias: has(LineFlag.BIAS_PULL_UP) ? 'pull-up' : has(LineFlag.BIAS_PULL_DOWN) ? 'pull-down' : has(LineFlag.BIAS_DISABLED) ? 'disabled' : 'as-is',
    edges: rising && falling ? 'both' : rising ? 'rising' : falling ? 'falling' : 'none',
    debounceUs: debounce?.id === 'debounce' ? debounce.periodUs : undefined,
  };
}

/**
 * The chip whose offsets are the config's pin numbers (backend.gpio_chip): "auto" (the
 * Raspberry Pi's header chip), a kernel name (gpiochip4), a path, or a label.
 */
export function findMainChip(kernel: Kernel, devRoot: string, spec: string): GpioChip {
  if (CHIP_NAME.test(spec)) return readChip(kernel, join(devRoot, spec));
  if (spec.startsWith('/')) return readChip(kernel, spec);
  const chips = listChips(kernel, devRoot);
  if (chips.length === 0) {
    throw new GpioSetupError(`no GPIO chips in ${devRoot}: this kernel has no GPIO character device (it needs Linux 5.10 or later with CONFIG_GPIO_CDEV), or TETHER_DEV_ROOT points elsewhere`);
  }
  const seen = chips.map((c) => `${c.name} "${c.label}"`).join(', ');
  if (spec === 'auto') {
    for (const label of RASPBERRY_PI_CHIP_LABELS) {
      const chip = chips.find((c) => c.label === label);
      if (chip !== undefined) return chip;
    }
    throw new GpioSetupError(`none of the GPIO chips is a Raspberry Pi's (${RASPBERRY_PI_CHIP_LABELS.join(', ')}); found ${seen}. Set backend.gpio_chip to the chip whose line offsets are your pin numbers`);
  }
  const chip = chips.find((c) => c.label === spec);
  if (chip === undefined) throw new GpioSetupError(`backend.gpio_chip: no GPIO chip is labelled "${spec}"; found ${seen}`);
  return chip;
}

export interface PinMapOptions {
  /** backend.gpio_chip */
  gpioChip: string;
  /** backend.lines: pin number (as a string key) → line name. */
  lines: Readonly<Record<string, string>>;
  /** gpio.pin_count */
  pinCount: number;
}

export interface PinMap {
  main: GpioChip;
  pins: ReadonlyMap<number, LineRef>;
}

/** Board pin → GPIO line: offsets on the main chip below pin_count, then backend.lines by name. */
export function mapPins(kernel: Kernel, devRoot: string, options: PinMapOptions): PinMap {
  const main = findMainChip(kernel, devRoot, options.gpioChip);
  const mainLines = readLines(kernel, main);
  const pins = new Map<number, LineRef>();
  for (let pin = 0; pin < Math.min(options.pinCount, main.lines); pin++) pins.set(pin, { chip: main, offset: pin, name: mainLines[pin]?.name ?? '' });
  const wanted = Object.entries(options.lines);
  if (wanted.length === 0) return { main, pins };
  const named = new Map<string, LineRef>();
  const chips = [main, ...listChips(kernel, devRoot).filter((c) => c.path !== main.path)];
  for (const chip of chips) {
    const infos = chip === main ? mainLines : readLines(kernel, chip);
    // The first chip that has a name wins, as gpiofind does.
    for (const info of infos) if (info.name !== '' && !named.has(info.name)) named.set(info.name, { chip, offset: info.offset, name: info.name });
  }
  for (const [pin, name] of wanted) {
    const line = named.get(name);
    if (line === undefined) throw new GpioSetupError(`backend.lines.${pin}: no GPIO line is named "${name}" on ${chips.map((c) => c.name).join(', ')}; gpioinfo lists the line names`);
    pins.set(Number(pin), line);
  }
  return { main, pins };
}

/** How errors and logs name a line: GPIO17 (line 17 of gpiochip0 "pinctrl-bcm2711"). */
export function describeLine(line: LineRef): string {
  const where = `line ${line.offset} of ${line.chip.name} "${line.chip.label}"`;
  return line.name !== '' ? `${line.name}, ${where}` : where;
}
