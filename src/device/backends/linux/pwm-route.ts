// Which way a pin runs PWM on the Linux backend: a pin listed in backend.software_pwm in
// software; a pin with a hardware channel (backend.pwm, or the Raspberry Pi's map) on that
// channel through sysfs; any other pin is refused, naming the pins that can and the config line
// that adds one. LinuxPwm drives pins this way; the start-up check asks it without driving.
import type { BoardConfig } from '../../config.js';
import { PinCapabilityError } from '../../hal/types.js';
import type { BoardKind } from './board-model.js';
import { findPiPwmChip, PI_PWM_CHANNELS, pwmOverlayAdvice, pwmOverlayLine } from './pi-pwm-map.js';
import { under, type KernelRoots } from './roots.js';
import { SOFT_PWM_MAX_HZ } from './soft-pwm.js';
import type { SysfsIo } from './sysfs-io.js';
import { listPwmChips, type PwmChannel } from './sysfs-pwm.js';

export type PwmRoute = { kind: 'software' } | ({ kind: 'hardware'; from: 'config' | 'map' } & PwmChannel);

export interface PwmRouterOptions {
  roots: KernelRoots;
  backend: Pick<BoardConfig['backend'], 'pwm' | 'software_pwm'>;
  /** Which Raspberry Pi map applies. */
  kind: BoardKind;
  io: SysfsIo;
  softMaxHz?: number;
}

export class PwmRouter {
  private readonly options: PwmRouterOptions;
  private readonly kind: BoardKind;
  private readonly softPins: ReadonlySet<number>;
  private piChip: number | undefined;

  constructor(options: PwmRouterOptions) {
    this.options = options;
    this.kind = options.kind;
    this.softPins = new Set(options.backend.software_pwm);
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

  private findPiChip(pin: number): number {
    if (this.piChip !== undefined) return this.piChip;
    const chips = listPwmChips(this.options.roots, this.options.io);
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
