// A GPIO chip as the kernel's character device (drivers/gpio/gpiolib-cdev.c) shows it, at the
// byte level: chip and line info, line requests with the kernel's flag checks and EBUSY, values,
// reconfiguration, and edge events with timestamps, sequence numbers and the software debouncer
// (an edge is reported once the level has held for the period, stamped when the period ends).
// Tests play the outside world with drive() and read what an output does with level().
import type { Clock, Timer } from '../../src/common/clock.js';
import * as uapi from '../../src/device/backends/linux/gpio-uapi.js';
import { KernelError } from '../../src/device/backends/linux/kernel.js';
import type { Level } from '../../src/device/hal/types.js';

const F = uapi.LineFlag;
const DIRECTION = F.INPUT | F.OUTPUT;
const DRIVE = F.OPEN_DRAIN | F.OPEN_SOURCE;
const BIAS = F.BIAS_PULL_UP | F.BIAS_PULL_DOWN | F.BIAS_DISABLED;
const EDGES = F.EDGE_RISING | F.EDGE_FALLING;
const VALID = F.ACTIVE_LOW | DIRECTION | DRIVE | EDGES | F.EVENT_CLOCK_REALTIME | F.EVENT_CLOCK_HTE | BIAS;

/** The pull the pad has; it stays when a line is released, as a real pad's does. */
export type Bias = 'pull-up' | 'pull-down' | 'disabled';

export interface FakeLineOptions {
  name?: string;
  /** Power-on pull (a Raspberry Pi's GPIO 0–8 start pulled up). Default 'disabled'. */
  bias?: Bias;
  /** What an input with no pull and nothing driving it reads. Default 0. */
  floating?: Level;
}

export interface FakeChipOptions {
  /** Kernel name; default gpiochipN by order of creation. */
  name?: string;
  label: string;
  /** A line count, or one entry per line (a name, or options). */
  lines: number | readonly (string | FakeLineOptions)[];
}

/** What a request asked of one line, as the kernel holds it. */
export interface LineConfigSeen {
  consumer: string;
  flags: bigint;
  debounceUs: number;
}

export interface SetValuesWrite {
  chip: string;
  offset: number;
  /** Logical value written (1 = active). */
  value: Level;
  /** The fake's CLOCK_MONOTONIC when the ioctl ran. */
  atNs: bigint;
}

interface Line {
  readonly offset: number;
  readonly name: string;
  readonly floating: Level;
  bias: Bias;
  external: Level | undefined;
  output: boolean;
  /** The output latch, physical. */
  latch: Level;
  /** Request flags the kernel keeps on the descriptor (cleared on release, direction kept). */
  flags: bigint;
  holder: Request | { consumer: string } | undefined;
  debounceUs: number;
  /** The software debouncer's settled physical level. */
  debounced: Level;
  debounceTimer: Timer | undefined;
  lineSeqno: number;
}

export interface FakeGpioHost {
  readonly clock: Clock;
  nowNs(): bigint;
  readonly writes: SetValuesWrite[];
  /** Called when a request fd has events to read. */
  readable(fd: number): void;
}

export class Request {
  readonly events: uapi.LineEvent[] = [];
  seqno = 0;
  constructor(
    readonly fd: number,
    readonly chip: FakeGpioChip,
    readonly lines: Line[],
    readonly consumer: string,
    readonly capacity: number,
  ) {}
}

export class FakeGpioChip {
  readonly path: string;
  readonly name: string;
  readonly label: string;
  private readonly lines: Line[];

