// Board pins on the GPIO character device (uAPI v2). Each set-up pin holds one line request
// of its own: pins come and go one at a time, and a request per pin lets one be reconfigured
// or released without touching the others. Reconfiguring a held pin (input ↔ output, pull,
// watching) goes through GPIO_V2_LINE_SET_CONFIG, so no other program can take the line in
// between and an output gets its level in the same call that makes it one.
import type { Clock } from '../../../common/clock.js';
import type { Drive, EdgeListener, Gpio, InputOptions, Level, OutputOptions, Pull } from '../../hal/types.js';
import { silentLogger, type Logger } from '../../logger.js';
import { describeLine, GpioSetupError, lineInfo, openFailure, type LineRef } from './gpio-chips.js';
import * as uapi from './gpio-uapi.js';
import { isKernelError, type Kernel } from './kernel.js';

export interface LinuxGpioOptions {
  kernel: Kernel;
  clock: Clock;
  /** Board pin → GPIO line (mapPins in gpio-chips.ts). */
  pins: ReadonlyMap<number, LineRef>;
  /** The name other programs see as the lines' user (gpioinfo); default "tether". */
  consumer?: string;
  /** Edges the kernel keeps for a watched pin until they are read; it drops the oldest beyond. Default 64. */
  eventBufferSize?: number;
  logger?: Logger;
}

interface PinState {
  readonly pin: number;
  readonly line: LineRef;
  readonly fd: number;
  mode: 'input' | 'output';
  /** Direction, bias and drive; edge flags are added while the pin is watched. */
  flags: bigint;
  debounceUs: number;
  output: Level;
  readonly values: Buffer;
  readonly listeners: Set<EdgeListener>;
  stopWatch: (() => void) | undefined;
  /** CLOCK_MONOTONIC when the watch began: events from an earlier watch may still wait unread. */
  watchedSinceNs: bigint;
  lastSeqno: number;
}

const F = uapi.LineFlag;
const EDGES = F.EDGE_RISING | F.EDGE_FALLING;
/** Events read per read(2); more are read in a loop. */
const EVENTS_PER_READ = 16;

const BIAS: Record<Pull, bigint> = { up: F.BIAS_PULL_UP, down: F.BIAS_PULL_DOWN, none: F.BIAS_DISABLED };
const DRIVE: Record<Drive, bigint> = { push_pull: 0n, open_drain: F.OPEN_DRAIN, open_source: F.OPEN_SOURCE };

export class LinuxGpio implements Gpio {
  private readonly kernel: Kernel;
  private readonly clock: Clock;
  private readonly pins: ReadonlyMap<number, LineRef>;
  private readonly consumer: string;
  private readonly eventBufferSize: number;
  private readonly logger: Logger;
  private readonly states = new Map<number, PinState>();
  private readonly chipFds = new Map<string, number>();
  private readonly eventBuffer = Buffer.alloc(EVENTS_PER_READ * uapi.LINE_EVENT.size);

  constructor(options: LinuxGpioOptions) {
    this.kernel = options.kernel;
    this.clock = options.clock;
    this.pins = options.pins;
    this.consumer = options.consumer ?? 'tether';
    this.eventBufferSize = options.eventBufferSize ?? 64;
    this.logger = options.logger ?? silentLogger;
  }

  has(pin: number): boolean {
    return this.pins.has(pin);
  }

  setupInput(pin: number, pull: Pull, options: InputOptions = {}): void {
    const debounceMs = options.debounceMs ?? 0;
    if (!(debounceMs >= 0)) throw new RangeError(`a debounce is ≥ 0 ms, not ${debounceMs}`);
    this.configure(pin, { mode: 'input', flags: F.INPUT | BIAS[pull], debounceUs: Math.round(debounceMs * 1000), output: 0 });
  }

  setupOutput(pin: number, level: Level, options: OutputOptions = {}): void {
    checkLevel(level);
    this.configure(pin, { mode: 'output', flags: F.OUTPUT | DRIVE[options.drive ?? 'push_pull'], debounceUs: 0, output: level });
  }

  read(pin: number): Level {
    const s = this.setUp(pin);
    uapi.encodeLineValues({ bits: 0n, mask: 1n }, s.values);
    this.call(s, 'reading', () => this.kernel.ioctl(s.fd, uapi.GPIO_V2_LINE_GET_VALUES_IOCTL, s.values));
    return (uapi.decodeLineValues(s.values).bits & 1n) === 1n ? 1 : 0;
  }

  write(pin: number, level: Level): void {
    checkLevel(level);
    const s = this.setUp(pin);
    if (s.mode !== 'output') throw new Error(`pin ${pin} is not an output; set it up as an output first`);
    uapi.encodeLineValues({ bits: BigInt(level), mask: 1n }, s.values);
    this.call(s, 'writing', () => this.kernel.ioctl(s.fd, uapi.GPIO_V2_LINE_SET_VALUES_IOCTL, s.values));
    s.output = level;
  }

