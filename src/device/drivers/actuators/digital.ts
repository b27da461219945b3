// A digital output: relay, LED, buzzer. Logical 1 means "on"; active_low inverts the pin.
import { z } from 'zod';
import type { Level } from '../../hal/types.js';
import { defineActuator, type Actuator } from '../types.js';

export const digitalOptions = z.strictObject({
  /** The load is on when the pin is low (most relay boards). */
  active_low: z.boolean().default(false),
  /** open_drain for a line shared with other drivers or pulled up to another voltage. */
  drive: z.enum(['push_pull', 'open_drain', 'open_source'], { error: 'expected "push_pull", "open_drain" or "open_source"' }).default('push_pull'),
});

export const digital = defineActuator({
  id: 'digital',
  summary: 'A digital output (relay, LED); 1 = on',
  optionsSchema: digitalOptions,
  create({ pin, gpio, options }): Actuator {
    let value: Level = 0;
    const physical = (v: Level): Level => (options.active_low ? (v === 1 ? 0 : 1) : v);
    return {
      kind: 'digital',
      init(safeValue) {
        value = toLevel(safeValue);
        gpio.setupOutput(pin, physical(value), { drive: options.drive });
      },
      apply(v) {
        const level = toLevel(v);
        gpio.write(pin, physical(level));
        value = level;
      },
      current: () => value,
    };
  },
});

function toLevel(v: number): Level {
  if (v !== 0 && v !== 1) throw new RangeError(`a digital output takes 0 or 1, not ${v}`);
  return v;
}
