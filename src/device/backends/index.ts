// The hardware backends by name (STYLE.md: backends as a registry). The board config's
// `backend.kind` names one; `tether device --sim` picks the simulator whatever it says.
import type { Clock } from '../../common/clock.js';
import type { BoardConfig } from '../config.js';
import type { Hardware } from '../hal/types.js';
import { createSimHardware } from '../sim/sim-hardware.js';

export interface BackendContext {
  clock: Clock;
  /** Where the config came from (a file path, or "demo board"), so start-up errors can name it. */
  source: string;
  /** The environment the backend reads its roots from (TETHER_SYSFS_ROOT …). */
  env: NodeJS.ProcessEnv;
}

export interface Backend {
  readonly kind: BoardConfig['backend']['kind'];
  readonly summary: string;
  open(config: Readonly<BoardConfig>, ctx: BackendContext): Promise<Hardware>;
}

/** A backend that cannot run here; the message says what is missing and what to do. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

const sim: Backend = {
  kind: 'sim',
  summary: 'simulated pins, ADC and I2C chips built from the config',
  open: (config, ctx) => Promise.resolve(createSimHardware(config, ctx.clock)),
};

const linux: Backend = {
  kind: 'linux',
  summary: 'real pins and chips through the Linux kernel (GPIO character device, /dev/i2c-N, sysfs PWM, 1-Wire, IIO)',
  // Loaded on demand: the simulator and the CLI's other commands never load the FFI.
  open: async (config, ctx) => (await import('./linux/index.js')).openLinuxHardware(config, ctx),
};

export const BACKENDS: Readonly<Record<Backend['kind'], Backend>> = Object.freeze({ sim, linux });

export interface OpenOptions extends Partial<Omit<BackendContext, 'clock'>> {
  /** Use simulated pins, ADC and I2C chips whatever the config says; only ever on request. */
  sim: boolean;
  clock: Clock;
}

/** Opens the backend the config (or --sim) asks for. Never falls back to simulated values. */
export function openHardware(config: Readonly<BoardConfig>, options: OpenOptions): Promise<Hardware> {
  const backend = BACKENDS[options.sim ? 'sim' : config.backend.kind];
  return backend.open(config, { clock: options.clock, source: options.source ?? 'config', env: options.env ?? process.env });
}
