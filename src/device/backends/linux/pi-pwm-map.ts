// Which Raspberry Pi GPIOs reach a hardware PWM channel, and which sysfs chip that is.
//
// Pi 0–4: the SoC's PWM0 block (/soc/pwm@7e20c000, "brcm,bcm2835-pwm") has two channels;
// GPIO 12 and 18 can carry channel 0, GPIO 13 and 19 channel 1 (the overlay README's table:
// PWM0: 12,4(Alt0) 18,2(Alt5); PWM1: 13,4(Alt0) 19,2(Alt5)). The pwm-2chan overlay routes
// them; its defaults are pin=18, pin2=19.
// Pi 5: PWM lives on the RP1 chip. Its PWM0 block (rp1.dtsi: pwm@98000, "raspberrypi,rp1-pwm",
// four channels) carries channel 0 on GPIO 12, 1 on 13, 2 on 18 and 3 on 19 (RP1 pin function
// table). bcm2712-rpi.dtsi labels it `pwm`, so the same pwm-2chan overlay enables it; that the
// RP1 pin controller reads the overlay's BCM2711 function numbers (func=2 on 18/19, 4 on 12/13)
// as the RP1's PWM functions is what Raspberry Pi engineers say on their forum, not something
// read in the pin controller's source here. RP1's PWM1 (pwm@9c000) drives the fan connector.
import type { BoardKind } from './board-model.js';
import type { PwmChipInfo } from './sysfs-pwm.js';

export type PiKind = Exclude<BoardKind, 'other'>;

/** GPIO → channel on the Pi's header PWM block. */
export const PI_PWM_CHANNELS: Readonly<Record<PiKind, Readonly<Record<number, number>>>> = Object.freeze({
  pi: Object.freeze({ 12: 0, 13: 1, 18: 0, 19: 1 }),
  pi5: Object.freeze({ 12: 0, 13: 1, 18: 2, 19: 3 }),
});

const CONFIG_TXT = '/boot/firmware/config.txt';

/** The config.txt line that routes a header PWM pin (and its partner) to the PWM block. */
export function pwmOverlayLine(pin: number): string {
  return pin === 12 || pin === 13 ? 'dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4' : 'dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2';
}

export function pwmOverlayAdvice(pin: number): string {
  return `add ${pwmOverlayLine(pin)} to ${CONFIG_TXT} and reboot`;
}

const PI_CHIP: Readonly<Record<PiKind, { compatible: string; ofName: RegExp; device: RegExp }>> = {
  pi: { compatible: 'brcm,bcm2835-pwm', ofName: /\/pwm@7e20c000$/, device: /20c000\.pwm$/ },
  pi5: { compatible: 'raspberrypi,rp1-pwm', ofName: /\/pwm@98000$/, device: /98000\.pwm$/ },
};

/**
 * The chip number of the header PWM block. The number is not fixed (pwmchip0 on a Pi 4; Pi 5
 * users report pwmchip0 and pwmchip2, the fan's block being one of them, and kernels have
 * changed how chips are numbered), so the chip is found by the device-tree node in its
 * device/uevent (OF_FULLNAME, OF_COMPATIBLE_n), or failing that by the platform device's name
 * (fe20c000.pwm, 1f00098000.pwm), which carries the node's address. Neither was read on a Pi
 * here: they are how the kernel names platform devices made from device-tree nodes.
 */
export function findPiPwmChip(chips: readonly PwmChipInfo[], kind: PiKind): PwmChipInfo | undefined {
  const want = PI_CHIP[kind];
  const byNode = chips.filter((c) => c.compatible.includes(want.compatible) && c.ofName !== undefined && want.ofName.test(c.ofName));
  if (byNode.length === 1) return byNode[0];
  const byDevice = chips.filter((c) => c.device !== undefined && want.device.test(c.device));
  return byDevice.length === 1 ? byDevice[0] : undefined;
}
