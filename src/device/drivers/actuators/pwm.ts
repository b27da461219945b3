// A PWM output: dimmer, fan, heater through a MOSFET. The value is the duty cycle 0..1.
import { z } from 'zod';
import { defineActuator, type Actuator } from '../types.js';

export const pwmOptions = z.strictObject({
  /** PWM frequency in Hz until a write gives another. */
  freq: z.number().int().min(1).default(1000),
});

/** A PWM actuator also takes a frequency per write; it stays in force for later writes. */
export interface PwmActuator extends Actuator {
  readonly kind: 'pwm';
  apply(duty: number, freq?: number): void;
  /** The frequency in Hz the pin runs at now. */
  frequency(): number;
}

export const pwm = defineActuator({
  id: 'pwm',
  summary: 'A PWM output (dimmer, fan); value = duty 0..1',
  optionsSchema: pwmOptions,
  create({ pin, pwm: hw, options }): PwmActuator {
    let duty = 0;
    let freq = options.freq;
    const set = (d: number, f: number): void => {
      if (!Number.isFinite(d) || d < 0 || d > 1) throw new RangeError(`a PWM duty is 0..1, not ${d}`);
      if (!Number.isFinite(f) || f <= 0) throw new RangeError(`a PWM frequency is a number of Hz > 0, not ${f}`);
      hw.set(pin, f, d);
      duty = d;
      freq = f;
    };
    return {
      kind: 'pwm',
      init: (safeValue) => set(safeValue, freq),
      apply: (d, f) => set(d, f ?? freq),
      current: () => duty,
      frequency: () => freq,
    };
  },
});

/** Narrows an actuator from the registry to the PWM kind, to pass a frequency with a write. */
export function isPwmActuator(a: Actuator): a is PwmActuator {
  return a.kind === 'pwm' && typeof (a as Partial<PwmActuator>).frequency === 'function';
}
