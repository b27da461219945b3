// Chooses the hardware backend for a board config.
import type { Clock } from '../common/clock.js';
import type { BoardConfig } from './config.js';
import type { Hardware } from './hal/types.js';
import { createSimHardware } from './sim/sim-hardware.js';

export interface BackendOptions {
  /** Use simulated pins, ADC and I2C chips; only ever on request. */
  sim: boolean;
  clock: Clock;
}

export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

export function openHardware(config: Readonly<BoardConfig>, options: BackendOptions): Hardware {
  if (options.sim) return createSimHardware(config, options.clock);
  // Never fall back to simulated values: a user who asked for real pins must get real pins.
  throw new BackendUnavailableError(
    'no real hardware backend is available in this version of tether (the Linux GPIO/I2C backend is not built yet); ' +
      'run with --sim to use simulated pins and chips',
  );
}
