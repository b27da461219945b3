// A simulated I2C bus. Chips answer the same register bytes as the real parts, so the
// drivers under test are the ones that run on /dev/i2c.
import type { Clock } from '../../common/clock.js';
import { hex } from '../hex.js';
import { BusError, type I2cBus } from '../hal/types.js';
import type { SimEnvironment } from './environment.js';

/** One chip on a simulated bus: it sees the raw bytes of each write and each read. */
export interface SimI2cChip {
  readonly address: number;
  write(bytes: Uint8Array): void;
  read(length: number): Uint8Array;
}

/** What a chip factory gets (sim/chips/index.ts). */
export interface SimChipContext {
  address: number;
  clock: Clock;
  environment: SimEnvironment;
  /** Names this chip's signals in the environment, e.g. "i2c0:0x38". */
  key: string;
  /** The sensor's options, parsed by its driver's schema. */
  options: unknown;
}

export type SimChipFactory = (ctx: SimChipContext) => SimI2cChip;

export interface SimTransfer {
  op: 'write' | 'read';
  address: number;
  bytes: Uint8Array;
}

export class SimI2cBus implements I2cBus {
  readonly id: number;
  /** Called after every transfer that a chip acknowledged; for tests that check exact bytes. */
  onTransfer: ((t: SimTransfer) => void) | undefined;
  private readonly chips = new Map<number, SimI2cChip>();

  constructor(id: number) {
    this.id = id;
  }

  /** Connects a chip; throws if another chip already answers at its address. */
  attach(chip: SimI2cChip): void {
    const present = this.chips.get(chip.address);
    if (present !== undefined && present !== chip) {
      throw new Error(`another chip already answers at ${hex(chip.address)} on simulated I2C bus ${this.id}`);
    }
    this.chips.set(chip.address, chip);
  }

  /** Disconnects the chip at an address (an unplugged sensor) and returns it, to attach again. */
  detach(address: number): SimI2cChip | undefined {
    const chip = this.chips.get(address);
    this.chips.delete(address);
    return chip;
  }

  /** The chip that answers at an address now. */
  device(address: number): SimI2cChip | undefined {
    return this.chips.get(address);
  }

  scan(): Promise<number[]> {
    return Promise.resolve([...this.chips.keys()].sort((a, b) => a - b));
  }

  write(address: number, data: Uint8Array): Promise<void> {
    return this.transfer(address, (chip) => {
      const bytes = Uint8Array.from(data);
      chip.write(bytes);
      this.onTransfer?.({ op: 'write', address, bytes });
    });
  }

  read(address: number, length: number): Promise<Uint8Array> {
    return this.transfer(address, (chip) => {
      if (!Number.isInteger(length) || length < 1) throw new RangeError(`an I2C read takes a length ≥ 1, not ${length}`);
      const bytes = chip.read(length);
      if (bytes.length !== length) throw new Error(`simulated chip at ${hex(address)} returned ${bytes.length} bytes for a ${length}-byte read`);
      this.onTransfer?.({ op: 'read', address, bytes: Uint8Array.from(bytes) });
      return bytes;
    });
  }

  writeRead(address: number, data: Uint8Array, length: number): Promise<Uint8Array> {
    return this.transfer(address, (chip) => {
      if (!Number.isInteger(length) || length < 1) throw new RangeError(`an I2C read takes a length ≥ 1, not ${length}`);
      const written = Uint8Array.from(data);
      chip.write(written);
      this.onTransfer?.({ op: 'write', address, bytes: written });
      const bytes = chip.read(length);
      if (bytes.length !== length) throw new Error(`simulated chip at ${hex(address)} returned ${bytes.length} bytes for a ${length}-byte read`);
      this.onTransfer?.({ op: 'read', address, bytes: Uint8Array.from(bytes) });
      return bytes;
    });
  }

  private transfer<T>(address: number, fn: (chip: SimI2cChip) => T): Promise<T> {
    const chip = this.chips.get(address);
    if (chip === undefined) {
      return Promise.reject(new BusError(this.id, address, `no device answers at ${hex(address)} on I2C bus ${this.id} — check the wiring and the pull-ups`));
    }
    try {
      return Promise.resolve(fn(chip));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
