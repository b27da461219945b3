// Simulated GPIO. Tests play the outside world with drive(); outputs record their level, and
// level() shows what a multimeter on the pin would read.
import type { Drive, EdgeListener, Gpio, InputOptions, Level, OutputOptions, Pull } from '../hal/types.js';

export type SimPinMode = 'unused' | 'input' | 'output';

interface PinState {
  mode: SimPinMode;
  pull: Pull;
  output: Level;
  /** A level something outside the board drives onto the pin, if any. */
  external: Level | undefined;
  watchers: Set<(level: Level) => void>;
  /** Kept so tests see what the board asked of the line; the simulator has no bounce to filter. */
  debounceMs: number | undefined;
  drive: Drive;
}

export class SimGpio implements Gpio {
  readonly pinCount: number;
  private readonly pins: PinState[];

  constructor(pinCount: number) {
    this.pinCount = pinCount;
    this.pins = Array.from({ length: pinCount }, () => ({ mode: 'unused', pull: 'none', output: 0, external: undefined, watchers: new Set(), debounceMs: undefined, drive: 'push_pull' }));
  }

  has(pin: number): boolean {
    return Number.isInteger(pin) && pin >= 0 && pin < this.pinCount;
  }

  setupInput(pin: number, pull: Pull, options: InputOptions = {}): void {
    this.change(pin, (p) => {
      p.mode = 'input';
      p.pull = pull;
      p.debounceMs = options.debounceMs;
    });
  }

  setupOutput(pin: number, level: Level, options: OutputOptions = {}): void {
    checkLevel(level);
    this.change(pin, (p) => {
      p.mode = 'output';
      p.output = level;
      p.drive = options.drive ?? 'push_pull';
    });
  }

  read(pin: number): Level {
    const p = this.state(pin);
    if (p.mode === 'unused') throw new Error(`pin ${pin} is not set up; set it up as an input or an output first`);
    return physical(p);
  }

  write(pin: number, level: Level): void {
    checkLevel(level);
    const p = this.state(pin);
    if (p.mode !== 'output') throw new Error(`pin ${pin} is not an output; set it up as an output first`);
    this.change(pin, (q) => {
      q.output = level;
    });
  }

  watch(pin: number, onChange: EdgeListener): () => void {
    const p = this.state(pin);
    const watcher = (level: Level): void => onChange(level);
    p.watchers.add(watcher);
    return () => {
      p.watchers.delete(watcher);
    };
  }

  release(pin: number): void {
    this.state(pin).watchers.clear();
    this.change(pin, (p) => {
      p.mode = 'unused';
      p.pull = 'none';
      p.output = 0;
    });
  }

  // --- for tests and the simulated world ---------------------------------------------------

  /** Drives a level onto the pin from outside (a button, a PIR); undefined lets it float again. */
  drive(pin: number, level: Level | undefined): void {
    if (level !== undefined) checkLevel(level);
    this.change(pin, (p) => {
      p.external = level;
    });
  }

  /** The physical level on the pin now (an active-low relay that is on shows 0). */
  level(pin: number): Level {
    return physical(this.state(pin));
  }

  mode(pin: number): SimPinMode {
    return this.state(pin).mode;
  }

  pull(pin: number): Pull {
    return this.state(pin).pull;
  }

  /** What the board asked of the line beyond its mode and pull. */
  lineOptions(pin: number): { debounceMs: number | undefined; drive: Drive } {
    const p = this.state(pin);
    return { debounceMs: p.debounceMs, drive: p.drive };
  }

  /** Watchers on a pin, to check that they are removed. */
  watcherCount(pin: number): number {
    return this.state(pin).watchers.size;
  }

  private state(pin: number): PinState {
    const p = this.has(pin) ? this.pins[pin] : undefined;
    if (p === undefined) throw new RangeError(`pin ${pin} does not exist: this board has pins 0–${this.pinCount - 1}`);
    return p;
  }

  /** Applies a change and tells the watchers when the physical level moved. */
  private change(pin: number, fn: (p: PinState) => void): void {
    const p = this.state(pin);
    const before = physical(p);
    fn(p);
    const after = physical(p);
    if (after !== before) for (const w of [...p.watchers]) w(after);
  }
}

/** An output drives its own level; otherwise an outside driver wins, then the pull (none reads 0). */
function physical(p: PinState): Level {
  if (p.mode === 'output') return p.output;
  if (p.external !== undefined) return p.external;
  return p.mode === 'input' && p.pull === 'up' ? 1 : 0;
}

function checkLevel(level: number): void {
  if (level !== 0 && level !== 1) throw new RangeError(`a pin level is 0 or 1, not ${level}`);
}
