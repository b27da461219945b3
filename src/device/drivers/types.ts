// Driver definitions (STYLE.md: registries for drivers). One file per driver exports one of
// these; drivers/sensors/index.ts and drivers/actuators/index.ts list them.
import type { z } from 'zod';
import type { Clock } from '../../common/clock.js';
import type { Adc, Gpio, Hardware, I2cBus, Pwm } from '../hal/types.js';

/** A sensor reading: quantity name → value in the unit the driver declares. */
export type Values = Record<string, number>;

export interface Sensor {
  /** Probes and configures the chip; throws a clear error when it is absent. */
  init(): Promise<void>;
  read(): Promise<Values>;
}

export interface SensorContext<O> {
  /** The I2C bus, for drivers with `bus: "i2c"`. */
  bus: I2cBus | undefined;
  address: number | undefined;
  adc: Adc;
  /** The backend's 1-Wire, DHT and processor-temperature access, for drivers that need them. */
  hardware: Pick<Hardware, 'oneWire' | 'dht' | 'cpuTemperature'>;
  clock: Clock;
  options: O;
}

/**
 * How a sensor is reached: an I2C bus (with `bus` and `address` in the config), the ADC, a
 * data pin of its own (1-Wire, DHT; `options.pin`), or the processor itself.
 */
export type SensorBus = 'i2c' | 'adc' | 'pin' | 'internal';

export interface SensorDriver<O = unknown> {
  readonly id: string;
  readonly summary: string;
  readonly bus: SensorBus;
  /** I2C addresses the chip can answer at; the first is the default. */
  readonly addresses: readonly number[];
  /** Quantity name → unit, e.g. { temperature: "°C" }. */
  readonly quantities: Readonly<Record<string, string>>;
  readonly optionsSchema: z.ZodType<O>;
  create(ctx: SensorContext<O>): Sensor;
}

/** Thrown by a driver when a chip answers with data that cannot be right. */
export class SensorFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SensorFault';
  }
}

export interface ActuatorContext<O> {
  pin: number;
  gpio: Gpio;
  pwm: Pwm;
  options: O;
}

/** How an actuator turns a logical value (0|1 or a duty 0..1) into pin activity. */
export interface Actuator {
  readonly kind: 'digital' | 'pwm';
  /** Puts the pin in its safe state at start. */
  init(safeValue: number): void;
  apply(value: number): void;
  /** The logical value the pin shows now. */
  current(): number;
}

export interface ActuatorDriver<O = unknown> {
  readonly id: string;
  readonly summary: string;
  readonly optionsSchema: z.ZodType<O>;
  create(ctx: ActuatorContext<O>): Actuator;
}

/** Widens a typed driver to the registry's element type; the options schema keeps them in step. */
export function defineSensor<O>(driver: SensorDriver<O>): SensorDriver {
  return driver;
}

export function defineActuator<O>(driver: ActuatorDriver<O>): ActuatorDriver {
  return driver;
}
