// The board's table of pins: what each pin is set up as, and who owns it.
import type { Actuator } from './drivers/types.js';
import type { Pull } from './hal/types.js';

interface SlotBase {
  readonly pin: number;
  /** Name from the board config, if any. */
  readonly name: string | undefined;
  /** Declared under `actuators` in the config: setup_pin may not change it. */
  readonly fixed: boolean;
}

export interface InputSlot extends SlotBase {
  readonly mode: 'input';
  readonly pull: Pull;
}

export interface OutputSlot extends SlotBase {
  readonly mode: 'output' | 'pwm';
  readonly actuator: Actuator;
  /** The value the board restores when a lease ends (protocol.md §4). */
  readonly safeValue: number;
  readonly maxLeaseS: number;
  readonly activeLow: boolean;
}

export type PinSlot = InputSlot | OutputSlot;
