// PWM on the Linux backend: each pin runs the way PwmRouter says (software PWM, or a hardware
// channel through sysfs), and two pins never drive one channel at once.
import type { Clock } from '../../../common/clock.js';
import type { BoardConfig } from '../../config.js';
import { PinCapabilityError, type Gpio, type Pwm } from '../../hal/types.js';
import { detectBoardModel, type BoardKind } from './board-model.js';
import { PwmRouter, type PwmRoute } from './pwm-route.js';
import type { KernelRoots } from './roots.js';
import { SOFT_PWM_MAX_HZ, SoftPwm, type SoftPwmOptions } from './soft-pwm.js';
import { nodeSysfsIo, type SysfsIo } from './sysfs-io.js';
import { SysfsPwm } from './sysfs-pwm.js';

export type { PwmRoute } from './pwm-route.js';

export interface LinuxPwmOptions {
  roots: KernelRoots;
  backend: Pick<BoardConfig['backend'], 'pwm' | 'software_pwm'>;
  /** The GPIO lines software PWM toggles. */
  gpio: Gpio;
  /** Software PWM's timers. */
  clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
  /** Which Raspberry Pi map applies; read from the device tree when absent. */
  kind?: BoardKind;
  io?: SysfsIo;
  /** Passed to SysfsPwm: a test creates the exported channel's folder here. */
  sleepSync?: (ms: number) => void;
  exportTimeoutMs?: number;
  softMaxHz?: number;
  onSoftError?: SoftPwmOptions['onError'];
}

export class LinuxPwm implements Pwm {
  readonly soft: SoftPwm;
  readonly hard: SysfsPwm;
  private readonly router: PwmRouter;
  /** Hardware pins running now, by channel, so two pins never drive one channel. */
  private readonly channelUser = new Map<string, number>();

  constructor(options: LinuxPwmOptions) {
    const io = options.io ?? nodeSysfsIo;
    const kind = options.kind ?? detectBoardModel(options.roots, io).kind;
    this.router = new PwmRouter({ roots: options.roots, backend: options.backend, kind, io, ...(options.softMaxHz !== undefined ? { softMaxHz: options.softMaxHz } : {}) });
    this.soft = new SoftPwm({ gpio: options.gpio, clock: options.clock, maxHz: options.softMaxHz ?? SOFT_PWM_MAX_HZ, ...(options.onSoftError ? { onError: options.onSoftError } : {}) });
    this.hard = new SysfsPwm({
      roots: options.roots,
      io,
      ...(options.sleepSync ? { sleepSync: options.sleepSync } : {}),
      ...(options.exportTimeoutMs !== undefined ? { exportTimeoutMs: options.exportTimeoutMs } : {}),
    });
  }

  /** How a pin would run PWM; throws a PinCapabilityError naming the pins that can, and the config line to add. */
  route(pin: number): PwmRoute {
    return this.router.route(pin);
  }

  set(pin: number, freq: number, duty: number): void {
    if (!Number.isFinite(freq) || freq <= 0) throw new RangeError(`a PWM frequency is a number of Hz > 0, not ${freq}`);
    if (!Number.isFinite(duty) || duty < 0 || duty > 1) throw new RangeError(`a PWM duty is 0..1, not ${duty}`);
    const route = this.route(pin);
    if (route.kind === 'software') {
      this.soft.set(pin, freq, duty);
      return;
    }
    const key = `${route.chip}/${route.channel}`;
    const user = this.channelUser.get(key);
    if (user !== undefined && user !== pin) {
      throw new PinCapabilityError(pin, `GPIO ${pin} and GPIO ${user} share channel ${route.channel} of pwmchip${route.chip}, so they cannot run PWM at once; stop GPIO ${user} first or use the other pin of the pair`);
    }
    this.hard.set(route, freq, duty);
    this.channelUser.set(key, pin);
  }

  /** Duty 0 first, then off: software PWM holds the line low, a hardware channel is disabled at duty 0. */
  stop(pin: number): void {
    let route: PwmRoute;
    try {
      route = this.route(pin);
    } catch (err) {
      if (err instanceof PinCapabilityError) return; // a pin that cannot run PWM is not running it
      throw err;
    }
    if (route.kind === 'software') {
      this.soft.stop(pin);
      return;
    }
    this.hard.stop(route);
    const key = `${route.chip}/${route.channel}`;
    if (this.channelUser.get(key) === pin) this.channelUser.delete(key);
  }

  /**
   * Called as the backend closes, after the board has set every output to its safe value.
   * Software PWM stops its timers (a pin between duty 0 and 1 is left low). Hardware channels
   * are left exported and running at the duty the board set: the PWM block keeps that duty
   * after the process exits, which is the safe state. Unexporting would not make it safer: in
   * the kernel's sysfs code unexport only releases the channel, so on current kernels the pin
   * keeps pulsing with nobody in control, and on older Pi kernels the bcm2835 driver stopped
   * the channel on release while the kernel still believed it enabled.
   */
  close(): void {
    this.soft.close();
  }
}
