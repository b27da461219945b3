// A simulated TMP102 (TMP102 datasheet): pointer register, temperature, configuration and
// the two limit registers, 16-bit big-endian.
import type { SimEnvironment } from '../environment.js';
import type { SimChipContext, SimI2cChip } from '../sim-i2c.js';

const REG_TEMPERATURE = 0;
const REG_CONFIG = 1;

export class SimTmp102 implements SimI2cChip {
  readonly address: number;
  private readonly environment: SimEnvironment;
  private readonly key: string;
  private pinned: number | undefined;
  private pointer = REG_TEMPERATURE;
  /** Power-up values: config 0x60A0 (12-bit, 4 Hz), T_LOW 75 °C, T_HIGH 80 °C. */
  private readonly regs = [0, 0x60a0, 0x4b00, 0x5000];

  constructor(ctx: SimChipContext) {
    this.address = ctx.address;
    this.environment = ctx.environment;
    this.key = ctx.key;
  }

  set(values: { temperature?: number | undefined }): void {
    if ('temperature' in values) this.pinned = values.temperature;
  }

  temperature(): number {
    return this.pinned ?? this.environment.temperature(this.key);
  }

  /** Extended (13-bit) mode, from the EM bit in the configuration register. */
  get extended(): boolean {
    return ((this.regs[REG_CONFIG] ?? 0) & 0x0010) !== 0;
  }

  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pointer = (bytes[0] ?? 0) & 0x03;
    if (bytes.length < 3 || this.pointer === REG_TEMPERATURE) return;
    const word = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
    // Config: R1:R0 read as 11, AL reads 1 (no alert), bits 3:0 are 0; the rest is writable.
    this.regs[this.pointer] = this.pointer === REG_CONFIG ? (word & 0x1fd0) | 0x6020 : word;
  }

  read(length: number): Uint8Array {
    const word = this.pointer === REG_TEMPERATURE ? encodeTmp102(this.temperature(), this.extended) : (this.regs[this.pointer] ?? 0);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = i % 2 === 0 ? word >> 8 : word & 0xff;
    return out;
  }
}

/** 12-bit (or 13-bit, with bit 0 set, in extended mode) two's complement, 0.0625 °C/LSB. */
export function encodeTmp102(celsius: number, extended: boolean): number {
  const bits = extended ? 13 : 12;
  const raw = Math.min(2 ** (bits - 1) - 1, Math.max(-(2 ** (bits - 1)), Math.round(celsius / 0.0625)));
  return extended ? (((raw & 0x1fff) << 3) | 1) : (raw & 0xfff) << 4;
}
