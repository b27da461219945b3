// PWM in software on any GPIO output, for slow loads (a heater through a relay or a MOSFET at
// 100 Hz, a LED). Each edge is a timer on the board's clock, scheduled against the cycle's
// absolute deadlines so that timer lateness does not add up; a late cycle is dropped, not
// squeezed. Duty 0 and 1 are steady levels with no timer running.
import type { Clock, Timer } from '../../../common/clock.js';
import { PinCapabilityError, type Gpio, type Level } from '../../hal/types.js';

/**
 * Above this a timer per edge cannot keep the duty. Node's timers count whole milliseconds, so
 * an edge lands up to ~1 ms early or late and a wait under 1 ms takes 1 ms: `npm run
 * bench:soft-pwm` measured 200 Hz within 1.4 duty points at 25 %, while 500 Hz dropped one
 * cycle in five and its duty went to 50 %.
 */
export const SOFT_PWM_MAX_HZ = 200;

export interface SoftPwmEdge {
  pin: number;
  level: Level;
  /** When the write happened, on the clock. */
  at: number;
  /** When it was due. */
  due: number;
}

export interface SoftPwmOptions {
  gpio: Gpio;
  clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
  maxHz?: number;
  /** Called after every level written, e.g. for the bench to measure jitter. */
  onEdge?: (edge: SoftPwmEdge) => void;
  /** Called when a timed write fails; the pin's PWM has stopped by then. */
  onError?: (pin: number, err: unknown) => void;
}

interface PinState {
  freq: number;
  duty: number;
  level: Level;
  /** Start of the current cycle (the rising edge's deadline). */
  cycleStart: number;
  timer: Timer | undefined;
}

export class SoftPwm {
  private readonly gpio: Gpio;
  private readonly clock: SoftPwmOptions['clock'];
  private readonly maxHz: number;
  private readonly onEdge: SoftPwmOptions['onEdge'];
  private readonly onError: NonNullable<SoftPwmOptions['onError']>;
  private readonly pins = new Map<number, PinState>();

  constructor(options: SoftPwmOptions) {
    this.gpio = options.gpio;
    this.clock = options.clock;
    this.maxHz = options.maxHz ?? SOFT_PWM_MAX_HZ;
    this.onEdge = options.onEdge;
    this.onError = options.onError ?? ((pin, err) => console.error(`software PWM on GPIO ${pin} stopped: ${err instanceof Error ? err.message : String(err)}`));
  }

  set(pin: number, freq: number, duty: number): void {
    if (!Number.isFinite(freq) || freq <= 0) throw new RangeError(`a PWM frequency is a number of Hz > 0, not ${freq}`);
    if (freq > this.maxHz) {
      throw new PinCapabilityError(pin, `software PWM on GPIO ${pin} runs at most ${this.maxHz} Hz (one timer per edge), not ${freq} Hz; use a hardware PWM pin for a fast load such as a 25 kHz fan`);
    }
    if (!Number.isFinite(duty) || duty < 0 || duty > 1) throw new RangeError(`a PWM duty is 0..1, not ${duty}`);
    let s = this.pins.get(pin);
    if (s === undefined) {
      const level: Level = duty === 1 ? 1 : 0;
      this.gpio.setupOutput(pin, level);
      s = { freq, duty, level, cycleStart: this.clock.now(), timer: undefined };
      this.pins.set(pin, s);
    }
    const wasRunning = s.timer !== undefined;
    s.freq = freq;
    s.duty = duty;
    if (duty === 0 || duty === 1) {
      this.cancel(s);
      this.drive(pin, s, duty, this.clock.now());
    } else if (!wasRunning) {
      this.rise(pin, s, this.clock.now());
    } else {
      // Still within the running cycle: its remaining edge moves to where the new values put
      // it, and happens now if that is already past.
      this.cancel(s);
      const due = s.level === 1 ? s.cycleStart + this.highMs(s) : s.cycleStart + this.periodMs(s);
      if (due > this.clock.now()) this.schedule(pin, s, due);
      else if (s.level === 1) this.fall(pin, s, due);
      else this.rise(pin, s, due);
    }
  }

  /** Stops the timers and holds the line low; the pin is set up again by the next set(). */
  stop(pin: number): void {
    const s = this.pins.get(pin);
    if (s === undefined) return;
    this.cancel(s);
    this.drive(pin, s, 0, this.clock.now());
    this.pins.delete(pin);
  }

  /** The frequency and duty a pin runs at, or undefined. */
  running(pin: number): { freq: number; duty: number } | undefined {
    const s = this.pins.get(pin);
    return s === undefined ? undefined : { freq: s.freq, duty: s.duty };
  }

  /**
   * Stops every timer. A pin at duty 0 or 1 keeps its level; a pin between them cannot keep
   * pulsing once the process is gone, so it is left low (off).
   */
  close(): void {
    for (const [pin, s] of this.pins) {
      const pulsing = s.timer !== undefined;
      this.cancel(s);
      if (pulsing) this.drive(pin, s, 0, this.clock.now());
    }
  }

  private periodMs(s: PinState): number {
    return 1000 / s.freq;
  }

  private highMs(s: PinState): number {
    return (1000 / s.freq) * s.duty;
  }

  /** A rising edge due at `due`; cycles the timer missed entirely are dropped, keeping the phase. */
  private rise(pin: number, s: PinState, due: number): void {
    const period = this.periodMs(s);
    const late = this.clock.now() - due;
    const start = late > period ? due + Math.floor(late / period) * period : due;
    s.cycleStart = start;
    if (!this.drive(pin, s, 1, start)) return;
    this.schedule(pin, s, start + this.highMs(s));
  }

  private fall(pin: number, s: PinState, due: number): void {
    if (!this.drive(pin, s, 0, due)) return;
    this.schedule(pin, s, s.cycleStart + this.periodMs(s));
  }

  private schedule(pin: number, s: PinState, due: number): void {
    const next = s.level === 1 ? () => this.fall(pin, s, due) : () => this.rise(pin, s, due);
    s.timer = this.clock.setTimer(Math.max(0, due - this.clock.now()), () => {
      s.timer = undefined;
      next();
    });
  }

  private drive(pin: number, s: PinState, level: Level, due: number): boolean {
    try {
      this.gpio.write(pin, level);
    } catch (err) {
      this.cancel(s);
      this.pins.delete(pin);
      this.onError(pin, err);
      return false;
    }
    s.level = level;
    this.onEdge?.({ pin, level, at: this.clock.now(), due });
    return true;
  }

  private cancel(s: PinState): void {
    if (s.timer !== undefined) this.clock.clearTimer(s.timer);
    s.timer = undefined;
  }
}
