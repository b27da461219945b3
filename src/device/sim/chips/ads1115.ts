// A simulated ADS1115 with a PT-100 divider on one input (ADS1115 datasheet): pointer, config
// and conversion registers, single-shot conversions that take 1/DR seconds with the OS bit low
// meanwhile, and continuous mode.
import type { Clock } from '../../../common/clock.js';
import { pt100Ads1115Options, type Pt100Ads1115Options } from '../../drivers/sensors/pt100-ads1115.js';
import type { SimEnvironment } from '../environment.js';
import type { SimChipContext, SimI2cChip } from '../sim-i2c.js';

const REG_CONVERSION = 0;
const REG_CONFIG = 1;
const OS = 0x8000;
const MODE_SINGLE = 0x0100;
const DATA_RATES = [8, 16, 32, 64, 128, 250, 475, 860];
const FULL_SCALE_V = [6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256];

export interface Pt100Values {
  /** The PT-100's temperature, °C. */
  temperature: number;
  /** The PT-100 is disconnected: the input sits at the supply. */
  open: boolean;
}

export class SimAds1115 implements SimI2cChip {
  readonly address: number;
  /** The divider in front of the input: the same constants the driver is configured with. */
  readonly frontEnd: Pt100Ads1115Options;
  /** The last config word the host wrote (OS included), for tests. */
  lastConfigWritten: number | undefined;
  private readonly clock: Clock;
  private readonly environment: SimEnvironment;
  private readonly key: string;
  private pinned: Partial<Pt100Values> = {};
  private pointer = REG_CONVERSION;
  /** Power-up: AIN0–AIN1, ±2.048 V, single-shot, 128 SPS, comparator off. */
  private config = 0x8583;
  private regs = { lo: 0x8000, hi: 0x7fff };
  private conversion = 0;
  private convertingUntil: number | undefined;

  constructor(ctx: SimChipContext) {
    this.address = ctx.address;
    this.clock = ctx.clock;
    this.environment = ctx.environment;
    this.key = ctx.key;
    this.frontEnd = pt100Ads1115Options.parse(ctx.options ?? {});
  }

  set(values: Partial<Pt100Values>): void {
    this.pinned = { ...this.pinned, ...values };
  }

  temperature(): number {
    return this.pinned.temperature ?? this.environment.heater(this.key);
  }

  /** The voltage on an input: the divider midpoint on the PT-100's channel, ground elsewhere. */
  inputVolts(channel: number): number {
    if (channel !== this.frontEnd.channel) return 0;
    const { supply_v, divider_ohms } = this.frontEnd;
    if (this.pinned.open === true) return supply_v;
    const r = 100 * (1 + 0.00385 * this.temperature());
    return (supply_v * r) / (r + divider_ohms);
  }

  write(bytes: Uint8Array): void {
    this.settle();
    if (bytes.length === 0) return;
    this.pointer = (bytes[0] ?? 0) & 0x03;
    if (bytes.length < 3) return;
    const word = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
    if (this.pointer === REG_CONFIG) this.writeConfig(word);
    else if (this.pointer === 2) this.regs.lo = word;
    else if (this.pointer === 3) this.regs.hi = word;
  }

  read(length: number): Uint8Array {
    this.settle();
    let word: number;
    if (this.pointer === REG_CONVERSION) {
      word = (this.config & MODE_SINGLE) === 0 ? this.sample() : this.conversion;
    } else if (this.pointer === REG_CONFIG) {
      // OS reads 1 when no conversion is running (single-shot) and 0 in continuous mode.
      const idle = (this.config & MODE_SINGLE) !== 0 && this.convertingUntil === undefined;
      word = (this.config & ~OS) | (idle ? OS : 0);
    } else {
      word = this.pointer === 2 ? this.regs.lo : this.regs.hi;
    }
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = i % 2 === 0 ? word >> 8 : word & 0xff;
    return out;
  }

  private writeConfig(word: number): void {
    this.lastConfigWritten = word;
    this.config = word & ~OS;
    if ((word & MODE_SINGLE) !== 0 && (word & OS) !== 0 && this.convertingUntil === undefined) {
      const rate = DATA_RATES[(word >> 5) & 0x07] ?? 128;
      this.convertingUntil = this.clock.now() + 1000 / rate;
    }
  }

  private settle(): void {
    if (this.convertingUntil !== undefined && this.clock.now() >= this.convertingUntil) {
      this.conversion = this.sample();
      this.convertingUntil = undefined;
    }
  }

  /** One conversion with the current MUX and PGA, as an unsigned 16-bit register value. */
  private sample(): number {
    const mux = (this.config >> 12) & 0x07;
    const fsr = FULL_SCALE_V[(this.config >> 9) & 0x07] ?? 2.048;
    // MUX 000–011 are differential pairs, 1xx single-ended against GND.
    const pairs: Array<[number, number | undefined]> = [[0, 1], [0, 3], [1, 3], [2, 3], [0, undefined], [1, undefined], [2, undefined], [3, undefined]];
    const [p, n] = pairs[mux] ?? [0, undefined];
    const volts = this.inputVolts(p) - (n === undefined ? 0 : this.inputVolts(n));
    // The bench calibration: counts_per_supply counts per supply_v at ±4.096 V, scaled by PGA.
    const { counts_per_supply, supply_v } = this.frontEnd;
    const counts = Math.round(((volts * counts_per_supply) / supply_v) * (4.096 / fsr));
    return Math.min(0x7fff, Math.max(-0x8000, counts)) & 0xffff;
  }
}
