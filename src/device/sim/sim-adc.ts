// Simulated ADC with RP2040 behaviour: 12-bit conversions scaled to u16 as MicroPython's
// read_u16() does, and the internal temperature channel (RP2040 datasheet §4.9.5).
import type { Adc } from '../hal/types.js';
import type { SimEnvironment } from './environment.js';

/** The pin with a light-dependent resistor divider. */
const LIGHT_PIN = 26;

export class SimAdc implements Adc {
  readonly pins: readonly number[];
  readonly vref: number;
  readonly readInternalTempU16?: () => number;
  private readonly environment: SimEnvironment;
  private readonly pinned = new Map<number, number>();
  private chipTemperature: number | undefined;

  /** `internalChannel: false` simulates a board whose ADC has no temperature channel. */
  constructor(pins: readonly number[], vref: number, environment: SimEnvironment, options: { internalChannel?: boolean } = {}) {
    this.pins = Object.freeze([...pins]);
    this.vref = vref;
    this.environment = environment;
    if (options.internalChannel !== false) this.readInternalTempU16 = () => this.internalTemp();
  }

  readU16(pin: number): number {
    if (!this.pins.includes(pin)) throw new RangeError(`pin ${pin} has no ADC; ADC pins: ${this.pins.join(', ') || 'none'}`);
    const pinned = this.pinned.get(pin);
    if (pinned !== undefined) return pinned;
    // Pin 26: a light sensor; the others: a potentiometer drifting between 0.3 V and 3 V.
    const u16 = pin === LIGHT_PIN ? this.environment.light(`adc${pin}`) : (this.environment.signal(`adc${pin}`, 0.3, 3) / this.vref) * 65535;
    return quantize(u16);
  }

  /** Pins an ADC pin's reading (0..65535); undefined follows the environment again. */
  set(pin: number, u16: number | undefined): void {
    if (!this.pins.includes(pin)) throw new RangeError(`pin ${pin} has no ADC`);
    if (u16 === undefined) this.pinned.delete(pin);
    else this.pinned.set(pin, Math.min(65535, Math.max(0, Math.round(u16))));
  }

  /** Pins the chip's temperature in °C; undefined follows the environment again. */
  setChipTemperature(celsius: number | undefined): void {
    this.chipTemperature = celsius;
  }

  private internalTemp(): number {
    const t = this.chipTemperature ?? this.environment.electronics('rp2040');
    const v = 0.706 - (t - 27) * 0.001721;
    return quantize((v / this.vref) * 65535);
  }
}

/** A 12-bit conversion reported as u16: (raw12 << 4) | (raw12 >> 8), like read_u16(). */
function quantize(u16: number): number {
  const raw12 = Math.min(4095, Math.max(0, Math.round((u16 / 65535) * 4095)));
  return (raw12 << 4) | (raw12 >> 8);
}
