// The simulated board behind `tether device --sim`: GPIO, PWM, ADC, I2C buses with a simulated
// chip for every I2C sensor in the config, DS18B20 and DHT22 sensors on their data pins, and
// PIR inputs. Used only when the user asks for
// the simulator; nothing elsewhere falls back to it.
import type { Clock } from '../../common/clock.js';
import type { BoardConfig } from '../config.js';
import { hex } from '../hex.js';
import { SENSOR_DRIVERS } from '../drivers/sensors/index.js';
import type { Hardware, MemoryInfo } from '../hal/types.js';
import { SIM_CHIPS } from './chips/index.js';
import { SimEnvironment } from './environment.js';
import { SimPir } from './pir.js';
import { SimAdc } from './sim-adc.js';
import { SimDht } from './sim-dht.js';
import { SimGpio } from './sim-gpio.js';
import { SimI2cBus, type SimI2cChip } from './sim-i2c.js';
import { SimOneWire } from './sim-onewire.js';
import { SimPwm } from './sim-pwm.js';

export interface SimHardware extends Hardware {
  readonly platform: 'sim';
  readonly gpio: SimGpio;
  readonly pwm: SimPwm;
  readonly adc: SimAdc;
  readonly buses: ReadonlyMap<number, SimI2cBus>;
  readonly environment: SimEnvironment;
  readonly pir: SimPir;
  readonly oneWire: SimOneWire;
  readonly dht: SimDht;
  /** The chip made for a configured sensor, attached or not; undefined for sim.absent addresses. */
  chip(bus: number, address: number): SimI2cChip | undefined;
  /** The same, checked to be of one chip class; throws when it is missing or another kind. */
  chip<T extends SimI2cChip>(bus: number, address: number, kind: abstract new (...args: never[]) => T): T;
}

export function createSimHardware(config: Readonly<BoardConfig>, clock: Clock): SimHardware {
  const environment = new SimEnvironment(config.sim.seed, clock);
  const gpio = new SimGpio(config.gpio.pin_count);
  const pwm = new SimPwm(config.gpio.pin_count);
  const adc = new SimAdc(config.adc.pins, config.adc.vref, environment);
  const buses = new Map<number, SimI2cBus>();
  for (const b of config.i2c) buses.set(b.bus, new SimI2cBus(b.bus));

  const chips = new Map<string, { chip: SimI2cChip; driver: string; sensor: string }>();
  const slot = (bus: number, address: number): string => `${bus}:${address}`;
  const absent = new Set(config.sim.absent.map((a) => slot(a.bus, a.address)));
  const oneWire = new SimOneWire(environment, clock);
  const dht = new SimDht(environment);
  for (const sensor of config.sensors) {
    const driver = SENSOR_DRIVERS[sensor.driver];
    if (driver === undefined) throw new Error(`sensor ${sensor.name}: unknown driver "${sensor.driver}"`);
    if (driver.id === 'ds18b20' || driver.id === 'dht22') {
      const { pin, rom } = driver.optionsSchema.parse(sensor.options) as { pin: number; rom?: string };
      if (driver.id === 'ds18b20') oneWire.attach(pin, rom, sensor.name);
      else dht.attach(pin);
      continue;
    }
    if (driver.bus !== 'i2c') continue;
    const busId = sensor.bus ?? 0;
    const address = sensor.address ?? driver.addresses[0];
    const bus = buses.get(busId);
    if (address === undefined || bus === undefined) throw new Error(`sensor ${sensor.name}: I2C bus ${busId} is not declared in i2c`);
    const key = slot(busId, address);
    if (absent.has(key)) continue;
    const factory = SIM_CHIPS[driver.id];
    if (factory === undefined) throw new Error(`sensor ${sensor.name}: the simulator has no ${driver.id} chip`);
    const chip = factory({ address, clock, environment, key: `i2c${busId}:${hex(address)}`, options: driver.optionsSchema.parse(sensor.options) });
    bus.attach(chip);
    chips.set(key, { chip, driver: driver.id, sensor: sensor.name });
  }

  const pir = new SimPir(gpio, clock, config.sim.pir, (pin) => environment.random(`pir:${pin}`));
  pir.start();

  function chip(bus: number, address: number): SimI2cChip | undefined;
  function chip<T extends SimI2cChip>(bus: number, address: number, kind: abstract new (...args: never[]) => T): T;
  function chip<T extends SimI2cChip>(bus: number, address: number, kind?: abstract new (...args: never[]) => T): SimI2cChip | T | undefined {
    const found = chips.get(slot(bus, address))?.chip;
    if (kind === undefined) return found;
    if (!(found instanceof kind)) {
      throw new Error(`no simulated ${kind.name} at ${hex(address)} on I2C bus ${bus}${found === undefined ? '' : ` (found ${found.constructor.name})`}`);
    }
    return found;
  }

  return {
    platform: 'sim',
    board: config.board ?? 'Tether simulated board',
    gpio,
    pwm,
    adc,
    buses,
    environment,
    pir,
    oneWire,
    dht,
    chip,
    i2c: (bus: number) => buses.get(bus),
    i2cBuses: [...buses.keys()].sort((a, b) => a - b),
    memory(): MemoryInfo {
      const m = process.memoryUsage();
      return { free: m.heapTotal - m.heapUsed, alloc: m.heapUsed };
    },
    signal: () => environment.wifiSignal(),
    close() {
      pir.stop();
    },
  };
}
