// Simulated PWM: records each pin's frequency and duty for tests and the dashboard.
import type { Pwm } from '../hal/types.js';

export interface PwmChannel {
  freq: number;
  duty: number;
}

export class SimPwm implements Pwm {
  private readonly pinCount: number;
  private readonly channels = new Map<number, PwmChannel>();

  constructor(pinCount: number) {
    this.pinCount = pinCount;
  }

  set(pin: number, freq: number, duty: number): void {
    this.check(pin);
    if (!Number.isFinite(freq) || freq <= 0) throw new RangeError(`a PWM frequency is a number of Hz > 0, not ${freq}`);
    if (!Number.isFinite(duty) || duty < 0 || duty > 1) throw new RangeError(`a PWM duty is 0..1, not ${duty}`);
    this.channels.set(pin, { freq, duty });
  }

  stop(pin: number): void {
    this.check(pin);
    this.channels.delete(pin);
  }

  /** The pin's frequency and duty, or undefined when it is not running PWM. */
  channel(pin: number): PwmChannel | undefined {
    const c = this.channels.get(pin);
    return c === undefined ? undefined : { ...c };
  }

  private check(pin: number): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= this.pinCount) {
      throw new RangeError(`pin ${pin} does not exist: this board has pins 0–${this.pinCount - 1}`);
    }
  }
}
