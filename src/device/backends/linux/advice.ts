// The exact lines to run or add when something the board config needs is missing here: one
// place, so `tether device` at start and `tether doctor` give the same advice.

/** Raspberry Pi OS Bookworm and later; older releases read /boot/config.txt. */
export const BOOT_CONFIG = '/boot/firmware/config.txt';

const reboot = 'then reboot';

/** The kernel module that makes /dev/i2c-N exists once the bus is on. */
export function enableI2c(bus: number): string {
  const param = bus === 1 ? 'dtparam=i2c_arm=on' : bus === 0 ? 'dtparam=i2c_vc=on' : `dtoverlay=i2c${bus}`;
  const raspiConfig = bus === 1 ? 'turn I2C on with sudo raspi-config nonint do_i2c 0, or ' : '';
  return `${raspiConfig}add ${param} to ${BOOT_CONFIG} (and i2c-dev to /etc/modules), ${reboot}`;
}

/** `pin` undefined: the user has not said which GPIO the probes are on. */
export function enableOneWire(pin: number | undefined): string {
  return `add dtoverlay=w1-gpio,gpiopin=${pin ?? 'N'}${pin === undefined ? " (N = the data pin's GPIO)" : ''} to ${BOOT_CONFIG} and reboot`;
}

export function enableDht(pin: number): string {
  return `add dtoverlay=dht11,gpiopin=${pin} to ${BOOT_CONFIG} and reboot (the kernel's dht11 driver reads DHT22s too)`;
}

/** For a node whose group this user is not in. */
export function joinGroup(group: string): string {
  return `add your user to the ${group} group (sudo usermod -aG ${group} $USER), then log out and in again`;
}

/** Which group the Raspberry Pi OS udev rules give each kind of node. */
export type NodeKind = 'gpio' | 'i2c' | 'pwm';

const UDEV: Record<NodeKind, string> = {
  gpio: 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"',
  i2c: 'SUBSYSTEM=="i2c-dev", KERNEL=="i2c-[0-9]*", GROUP="i2c", MODE="0660"',
  pwm: 'SUBSYSTEM=="pwm*", PROGRAM="/bin/sh -c \'chgrp -R gpio /sys%p && chmod -R g=u /sys%p\'"',
};

/**
 * Access to a node this user may not open: join the group that owns it, or, when the node
 * belongs to root alone (a distribution without the Pi's rules), add a udev rule first.
 */
export function grantAccess(kind: NodeKind, path: string, group: string | undefined): string {
  const wanted = kind === 'i2c' ? 'i2c' : 'gpio';
  if (group !== undefined && group !== 'root') {
    return `${path} belongs to the group ${group}: ${joinGroup(group)} (a service gets it with SupplementaryGroups=${group})`;
  }
  return (
    `${path} is for root only: add the line \`${UDEV[kind]}\` to /etc/udev/rules.d/60-tether.rules, ` +
    `run \`sudo groupadd -f ${wanted} && sudo usermod -aG ${wanted} $USER\` and \`sudo udevadm control --reload && sudo udevadm trigger\`, then log out and in again`
  );
}