  constructor(
    private readonly host: FakeGpioHost,
    path: string,
    name: string,
    options: FakeChipOptions,
  ) {
    this.path = path;
    this.name = name;
    this.label = options.label;
    const specs = typeof options.lines === 'number' ? Array.from({ length: options.lines }, () => ({})) : options.lines;
    this.lines = specs.map((spec, offset) => {
      const o: FakeLineOptions = typeof spec === 'string' ? { name: spec } : spec;
      const bias = o.bias ?? 'disabled';
      const line: Line = { offset, name: o.name ?? '', floating: o.floating ?? 0, bias, external: undefined, output: false, latch: 0, flags: 0n, holder: undefined, debounceUs: 0, debounced: 0, debounceTimer: undefined, lineSeqno: 0 };
      line.debounced = physical(line);
      return line;
    });
  }

  get lineCount(): number {
    return this.lines.length;
  }

  // --- the outside world --------------------------------------------------------------------

  /** Drives a level onto a line from outside (a button); undefined lets it float again. */
  drive(offset: number, level: Level | undefined): void {
    const line = this.line(offset);
    this.change([line], () => {
      line.external = level;
    });
  }

  /** The physical level on the line now, as a meter would read it. */
  level(offset: number): Level {
    return physical(this.line(offset));
  }

  bias(offset: number): Bias {
    return this.line(offset).bias;
  }

  isOutput(offset: number): boolean {
    return this.line(offset).output;
  }

  /** What the request that holds the line asked for, or undefined when no request holds it. */
  config(offset: number): LineConfigSeen | undefined {
    const line = this.line(offset);
    if (!(line.holder instanceof Request)) return undefined;
    return { consumer: line.holder.consumer, flags: line.flags, debounceUs: line.debounceUs };
  }

  /** Marks a line as used by someone else (a kernel driver, another program). */
  claim(offset: number, consumer: string): void {
    this.line(offset).holder = { consumer };
  }

  // --- ioctls on the chip fd ------------------------------------------------------------------

  chipInfo(arg: Buffer): void {
    uapi.encodeChipInfo({ name: this.name, label: this.label, lines: this.lines.length }, arg);
  }

  lineInfo(arg: Buffer): void {
    if (!uapi.lineInfoPaddingIsZero(arg)) throw einval();
    const line = this.lines[arg.readUInt32LE(uapi.LINE_INFO.offset)];
    if (line === undefined) throw einval();
    let flags = line.flags & ~DIRECTION;
    if (line.holder !== undefined) flags |= F.USED;
    flags |= line.output ? F.OUTPUT : F.INPUT;
    const consumer = line.holder?.consumer ?? '';
    const attrs: uapi.LineAttribute[] = line.debounceUs > 0 ? [{ id: 'debounce', periodUs: line.debounceUs }] : [];
    uapi.encodeLineInfo({ name: line.name, consumer, offset: line.offset, flags, attrs }, arg);
  }

  /** GPIO_V2_GET_LINE_IOCTL: checks as linereq_create does, then holds the lines. */
  request(arg: Buffer, fd: number): Request {
    const req = uapi.decodeLineRequest(arg);
    if (req.numLines === 0 || req.numLines > uapi.GPIO_V2_LINES_MAX || !req.paddingIsZero) throw einval();
    validateConfig(req.config, req.numAttrs, req.numLines);
    const lines = req.offsets.map((offset) => {
      const line = this.lines[offset];
      if (line === undefined) throw einval();
      return line;
    });
    if (new Set(lines).size !== lines.length || lines.some((l) => l.holder !== undefined)) throw KernelError.of('EBUSY', 'ioctl');
    const size = req.eventBufferSize === 0 ? req.numLines * 16 : Math.min(req.eventBufferSize, uapi.GPIO_V2_LINES_MAX * 16);
    const r = new Request(fd, this, lines, req.consumer, size);
    for (const line of lines) line.holder = r;
    this.apply(r, req.config);
    uapi.setRequestFd(arg, fd);
    return r;
  }

  // --- ioctls on a request fd -----------------------------------------------------------------

