// PWM on the Linux backend: a pin listed in backend.software_pwm runs in software; a pin with a
// hardware channel (backend.pwm, or the Raspberry Pi's map) runs on that channel through sysfs;
// any other pin is refused, naming the pins that can and the config line that adds one.
import type { Clock } from '../../../common/clock.js';
import type { BoardConfig } from '../../config.js';
import { PinCapabilityError, type Gpio, type Pwm } from '../../hal/types.js';
import { detectBoardModel, type BoardKind } from './board-model.js';
import { findPiPwmChip, PI_PWM_CHANNELS, pwmOverlayAdvice, pwmOverlayLine } from './pi-pwm-map.js';
import { under, type KernelRoots } from './roots.js';
import { SOFT_PWM_MAX_HZ, SoftPwm, type SoftPwmOptions } from './soft-pwm.js';
import { nodeSysfsIo, type SysfsIo } from './sysfs-io.js';
import { listPwmChips, SysfsPwm, type PwmChannel } from './sysfs-pwm.js';

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

/** A pin that cannot run PWM as asked here; the message says which pins can and what to add. */

export type PwmRoute = { kind: 'software' } | ({ kind: 'hardware'; from: 'config' | 'map' } & PwmChannel);

export class LinuxPwm implements Pwm {
  readonly soft: SoftPwm;
  readonly hard: SysfsPwm;
  private readonly options: LinuxPwmOptions;
  private readonly kind: BoardKind;
  private readonly io: SysfsIo;
  private readonly softPins: ReadonlySet<number>;
  private piChip: number | undefined;
  /** Hardware pins running now, by channel, so two pins never drive one channel. */
  private readonly channelUser = new Map<string, number>();

  constructor(options: LinuxPwmOptions) {
    this.options = options;
    this.io = options.io ?? nodeSysfsIo;
    this.kind = options.kind ?? detectBoardModel(options.roots, this.io).kind;
    this.softPins = new Set(options.backend.software_pwm);
    this.soft = new SoftPwm({ gpio: options.gpio, clock: options.clock, maxHz: options.softMaxHz ?? SOFT_PWM_MAX_HZ, ...(options.onSoftError ? { onError: options.onSoftError } : {}) });
    this.hard = new SysfsPwm({
      roots: options.roots,
      io: this.io,
      ...(options.sleepSync ? { sleepSync: options.sleepSync } : {}),
      ...(options.exportTimeoutMs !== undefined ? { exportTimeoutMs: options.exportTimeoutMs } : {}),
    });
  }

  /** How a pin would run PWM; throws a PinCapabilityError naming the pins that can, and the config line to add. */
  route(pin: number): PwmRoute {
    if (this.softPins.has(pin)) return { kind: 'software' };
    const configured = this.options.backend.pwm.find((p) => p.pin === pin);
    if (configured !== undefined) return { kind: 'hardware', from: 'config', chip: configured.chip, channel: configured.channel };
    const channel = this.kind === 'other' ? undefined : PI_PWM_CHANNELS[this.kind][pin];
    if (channel === undefined) throw new PinCapabilityError(pin, this.noPwmMessage(pin));
    return { kind: 'hardware', from: 'map', chip: this.findPiChip(pin), channel };
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

  private findPiChip(pin: number): number {
    if (this.piChip !== undefined) return this.piChip;
    const chips = listPwmChips(this.options.roots, this.io);
    const found = this.kind === 'other' ? undefined : findPiPwmChip(chips, this.kind);
    if (found === undefined) {
      const board = this.kind === 'pi5' ? 'a Raspberry Pi 5 (the RP1 chip’s PWM0)' : 'a Raspberry Pi (the SoC’s PWM0)';
      const seen = chips.length > 0 ? `the PWM chips here (${chips.map((c) => `pwmchip${c.chip}${c.device ? ` = ${c.device}` : ''}`).join(', ')}) are not it` : `there is no PWM chip under ${under(this.options.roots.sys, 'class/pwm')}`;
      throw new PinCapabilityError(
        pin,
        `GPIO ${pin} has hardware PWM on ${board}, but ${seen}: ${pwmOverlayAdvice(pin)}; or name the channel in the board config (backend.pwm: [{ pin: ${pin}, chip: N, channel: M }]), or run it in software (backend.software_pwm: [${pin}])`,
      );
    }
    this.piChip = found.chip;
    return found.chip;
  }

  private noPwmMessage(pin: number): string {
    const hardware = [...new Set([...this.options.backend.pwm.map((p) => p.pin), ...(this.kind === 'other' ? [] : Object.keys(PI_PWM_CHANNELS[this.kind]).map(Number))])].sort((a, b) => a - b);
    const software = [...this.softPins].sort((a, b) => a - b);
    const piHint = this.kind === 'other' ? '' : ` (on a Raspberry Pi, GPIO 12, 13, 18 and 19 with ${pwmOverlayLine(18)} or ${pwmOverlayLine(12)} in /boot/firmware/config.txt)`;
    return (
      `GPIO ${pin} cannot run PWM here: hardware PWM pins: ${hardware.length > 0 ? hardware.join(', ') : 'none'}${piHint}; software PWM pins: ${software.length > 0 ? software.join(', ') : 'none'}. ` +
      `To run GPIO ${pin} in software (at most ${this.options.softMaxHz ?? SOFT_PWM_MAX_HZ} Hz, for slow loads such as a heater), add it to the board config: backend: { software_pwm: [${[...software, pin].sort((a, b) => a - b).join(', ')}] }`
    );
  }
}