  watch(pin: number, onChange: EdgeListener): () => void {
    const s = this.setUp(pin);
    if (s.mode !== 'input') throw new Error(`pin ${pin} is an output; edges can be watched only on an input`);
    const listener: EdgeListener = (level, at) => onChange(level, at);
    s.listeners.add(listener);
    if (s.listeners.size === 1) {
      try {
        s.watchedSinceNs = this.kernel.monotonicNs();
        this.apply(s, this.configOf(s));
        s.stopWatch = this.kernel.watch(s.fd, () => this.drain(s));
      } catch (err) {
        s.listeners.delete(listener);
        throw err;
      }
    }
    return () => {
      if (!s.listeners.delete(listener) || s.listeners.size > 0 || this.states.get(pin) !== s) return;
      this.unwatch(s);
      this.apply(s, this.configOf(s));
    };
  }

  release(pin: number): void {
    if (!this.has(pin)) throw new RangeError(`pin ${pin} does not exist on this board`);
    const s = this.states.get(pin);
    if (s === undefined) return;
    this.unwatch(s);
    this.states.delete(pin);
    // A released line keeps its last state on some kernels (the Pi 5's RP1 keeps outputs
    // driven), so it is made a plain input first: released means high impedance.
    try {
      this.kernel.ioctl(s.fd, uapi.GPIO_V2_LINE_SET_CONFIG_IOCTL, uapi.encodeLineConfig({ flags: F.INPUT | F.BIAS_DISABLED, attrs: [] }));
    } catch (err) {
      this.logger.warn(`pin ${pin} (${describeLine(s.line)}): could not make it an input before releasing it: ${(err as Error).message}`);
    }
    this.kernel.close(s.fd);
  }

  /**
   * Closes every line and the chips as the process leaves. Unlike release(), an output is not
   * made an input first: the board has just put it at its safe level, and where the kernel
   * keeps a closed line as it was (the Pi 5, Raspberry Pi kernels that persist outputs) it
   * stays there instead of floating.
   */
  close(): void {
    for (const s of this.states.values()) {
      this.unwatch(s);
      this.kernel.close(s.fd);
    }
    this.states.clear();
    for (const fd of this.chipFds.values()) this.kernel.close(fd);
    this.chipFds.clear();
  }

  // --- inside -------------------------------------------------------------------------------

  private configure(pin: number, want: Pick<PinState, 'mode' | 'flags' | 'debounceUs' | 'output'>): void {
    const line = this.pins.get(pin);
    if (line === undefined) throw new RangeError(`pin ${pin} does not exist on this board`);
    const held = this.states.get(pin);
    if (held !== undefined) {
      // An output has no edges to watch.
      if (want.mode === 'output') this.unwatch(held);
      const next = { ...held, ...want };
      this.apply(held, this.configOf(next));
      Object.assign(held, want);
      return;
    }
    const config = this.configOf({ ...want, listeners: new Set() });
    const request = uapi.encodeLineRequest({ offsets: [line.offset], consumer: this.consumer, config, eventBufferSize: this.eventBufferSize });
    const chipFd = this.chipFd(pin, line);
    try {
      this.kernel.ioctl(chipFd, uapi.GPIO_V2_GET_LINE_IOCTL, request);
    } catch (err) {
      throw this.requestFailure(pin, line, chipFd, want, err);
    }
    this.states.set(pin, { pin, line, fd: uapi.requestFd(request), ...want, values: Buffer.alloc(uapi.LINE_VALUES.size), listeners: new Set(), stopWatch: undefined, watchedSinceNs: 0n, lastSeqno: 0 });
  }

  private configOf(s: Pick<PinState, 'mode' | 'flags' | 'debounceUs' | 'output' | 'listeners'>): uapi.LineConfig {
    const attrs: uapi.ConfigAttribute[] = [];
    if (s.mode === 'output') attrs.push({ attr: { id: 'output_values', values: BigInt(s.output) }, mask: 1n });
    if (s.mode === 'input' && s.debounceUs > 0) attrs.push({ attr: { id: 'debounce', periodUs: s.debounceUs }, mask: 1n });
    const edges = s.mode === 'input' && s.listeners.size > 0 ? EDGES : 0n;
    return { flags: s.flags | edges, attrs };
  }

  private apply(s: PinState, config: uapi.LineConfig): void {
    this.call(s, 'reconfiguring', () => this.kernel.ioctl(s.fd, uapi.GPIO_V2_LINE_SET_CONFIG_IOCTL, uapi.encodeLineConfig(config)));
  }

  private unwatch(s: PinState): void {
    s.stopWatch?.();
    s.stopWatch = undefined;
    s.listeners.clear();
  }

