// What a board config needs from the machine, item by item: the lines, PWM channels, buses,
// chips and kernel drivers. The Linux backend checks these before it opens anything, and
// `tether doctor` shows each one with what it found.
import { dataPinOf, type BoardConfig } from '../../config.js';
import { SENSOR_DRIVERS } from '../../drivers/sensors/index.js';
import { hex } from '../../hex.js';

interface NeedBase {
  /** Where in the config the need comes from, e.g. `actuators[1] (heater)`. */
  readonly who: string;
}

export type Need =
  | (NeedBase & { readonly kind: 'line'; readonly pin: number; readonly purpose: 'input' | 'output' | 'software PWM' })
  | (NeedBase & { readonly kind: 'pwm'; readonly pin: number })
  | (NeedBase & { readonly kind: 'i2c-bus'; readonly bus: number })
  | (NeedBase & { readonly kind: 'i2c-device'; readonly bus: number; readonly address: number; readonly driver: string })
  | (NeedBase & { readonly kind: 'onewire'; readonly pin: number | undefined; readonly rom: string | undefined })
  | (NeedBase & { readonly kind: 'dht'; readonly pin: number })
  | (NeedBase & { readonly kind: 'cpu-temperature' })
  | (NeedBase & { readonly kind: 'zeromq' });

export function needsOf(config: Readonly<BoardConfig>): Need[] {
  const needs: Need[] = [];
  const soft = new Set(config.backend.software_pwm);
  config.pins.forEach((p, i) => needs.push({ kind: 'line', pin: p.pin, purpose: p.mode, who: `pins[${i}]${p.name ? ` (${p.name})` : ''}` }));
  config.actuators.forEach((a, i) => {
    const who = `actuators[${i}] (${a.name})`;
    if (a.driver !== 'pwm') needs.push({ kind: 'line', pin: a.pin, purpose: 'output', who });
    else if (soft.has(a.pin)) needs.push({ kind: 'line', pin: a.pin, purpose: 'software PWM', who });
    else needs.push({ kind: 'pwm', pin: a.pin, who });
  });
  config.i2c.forEach((b, i) => needs.push({ kind: 'i2c-bus', bus: b.bus, who: `i2c[${i}]` }));
  config.sensors.forEach((s, i) => {
    const driver = SENSOR_DRIVERS[s.driver];
    const who = `sensors[${i}] (${s.name})`;
    if (driver === undefined) return;
    const pin = dataPinOf(s);
    if (driver.bus === 'i2c') {
      needs.push({ kind: 'i2c-device', bus: s.bus ?? 0, address: s.address ?? driver.addresses[0] ?? 0, driver: driver.id, who });
    } else if (driver.id === 'ds18b20') {
      needs.push({ kind: 'onewire', pin, rom: typeof s.options['rom'] === 'string' ? s.options['rom'] : undefined, who });
    } else if (driver.id === 'dht22' && pin !== undefined) {
      needs.push({ kind: 'dht', pin, who });
    } else if (driver.id === 'chip_temp') {
      needs.push({ kind: 'cpu-temperature', who });
    }
  });
  if (config.pymodaq !== undefined) needs.push({ kind: 'zeromq', who: 'pymodaq' });
  return needs;
}

/** One line for a need, as doctor lists them: "pin 23 as software PWM — actuators[1] (heater)". */
export function describeNeed(need: Need): string {
  switch (need.kind) {
    case 'line':
      return `pin ${need.pin} as ${need.purpose === 'software PWM' ? 'software PWM' : `an ${need.purpose}`}`;
    case 'pwm':
      return `pin ${need.pin} as hardware PWM`;
    case 'i2c-bus':
      return `I2C bus ${need.bus}`;
    case 'i2c-device':
      return `${need.driver} at ${hex(need.address)} on I2C bus ${need.bus}`;
    case 'onewire':
      return `a DS18B20${need.rom ? ` with ROM ${need.rom}` : ''} on 1-Wire${need.pin === undefined ? '' : ` (pin ${need.pin})`}`;
    case 'dht':
      return `a DHT22 on pin ${need.pin}`;
    case 'cpu-temperature':
      return 'the CPU temperature';
    case 'zeromq':
      return "ZeroMQ (the zeromq package), for PyMoDAQ's plugin";
  }
}
