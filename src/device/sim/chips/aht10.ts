// A simulated AHT10 (AHT10 datasheet): soft reset, calibrate, trigger, busy for 75 ms, then
// the 6 status + data bytes.
import type { Clock } from '../../../common/clock.js';
import type { SimEnvironment } from '../environment.js';
import type { SimChipContext, SimI2cChip } from '../sim-i2c.js';

export interface Aht10Values {
  temperature: number;
  humidity: number;
}

const RESET_MS = 20;

export class SimAht10 implements SimI2cChip {
  readonly address: number;
  /** How long a measurement keeps the busy bit set (datasheet: 75 ms). Raise it to make the chip slow. */
  conversionMs = 75;
  /** Makes the chip ignore the calibrate command, as a damaged one does. */
  refuseCalibration = false;
  private readonly clock: Clock;
  private readonly environment: SimEnvironment;
  private readonly key: string;
  private pinned: Partial<Aht10Values> = {};
  private calibrated = false;
  private busyUntil = -Infinity;
  private pending: Aht10Values | undefined;
  private data: Uint8Array = new Uint8Array(5);

  constructor(ctx: SimChipContext) {
    this.address = ctx.address;
    this.clock = ctx.clock;
    this.environment = ctx.environment;
    this.key = ctx.key;
  }

  /** Pins values (an undefined one follows the environment again). */
  set(values: Partial<Aht10Values>): void {
    this.pinned = { ...this.pinned, ...values };
  }

  /** What the chip measures now. */
  values(): Aht10Values {
    return {
      temperature: this.pinned.temperature ?? this.environment.temperature(this.key),
      humidity: this.pinned.humidity ?? this.environment.humidity(this.key),
    };
  }

  get isCalibrated(): boolean {
    return this.calibrated;
  }

  write(bytes: Uint8Array): void {
    this.settle();
    const cmd = bytes[0];
    if (cmd === 0xba) {
      this.calibrated = false;
      this.pending = undefined;
      this.busyUntil = this.clock.now() + RESET_MS;
      return;
    }
    if (this.busy()) return; // commands during a reset or a measurement are ignored
    if (cmd === 0xe1 && bytes[1] === 0x08 && bytes[2] === 0x00) {
      if (!this.refuseCalibration) this.calibrated = true;
    } else if (cmd === 0xac && bytes[1] === 0x33 && bytes[2] === 0x00) {
      this.pending = this.values();
      this.busyUntil = this.clock.now() + this.conversionMs;
    }
  }

  read(length: number): Uint8Array {
    this.settle();
    const out = new Uint8Array(length).fill(0xff);
    out[0] = (this.busy() ? 0x80 : 0) | (this.calibrated ? 0x08 : 0);
    out.set(this.data.subarray(0, Math.max(0, length - 1)), 1);
    return out;
  }

  private busy(): boolean {
    return this.clock.now() < this.busyUntil;
  }

  private settle(): void {
    if (this.pending !== undefined && !this.busy()) {
      this.data = encodeAht10(this.pending);
      this.pending = undefined;
    }
  }
}

/** The 5 data bytes after the status byte: 20-bit humidity, 20-bit temperature. */
export function encodeAht10(v: Aht10Values): Uint8Array {
  const h = clamp(Math.round((v.humidity / 100) * 2 ** 20), 0, 2 ** 20 - 1);
  const t = clamp(Math.round(((v.temperature + 50) / 200) * 2 ** 20), 0, 2 ** 20 - 1);
  return Uint8Array.of(h >> 12, (h >> 4) & 0xff, ((h & 0x0f) << 4) | (t >> 16), (t >> 8) & 0xff, t & 0xff);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