  /** Reads the edge events waiting on a watched pin and hands them on, with when each happened on the board's clock. */
  private drain(s: PinState): void {
    const pin = s.pin;
    if (this.states.get(pin) !== s || s.stopWatch === undefined) return;
    const nowMs = this.clock.now();
    const nowNs = this.kernel.monotonicNs();
    // The kernel stamps a debounced edge when the level has held for the period (its
    // debouncer's wait, or a hardware filter's), so the level settled that much earlier.
    const debounceMs = s.debounceUs / 1000;
    for (;;) {
      let n: number;
      try {
        n = this.kernel.read(s.fd, this.eventBuffer);
      } catch (err) {
        this.unwatch(s);
        this.logger.error(`pin ${pin} (${describeLine(s.line)}): edge events stopped: ${(err as Error).message}; set the pin up again to resume`);
        return;
      }
      const count = Math.floor(n / uapi.LINE_EVENT.size);
      for (let i = 0; i < count; i++) {
        const e = uapi.decodeLineEvent(this.eventBuffer, i * uapi.LINE_EVENT.size);
        if (e.lineSeqno > s.lastSeqno + 1 && s.lastSeqno > 0) {
          this.logger.warn(`pin ${pin}: the kernel dropped ${e.lineSeqno - s.lastSeqno - 1} edge events (its buffer of ${this.eventBufferSize} was full); later events are complete`);
        }
        s.lastSeqno = e.lineSeqno;
        if (e.timestampNs < s.watchedSinceNs) continue;
        const at = Math.min(nowMs, nowMs - Number(nowNs - e.timestampNs) / 1e6 - debounceMs);
        const level: Level = e.id === uapi.EventId.RISING_EDGE ? 1 : 0;
        for (const listener of [...s.listeners]) listener(level, at);
      }
      if (count < EVENTS_PER_READ || s.stopWatch === undefined) return;
    }
  }

  private setUp(pin: number): PinState {
    const s = this.states.get(pin);
    if (s !== undefined) return s;
    if (!this.has(pin)) throw new RangeError(`pin ${pin} does not exist on this board`);
    throw new Error(`pin ${pin} is not set up; set it up as an input or an output first`);
  }

  private chipFd(pin: number, line: LineRef): number {
    let fd = this.chipFds.get(line.chip.path);
    if (fd === undefined) {
      try {
        fd = this.kernel.open(line.chip.path, 'readwrite');
      } catch (err) {
        throw openFailure(err, line.chip.path, ` for pin ${pin} (${describeLine(line)})`);
      }
      this.chipFds.set(line.chip.path, fd);
    }
    return fd;
  }

  private requestFailure(pin: number, line: LineRef, chipFd: number, want: Pick<PinState, 'mode' | 'flags' | 'debounceUs' | 'output'>, err: unknown): Error {
    const where = `pin ${pin} (${describeLine(line)})`;
    if (isKernelError(err, 'EBUSY')) {
      let consumer = '';
      try {
        consumer = lineInfo(this.kernel, chipFd, line.offset).consumer;
      } catch {
        // The line info only improves the message.
      }
      const who = consumer !== '' ? `"${consumer}"` : 'another program or a kernel driver';
      return new GpioSetupError(
        `${where} is already in use by ${who}: stop the program that holds it, or turn off the interface that claims it (raspi-config, or a dtoverlay in /boot/firmware/config.txt); gpioinfo ${line.chip.name} shows each line's user`,
      );
    }
    if (isKernelError(err, 'EINVAL')) {
      return new GpioSetupError(`the kernel refused the settings for ${where} (${describeWant(want)}): it needs Linux 5.10 or later for the GPIO character device v2, and the line must exist`);
    }
    return new GpioSetupError(`requesting ${where} as ${describeWant(want)} failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  private call(s: PinState, doing: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw new GpioSetupError(`${doing} pin ${s.pin} (${describeLine(s.line)}) failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function describeWant(want: Pick<PinState, 'mode' | 'flags' | 'debounceUs' | 'output'>): string {
  const parts: string[] = [want.mode];
  if ((want.flags & F.BIAS_PULL_UP) !== 0n) parts.push('pull up');
  if ((want.flags & F.BIAS_PULL_DOWN) !== 0n) parts.push('pull down');
  if ((want.flags & F.OPEN_DRAIN) !== 0n) parts.push('open drain');
  if ((want.flags & F.OPEN_SOURCE) !== 0n) parts.push('open source');
  if (want.debounceUs > 0) parts.push(`debounce ${want.debounceUs / 1000} ms`);
  if (want.mode === 'output') parts.push(`level ${want.output}`);
  return parts.join(', ');
}

function checkLevel(level: number): void {
  if (level !== 0 && level !== 1) throw new RangeError(`a pin level is 0 or 1, not ${level}`);
}
