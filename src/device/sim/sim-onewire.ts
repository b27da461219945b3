// Simulated DS18B20 probes on 1-Wire pins, one for every ds18b20 sensor in the config (with
// its options.rom, or a ROM code made up from the seed). A conversion takes 750 ms of clock
// time, as a 12-bit one does on the chip, and the result comes in the chip's 1/16 °C steps.
import type { Clock } from '../../common/clock.js';
import { romFromParts } from '../drivers/sensors/onewire-rom.js';
import { SensorFault } from '../drivers/types.js';
import type { OneWire } from '../hal/types.js';
import type { SimEnvironment } from './environment.js';

/** DS18B20 datasheet: 12-bit conversion time, at most 750 ms. */
export const DS18B20_CONVERSION_MS = 750;
const DS18B20_FAMILY = 0x28;

export interface SimProbe {
  pin: number;
  rom: string;
}

export class SimOneWire implements OneWire {
  private readonly environment: SimEnvironment;
  private readonly clock: Pick<Clock, 'sleep'>;
  private readonly probes: SimProbe[] = [];
  /** Probes taken off the bus, by ROM. */
  private readonly unplugged = new Set<string>();
  private readonly pinned = new Map<string, number>();

  constructor(environment: SimEnvironment, clock: Pick<Clock, 'sleep'>) {
    this.environment = environment;
    this.clock = clock;
  }

  /** Puts a probe on a pin; without a ROM, one is made up from the seed and `key`. */
  attach(pin: number, rom?: string, key = `pin${pin}:${this.probes.length}`): SimProbe {
    const code = (rom ?? this.makeRom(key)).toLowerCase();
    if (this.probes.some((p) => p.rom === code)) throw new Error(`a simulated DS18B20 with ROM ${code} is already on the bus`);
    const probe = { pin, rom: code };
    this.probes.push(probe);
    return probe;
  }

  /** Takes a probe off the bus (true) or puts it back (false), to see what a loose wire looks like. */
  unplug(rom: string, off = true): void {
    if (off) this.unplugged.add(rom.toLowerCase());
    else this.unplugged.delete(rom.toLowerCase());
  }

  /** Pins a probe's temperature in °C; undefined follows the environment again. */
  setTemperature(rom: string, celsius: number | undefined): void {
    if (celsius === undefined) this.pinned.delete(rom.toLowerCase());
    else this.pinned.set(rom.toLowerCase(), celsius);
  }

  scan(pin: number): Promise<string[]> {
    return Promise.resolve(this.probes.filter((p) => p.pin === pin && !this.unplugged.has(p.rom)).map((p) => p.rom));
  }

  async readCelsius(pin: number, rom: string): Promise<number> {
    const code = rom.toLowerCase();
    await this.clock.sleep(DS18B20_CONVERSION_MS);
    if (!this.probes.some((p) => p.pin === pin && p.rom === code) || this.unplugged.has(code)) {
      throw new SensorFault(`no DS18B20 ${code} answers on pin ${pin}; check its wiring, the 3.3 V supply and the 4.7 kΩ pull-up on the data line`);
    }
    const t = this.pinned.get(code) ?? this.environment.temperature(`ds18b20:${code}`);
    return Math.round(t * 16) / 16;
  }

  private makeRom(key: string): string {
    const rand = this.environment.random(`ds18b20-rom:${key}`);
    return romFromParts(DS18B20_FAMILY, Array.from({ length: 6 }, () => Math.floor(rand() * 256)));
  }
}
