// A simulated EMC2101 (EMC2101 datasheet, register set): pointer + byte registers, internal and external
// temperature, fan setting 0x4C and the tach reading 0x46/0x47 of a fan that follows it.
import type { SimEnvironment } from '../environment.js';
import type { SimChipContext, SimI2cChip } from '../sim-i2c.js';

export interface Emc2101Values {
  /** Internal sensor, °C (1 °C steps). */
  temperature: number;
  /** External diode, °C (0.125 °C steps). */
  external_temperature: number;
}

const REG_INTERNAL = 0x00;
const REG_EXTERNAL_HIGH = 0x01;
const REG_STATUS = 0x02;
const REG_EXTERNAL_LOW = 0x10;
const REG_TACH_LOW = 0x46;
const REG_TACH_HIGH = 0x47;
const REG_FAN_SETTING = 0x4c;
const STATUS_DIODE_FAULT = 0x04;
/** Registers a host may write; writes elsewhere are ignored, as the chip does. */
const WRITABLE = new Set([0x03, 0x04, 0x05, 0x07, 0x08, 0x0c, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x19, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f]);
/** Tach counts = 5 400 000 / RPM (two pulses per revolution, the chip's default). */
const TACH_NUMERATOR = 5_400_000;

export class SimEmc2101 implements SimI2cChip {
  readonly address: number;
  /** The fan's speed at a fan setting of 63. */
  maxRpm = 3000;
  /** An open or shorted external diode: the chip then reports its fault code. */
  externalFault: 'open' | 'short' | undefined;
  private readonly environment: SimEnvironment;
  private readonly key: string;
  private pinned: Partial<Emc2101Values> = {};
  private pointer = 0;
  private readonly regs = new Uint8Array(256);

  constructor(ctx: SimChipContext) {
    this.address = ctx.address;
    this.environment = ctx.environment;
    this.key = ctx.key;
    this.regs[0x4a] = 0x20; // fan configuration
    this.regs[0xfd] = 0x16; // product ID: EMC2101
    this.regs[0xfe] = 0x5d; // manufacturer ID: SMSC
    this.regs[0xff] = 0x01; // revision
  }

  set(values: Partial<Emc2101Values>): void {
    this.pinned = { ...this.pinned, ...values };
  }

  values(): Emc2101Values {
    return {
      temperature: this.pinned.temperature ?? this.environment.electronics(`${this.key}:internal`),
      external_temperature: this.pinned.external_temperature ?? this.environment.electronics(`${this.key}:external`) + 8,
    };
  }

  /** Fan setting register 0x4C, 0–63. */
  get fanSetting(): number {
    return this.regs[REG_FAN_SETTING] ?? 0;
  }

  rpm(): number {
    return Math.round((this.fanSetting / 63) * this.maxRpm);
  }

  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pointer = bytes[0] ?? 0;
    for (const value of bytes.subarray(1)) {
      if (WRITABLE.has(this.pointer)) this.regs[this.pointer] = this.pointer === REG_FAN_SETTING ? value & 0x3f : value;
      this.pointer = (this.pointer + 1) & 0xff;
    }
  }

  read(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = this.readRegister(this.pointer);
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return out;
  }

  private readRegister(reg: number): number {
    switch (reg) {
      case REG_INTERNAL:
        return Math.min(127, Math.max(-128, Math.round(this.values().temperature))) & 0xff;
      case REG_EXTERNAL_HIGH: {
        // Reading the high byte latches the matching low byte (datasheet: external diode data).
        const code = this.externalCode();
        this.regs[REG_EXTERNAL_LOW] = (code & 0x07) << 5;
        return (code >> 3) & 0xff;
      }
      case REG_STATUS:
        return this.externalFault === undefined ? 0 : STATUS_DIODE_FAULT;
      case REG_TACH_LOW: {
        // Reading the low byte latches the high byte.
        const rpm = this.rpm();
        const tach = rpm === 0 ? 0xffff : Math.min(0xfffe, Math.round(TACH_NUMERATOR / rpm));
        this.regs[REG_TACH_HIGH] = tach >> 8;
        return tach & 0xff;
      }
      default:
        return this.regs[reg] ?? 0;
    }
  }

  /** The 11-bit two's complement external reading, 0.125 °C per step. */
  private externalCode(): number {
    if (this.externalFault === 'open') return 0x3f8;
    if (this.externalFault === 'short') return 0x3ff;
    // Kept below 127 °C so that a real reading is never one of the fault codes.
    const steps = Math.min(0x3f7, Math.max(-0x400, Math.round(this.values().external_temperature * 8)));
    return steps & 0x7ff;
  }
}