  getValues(r: Request, arg: Buffer): void {
    const { mask } = uapi.decodeLineValues(arg);
    let bits = 0n;
    let any = false;
    r.lines.forEach((line, i) => {
      const bit = 1n << BigInt(i);
      if ((mask & bit) === 0n) return;
      any = true;
      const raw = line.debounceUs > 0 && !line.output ? line.debounced : physical(line);
      if ((raw ^ (activeLow(line) ? 1 : 0)) === 1) bits |= bit;
    });
    if (!any) throw einval();
    uapi.encodeLineValues({ bits, mask }, arg);
  }

  setValues(r: Request, arg: Buffer): void {
    const { bits, mask } = uapi.decodeLineValues(arg);
    const targets = r.lines.filter((_, i) => (mask & (1n << BigInt(i))) !== 0n);
    if (targets.some((l) => !l.output)) throw KernelError.of('EPERM', 'ioctl');
    if (targets.length === 0) throw einval();
    this.change(targets, () => {
      r.lines.forEach((line, i) => {
        const bit = 1n << BigInt(i);
        if ((mask & bit) === 0n) return;
        const value: Level = (bits & bit) !== 0n ? 1 : 0;
        line.latch = (value ^ (activeLow(line) ? 1 : 0)) as Level;
        this.host.writes.push({ chip: this.name, offset: line.offset, value, atNs: this.host.nowNs() });
      });
    });
  }

  setConfig(r: Request, arg: Buffer): void {
    const { config, numAttrs, paddingIsZero } = uapi.decodeLineConfig(arg);
    if (!paddingIsZero) throw einval();
    validateConfig(config, numAttrs, r.lines.length);
    this.apply(r, config);
  }

  /** Closing the request fd: lines go back to the chip "as is" (direction and latch kept). */
  release(r: Request): void {
    for (const line of r.lines) {
      this.stopDebounce(line);
      line.holder = undefined;
      line.flags = 0n;
      line.debounceUs = 0;
    }
  }

  // --- what happens on the pins ---------------------------------------------------------------

  private apply(r: Request, config: uapi.LineConfig): void {
    this.change(r.lines, () => {
      r.lines.forEach((line, i) => {
        const flags = uapi.lineFlags(config, i);
        line.flags = flags;
        if ((flags & F.BIAS_PULL_UP) !== 0n) line.bias = 'pull-up';
        else if ((flags & F.BIAS_PULL_DOWN) !== 0n) line.bias = 'pull-down';
        else if ((flags & F.BIAS_DISABLED) !== 0n) line.bias = 'disabled';
        if ((flags & F.OUTPUT) !== 0n) {
          const values = uapi.lineAttribute(config, i, 'output_values');
          const value = values !== undefined && (values.values & (1n << BigInt(i))) !== 0n ? 1 : 0;
          line.output = true;
          line.latch = (value ^ (activeLow(line) ? 1 : 0)) as Level;
          this.stopDebounce(line);
          line.debounceUs = 0;
        } else if ((flags & F.INPUT) !== 0n) {
          line.output = false;
          const debounce = uapi.lineAttribute(config, i, 'debounce')?.periodUs ?? 0;
          if (debounce > 0 && line.debounceUs === 0) line.debounced = physical(line);
          if (debounce === 0) this.stopDebounce(line);
          line.debounceUs = debounce;
        }
      });
    });
  }

  /**
   * Runs a change and reports the edges it made on the lines it touched. The edge detector
   * that sees them is the one from before the change: the kernel applies direction and bias
   * first and sets up (or stops) edge detection after, so a pull turned on by a new request
   * makes no event.
   */
  private change(lines: Line[], fn: () => void): void {
    const before = lines.map((line) => ({ level: physical(line), flags: line.holder instanceof Request ? line.flags : 0n }));
    fn();
    lines.forEach((line, i) => {
      const now = physical(line);
      const was = before[i];
      if (was !== undefined && now !== was.level) this.edge(line, now, was.flags);
    });
  }

