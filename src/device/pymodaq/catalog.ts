// What a board looks like to PyMoDAQ (docs/pymodaq.md): sensors by address, actuators by pin,
// built once from the board config, and the `scan` listing of both.
import type { BoardConfig, PymodaqConfig } from '../config.js';
import { pymodaqAddressEntries } from '../config.js';
import { pwmOptions } from '../drivers/actuators/pwm.js';
import { SENSOR_DRIVERS } from '../drivers/sensors/index.js';
import { hex } from '../hex.js';

export interface AddressedSensor {
  address: number;
  name: string;
  driver: string;
  /** quantity → unit */
  quantities: Readonly<Record<string, string>>;
  /** What it answers without a channel: humidity where it measures it (the AHT10, as the original server), else its first quantity. */
  defaultQuantity: string;
}

export interface PinnedActuator {
  pin: number;
  name: string;
  kind: 'PWM' | 'DIGITAL';
  units: string;
  /** Hz; 0 for a digital output. */
  freq: number;
}

/** The plugin's channel names, beside the drivers' own quantity names. */
const CHANNELS: Readonly<Record<string, string>> = { hum: 'humidity', temp: 'temperature' };

/** pigpio's duty range, which the plugin's min and max are written in. */
export const PWM_RANGE = 255;

export class PymodaqCatalog {
  private readonly sensors = new Map<number, AddressedSensor>();
  private readonly actuators = new Map<number, PinnedActuator>();

  constructor(config: Readonly<BoardConfig>, pymodaq: Readonly<PymodaqConfig>) {
    for (const { address, sensor: sc } of pymodaqAddressEntries(config, pymodaq)) {
      const quantities = SENSOR_DRIVERS[sc.driver]?.quantities;
      if (quantities === undefined || this.sensors.has(address)) continue;
      const names = Object.keys(quantities);
      const defaultQuantity = names.includes('humidity') ? 'humidity' : (names[0] ?? '');
      this.sensors.set(address, { address, name: sc.name, driver: sc.driver, quantities, defaultQuantity });
    }
    for (const a of config.actuators) {
      const pwm = a.driver === 'pwm';
      this.actuators.set(a.pin, { pin: a.pin, name: a.name, kind: pwm ? 'PWM' : 'DIGITAL', units: a.units ?? '', freq: pwm ? pwmOptions.parse(a.options).freq : 0 });
    }
  }

  sensorAt(address: number): AddressedSensor | undefined {
    return this.sensors.get(address);
  }

  actuatorAt(pin: number): PinnedActuator | undefined {
    return this.actuators.get(pin);
  }

  /** The quantity a channel names on this sensor; undefined when it has no such quantity. */
  quantityOf(sensor: AddressedSensor, channel: string): string | undefined {
    const quantity = CHANNELS[channel] ?? channel;
    return Object.hasOwn(sensor.quantities, quantity) ? quantity : undefined;
  }

  /** The channels a sensor answers to, for an error that says what to send. */
  channelsOf(sensor: AddressedSensor): string[] {
    const aliases = Object.entries(CHANNELS).filter(([, q]) => Object.hasOwn(sensor.quantities, q)).map(([c]) => c);
    return [...aliases, ...Object.keys(sensor.quantities).filter((q) => !Object.values(CHANNELS).includes(q))];
  }

  describeSensors(): string {
    return [...this.sensors.values()].sort((a, b) => a.address - b.address).map((s) => `${hex(s.address)} (${s.name})`).join(', ') || 'none';
  }

  describeActuators(): string {
    return [...this.actuators.values()].map((a) => `${a.pin} (${a.name})`).join(', ') || 'none';
  }

  /** The `scan` reply's value, in the fields and order the original server gives. */
  scan(): { actuator: Array<Record<string, unknown>>; detector: Array<Record<string, unknown>> } {
    return {
      actuator: [...this.actuators.values()].map((a) => ({
        title: a.name,
        name: a.name,
        pin: a.pin,
        driver: a.kind,
        units: a.units,
        minVal: 0,
        maxVal: a.kind === 'PWM' ? PWM_RANGE : 1,
        address: null,
        frequency: a.freq,
      })),
      detector: [...this.sensors.values()]
        .sort((a, b) => a.address - b.address)
        .map((s) => ({ name: s.name, units: s.quantities[s.defaultQuantity] ?? '', address: `0x${s.address.toString(16)}`, pin: null })),
    };
  }
}
