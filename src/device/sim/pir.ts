// Simulated PIR motion sensors (of the HC-SR501 kind): each pin goes high for hold_s at seeded
// random moments, mean_interval_s apart on average, timed by the board's clock.
import type { Clock, Timer } from '../../common/clock.js';
import type { SimGpio } from './sim-gpio.js';

export interface PirSpec {
  pin: number;
  mean_interval_s: number;
  hold_s: number;
}

export class SimPir {
  private readonly timers = new Map<number, Timer>();
  private readonly counts = new Map<number, number>();
  private running = false;

  constructor(
    private readonly gpio: SimGpio,
    private readonly clock: Clock,
    private readonly specs: readonly PirSpec[],
    /** A seeded random stream per pin. */
    private readonly random: (pin: number) => () => number,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const spec of this.specs) {
      this.gpio.drive(spec.pin, 0);
      this.idle(spec, this.random(spec.pin));
    }
  }

  /** Stops all timers; the pins stay low. */
  stop(): void {
    this.running = false;
    for (const t of this.timers.values()) this.clock.clearTimer(t);
    this.timers.clear();
    for (const spec of this.specs) this.gpio.drive(spec.pin, 0);
  }

  /** Motion events so far on a pin. */
  events(pin: number): number {
    return this.counts.get(pin) ?? 0;
  }

  private idle(spec: PirSpec, rand: () => number): void {
    // Exponential gaps: motion as a Poisson process with the configured mean.
    const gapMs = Math.max(1, Math.round(-Math.log(1 - rand()) * spec.mean_interval_s * 1000));
    this.timers.set(spec.pin, this.clock.setTimer(gapMs, () => {
      this.counts.set(spec.pin, this.events(spec.pin) + 1);
      this.gpio.drive(spec.pin, 1);
      this.timers.set(spec.pin, this.clock.setTimer(Math.round(spec.hold_s * 1000), () => {
        this.gpio.drive(spec.pin, 0);
        if (this.running) this.idle(spec, rand);
      }));
    }));
  }
}