  private edge(line: Line, level: Level, flags: bigint): void {
    if (line.output || !(line.holder instanceof Request)) return;
    if (line.debounceUs > 0) {
      // mod_delayed_work: every change restarts the wait; the level is looked at when it ends.
      this.stopDebounce(line);
      line.debounceTimer = this.host.clock.setTimer(line.debounceUs / 1000, () => {
        line.debounceTimer = undefined;
        const settled = physical(line);
        if (settled === line.debounced) return;
        line.debounced = settled;
        this.report(line, settled, line.flags);
      });
      return;
    }
    this.report(line, level, flags);
  }

  private report(line: Line, physicalLevel: Level, flags: bigint): void {
    const r = line.holder;
    if (!(r instanceof Request)) return;
    const logical = physicalLevel ^ ((flags & F.ACTIVE_LOW) !== 0n ? 1 : 0);
    if ((flags & (logical === 1 ? F.EDGE_RISING : F.EDGE_FALLING)) === 0n) return;
    line.lineSeqno++;
    const seqno = r.lines.length === 1 ? line.lineSeqno : ++r.seqno;
    // A full FIFO drops its oldest event (linereq_put_event).
    if (r.events.length >= r.capacity) r.events.shift();
    r.events.push({ timestampNs: this.host.nowNs(), id: logical === 1 ? uapi.EventId.RISING_EDGE : uapi.EventId.FALLING_EDGE, offset: line.offset, seqno, lineSeqno: line.lineSeqno });
    this.host.readable(r.fd);
  }

  private stopDebounce(line: Line): void {
    if (line.debounceTimer !== undefined) this.host.clock.clearTimer(line.debounceTimer);
    line.debounceTimer = undefined;
  }

  private line(offset: number): Line {
    const line = this.lines[offset];
    if (line === undefined) throw new RangeError(`${this.name} has lines 0–${this.lines.length - 1}, not ${offset}`);
    return line;
  }
}

function physical(line: Line): Level {
  if (line.output) {
    const released = ((line.flags & F.OPEN_DRAIN) !== 0n && line.latch === 1) || ((line.flags & F.OPEN_SOURCE) !== 0n && line.latch === 0);
    if (!released) return line.latch;
  }
  if (line.external !== undefined) return line.external;
  if (line.bias === 'pull-up') return 1;
  if (line.bias === 'pull-down') return 0;
  return line.floating;
}

function activeLow(line: Line): boolean {
  return (line.flags & F.ACTIVE_LOW) !== 0n;
}

function einval(): KernelError {
  return KernelError.of('EINVAL', 'ioctl');
}

/** gpio_v2_line_config_validate and gpio_v2_line_flags_validate, with CONFIG_HTE off. */
function validateConfig(config: uapi.LineConfig, numAttrs: number, numLines: number): void {
  if (numAttrs > uapi.GPIO_V2_LINE_NUM_ATTRS_MAX) throw einval();
  for (let i = 0; i < numLines; i++) {
    const flags = uapi.lineFlags(config, i);
    if ((flags & ~VALID) !== 0n) throw einval();
    if ((flags & F.EVENT_CLOCK_HTE) !== 0n) throw KernelError.of('EOPNOTSUPP', 'ioctl');
    const has = (bits: bigint) => (flags & bits) !== 0n;
    if (has(F.INPUT) && has(F.OUTPUT)) throw einval();
    if (has(EDGES) && !has(F.INPUT)) throw einval();
    if (has(F.OPEN_DRAIN) && has(F.OPEN_SOURCE)) throw einval();
    if (has(DRIVE) && !has(F.OUTPUT)) throw einval();
    if (has(BIAS) && !has(DIRECTION)) throw einval();
    const biases = [F.BIAS_PULL_UP, F.BIAS_PULL_DOWN, F.BIAS_DISABLED].filter(has).length;
    if (biases > 1) throw einval();
    if (uapi.lineAttribute(config, i, 'debounce') !== undefined && !has(F.INPUT)) throw einval();
  }
}
