// The hardware abstraction (ARCHITECTURE.md: device runtime). Backends implement these
// interfaces; drivers and the board use nothing else, so the same driver runs over a
// simulated chip in tests and over a real bus on a Pi.

export type Level = 0 | 1;
export type Pull = 'up' | 'down' | 'none';
export type Edge = 'rising' | 'falling' | 'both';

/** How an output drives its line; open drain/source need an outside pull resistor. */
export type Drive = 'push_pull' | 'open_drain' | 'open_source';

export interface InputOptions {
  /** Changes shorter than this are ignored (the kernel's debounce on Linux). */
  debounceMs?: number;
}

export interface OutputOptions {
  drive?: Drive;
}

/**
 * Called on a level change of a watched input. `at` is when the edge happened on the
 * backend's clock (Clock.now() scale), from the kernel's timestamp where there is one, so
 * an event sent late still says when the edge was.
 */
export type EdgeListener = (level: Level, at?: number) => void;

export interface Gpio {
  /** Whether this pin exists on the board. */
  has(pin: number): boolean;
  setupInput(pin: number, pull: Pull, options?: InputOptions): void;
  setupOutput(pin: number, level: Level, options?: OutputOptions): void;
  read(pin: number): Level;
  write(pin: number, level: Level): void;
  /** Calls back on every level change of an input pin; returns the function that stops it. */
  watch(pin: number, onChange: EdgeListener): () => void;
  /** Returns the pin to a high-impedance, unused state. */
  release(pin: number): void;
}

export interface Pwm {
  /** Starts or updates PWM on a pin. `duty` is 0..1. */
  set(pin: number, freq: number, duty: number): void;
  stop(pin: number): void;
}

export interface Adc {
  /** Pins that can be read by the ADC. */
  readonly pins: readonly number[];
  /** Reference voltage: a raw reading of 65535 means this many volts. */
  readonly vref: number;
  /** A 16-bit reading (0..65535), scaled as MicroPython's ADC.read_u16(). */
  readU16(pin: number): number;
  /** The chip's internal temperature channel, if the board has one (RP2040 ADC 4). */
  readInternalTempU16?(): number;
}

/**
 * Thrown by a backend when a pin cannot do what was asked here (PWM on a pin with neither a
 * hardware channel nor software PWM); the board answers `unsupported` with its message.
 */
export class PinCapabilityError extends Error {
  readonly pin: number;
  constructor(pin: number, message: string) {
    super(message);
    this.name = 'PinCapabilityError';
    this.pin = pin;
  }
}

/** Thrown by a bus when a transfer fails; drivers turn it into a sensor_error. */
export class BusError extends Error {
  readonly address: number;
  readonly bus: number;
  constructor(bus: number, address: number, message: string) {
    super(message);
    this.name = 'BusError';
    this.bus = bus;
    this.address = address;
  }
}

export interface I2cBus {
  readonly id: number;
  /** Addresses that acknowledge, ascending. */
  scan(): Promise<number[]>;
  write(address: number, data: Uint8Array): Promise<void>;
  read(address: number, length: number): Promise<Uint8Array>;
  /**
   * A register read: writes `data` (the register pointer), then reads `length` bytes in one
   * transaction with a repeated start, so no other master or process can come in between.
   */
  writeRead(address: number, data: Uint8Array, length: number): Promise<Uint8Array>;
}

/**
 * 1-Wire temperature probes (DS18B20). A ROM code is 16 hex digits in the order the bus sends
 * it (family code 28 first, CRC last), as MicroPython's onewire.scan() gives it.
 */
export interface OneWire {
  /** ROM codes of the DS18B20s that answer on the bus at `pin`. */
  scan(pin: number): Promise<string[]>;
  /** One conversion, in °C; throws a SensorFault when the probe does not answer or fails its CRC. */
  readCelsius(pin: number, rom: string): Promise<number>;
}

/** DHT22 / AM2302 temperature and humidity on one data pin. */
export interface DhtSensors {
  read(pin: number): Promise<{ temperature: number; humidity: number }>;
}

export interface MemoryInfo {
  free: number;
  alloc: number;
}

export interface Hardware {
  /** Backend name, e.g. "sim" or "linux". */
  readonly platform: string;
  /** Board model, e.g. "Tether simulated board". */
  readonly board: string;
  readonly gpio: Gpio;
  readonly pwm: Pwm;
  readonly adc: Adc;
  /** The I2C bus with this id, or undefined when the board has none by that id. */
  i2c(bus: number): I2cBus | undefined;
  readonly i2cBuses: readonly number[];
  /** DS18B20 probes, where the backend reaches 1-Wire (the kernel's w1 driver on Linux). */
  readonly oneWire?: OneWire;
  /** DHT22 sensors, where the backend reaches them (the kernel's IIO driver on Linux). */
  readonly dht?: DhtSensors;
  /** The processor's own temperature in °C, where it is not read through the ADC (a Pi's thermal zone). */
  cpuTemperature?(): Promise<number>;
  memory(): MemoryInfo;
  /** The WiFi signal strength in dBm, for get_info's `rssi`; absent on a board without WiFi, undefined while the link is down. */
  signal?(): number | undefined;
  /** Stops any background activity the backend runs (simulated sensors, watchers). */
  close(): void;
}
