// The Linux backend: real pins and chips through the kernel. Assembled from the GPIO, I2C,
// PWM and sysfs sensor modules beside this file.
import type { BoardConfig } from '../../config.js';
import type { Hardware } from '../../hal/types.js';
import { BackendUnavailableError, type BackendContext } from '../index.js';

export function openLinuxHardware(config: Readonly<BoardConfig>, ctx: BackendContext): Promise<Hardware> {
  void config;
  return Promise.reject(new BackendUnavailableError(`${ctx.source}: the Linux backend is being built; run with --sim to use simulated pins and chips`));
}
