// An I2C bus through /dev/i2c-N. Every transfer is one I2C_RDWR ioctl, so a register read
// (writeRead) goes out as one transaction with a repeated start, as datasheets ask, and no
// other process's transfer can come between the register pointer and the read.
//
// The ioctl runs on the main thread: a 6-byte read at 100 kHz holds it about 0.7 ms, and a
// bus a device holds low holds it until the adapter's timeout.
import { enableI2c, joinGroup } from './advice.js';
import { hex } from '../../hex.js';
import { BusError, type I2cBus } from '../../hal/types.js';
import * as uapi from './i2c-uapi.js';
import { isKernelError, type Kernel } from './kernel.js';
import { join } from 'node:path';

export interface LinuxI2cBusOptions {
  kernel: Kernel;
  /** N in /dev/i2c-N. */
  bus: number;
  /** Where i2c-N lives (TETHER_DEV_ROOT); default /dev. */
  devRoot?: string;
  /** Userspace pointer size for the ioctl structs; default this process's (4 on armhf). */
  pointerSize?: uapi.PointerSize;
}

interface Message {
  flags: number;
  buf: Buffer;
}

/** Addresses a scan probes, as i2cdetect does by default: 0x00–0x02 and 0x78–0x7F are reserved by the I2C specification. */
export const SCAN_FIRST = 0x03;
export const SCAN_LAST = 0x77;

/**
 * Where a scan reads a byte instead of sending an empty write, as i2cdetect does: an empty
 * write can look like a write command to some EEPROMs (0x50–0x5F; the AT24RF08 is known to
 * corrupt itself) and to chips at 0x30–0x37 (EEPROM write-protect and SPD registers).
 */
function readProbeOnly(address: number): boolean {
  return (address >= 0x30 && address <= 0x37) || (address >= 0x50 && address <= 0x5f);
}

export class LinuxI2cBus implements I2cBus {
  readonly id: number;
  readonly path: string;
  private readonly kernel: Kernel;
  private readonly ptr: uapi.PointerSize;
  private fd: number | undefined;
  private funcs = 0;

  constructor(options: LinuxI2cBusOptions) {
    this.kernel = options.kernel;
    this.id = options.bus;
    this.path = join(options.devRoot ?? '/dev', `i2c-${options.bus}`);
    this.ptr = options.pointerSize ?? uapi.pointerSizeFor();
  }

  /** Opens the adapter and checks it can do plain I2C; transfers open it on first use otherwise. Throws an Error saying what to do. */
  open(): void {
    if (this.fd !== undefined) return;
    let fd: number;
    try {
      fd = this.kernel.open(this.path, 'readwrite');
    } catch (err) {
      throw new Error(this.openFailure(err), { cause: err });
    }
    try {
      const buf = uapi.funcsBuffer(this.ptr);
      this.kernel.ioctl(fd, uapi.I2C_FUNCS, buf);
      this.funcs = uapi.readFuncs(buf);
    } catch (err) {
      this.kernel.close(fd);
      throw new Error(`${this.path} is not an I2C adapter Tether can use: I2C_FUNCS failed (${(err as Error).message})`, { cause: err });
    }
    if ((this.funcs & uapi.I2C_FUNC_I2C) === 0) {
      this.kernel.close(fd);
      throw new Error(`I2C bus ${this.id} (${this.path}) can do only SMBus transfers, not the plain I2C transfers Tether uses; choose another bus`);
    }
    this.fd = fd;
  }

  close(): void {
    if (this.fd !== undefined) this.kernel.close(this.fd);
    this.fd = undefined;
  }

  async scan(): Promise<number[]> {
    await Promise.resolve();
    this.openFor(SCAN_FIRST);
    let emptyWrites = (this.funcs & uapi.I2C_FUNC_SMBUS_QUICK) !== 0;
    const answers = (address: number): boolean => {
      const emptyWrite = emptyWrites && !readProbeOnly(address);
      try {
        this.rdwr([emptyWrite ? { flags: 0, buf: Buffer.alloc(0) } : { flags: uapi.I2C_M_RD, buf: Buffer.alloc(1) }], address);
        return true;
      } catch (err) {
        if (emptyWrite && isKernelError(err, 'EOPNOTSUPP')) {
          // An adapter that cannot send an empty message says so for every address: read instead.
          emptyWrites = false;
          return answers(address);
        }
        if (isKernelError(err, 'ENXIO', 'EREMOTEIO')) return false;
        throw this.transferFailure(err, address, 'scanning');
      }
    };
    const found: number[] = [];
    for (let address = SCAN_FIRST; address <= SCAN_LAST; address++) if (answers(address)) found.push(address);
    return found;
  }

  async write(address: number, data: Uint8Array): Promise<void> {
    await Promise.resolve();
    checkLength(data.length, 0);
    this.transfer(address, [{ flags: 0, buf: Buffer.from(data) }], 'writing');
  }

  async read(address: number, length: number): Promise<Uint8Array> {
    await Promise.resolve();
    checkLength(length, 1);
    const buf = Buffer.alloc(length);
    this.transfer(address, [{ flags: uapi.I2C_M_RD, buf }], 'reading');
    return new Uint8Array(buf);
  }

  /** Writes `data` (a register number), then reads `length` bytes after a repeated start: one I2C_RDWR, two messages. */
  async writeRead(address: number, data: Uint8Array, length: number): Promise<Uint8Array> {
    await Promise.resolve();
    checkLength(data.length, 1);
    checkLength(length, 1);
    const buf = Buffer.alloc(length);
    this.transfer(address, [{ flags: 0, buf: Buffer.from(data) }, { flags: uapi.I2C_M_RD, buf }], 'reading a register of');
    return new Uint8Array(buf);
  }

  // --- inside -------------------------------------------------------------------------------

  private transfer(address: number, messages: Message[], doing: string): void {
    checkAddress(address);
    this.openFor(address);
    try {
      this.rdwr(messages, address);
    } catch (err) {
      throw this.transferFailure(err, address, doing);
    }
  }

  private rdwr(messages: Message[], address: number): void {
    const msgs = uapi.encodeI2cMsgs(
      messages.map((m) => ({ addr: address, flags: m.flags, len: m.buf.length, buf: m.buf.length > 0 ? this.kernel.addressOf(m.buf) : 0n })),
      this.ptr,
    );
    const data = uapi.encodeRdwrData(this.kernel.addressOf(msgs), messages.length, this.ptr);
    this.kernel.ioctl(this.fd as number, uapi.I2C_RDWR, data);
    // The kernel read the structs through their addresses; keep them alive until it is done.
    keepAlive(msgs, messages);
  }

  private openFor(address: number): void {
    try {
      this.open();
    } catch (err) {
      throw new BusError(this.id, address, (err as Error).message);
    }
  }

  private openFailure(err: unknown): string {
    if (isKernelError(err, 'ENOENT', 'ENODEV')) {
      return `${this.path} does not exist: I2C bus ${this.id} is not enabled — ${enableI2c(this.id)}`;
    }
    if (isKernelError(err, 'EACCES', 'EPERM')) {
      return `cannot open ${this.path}: permission denied — ${joinGroup('i2c')}`;
    }
    return `cannot open ${this.path} (I2C bus ${this.id}): ${err instanceof Error ? err.message : String(err)}`;
  }

  private transferFailure(err: unknown, address: number, doing: string): BusError {
    const at = hex(address);
    let message: string;
    if (isKernelError(err, 'ENXIO', 'EREMOTEIO')) message = `no device answers at ${at} on I2C bus ${this.id} — check the wiring and the pull-ups`;
    else if (isKernelError(err, 'ETIMEDOUT')) message = `I2C bus ${this.id} timed out ${doing} ${at} — something holds SDA or SCL low; check the wiring, or power-cycle the device`;
    else if (isKernelError(err, 'EAGAIN')) message = `I2C bus ${this.id} lost arbitration ${doing} ${at} — another controller or noise on the bus; check the wiring`;
    else if (isKernelError(err, 'EOPNOTSUPP')) message = `I2C bus ${this.id}'s driver cannot do this transfer (${doing} ${at})`;
    else message = `${doing} ${at} on I2C bus ${this.id} failed: ${err instanceof Error ? err.message : String(err)}`;
    return new BusError(this.id, address, message);
  }
}

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0x7f) throw new RangeError(`an I2C address is 0x00–0x7f, not ${address}`);
}

function checkLength(length: number, min: number): void {
  if (!Number.isInteger(length) || length < min || length > uapi.I2C_MSG_MAX_LEN) throw new RangeError(`an I2C message is ${min}–${uapi.I2C_MSG_MAX_LEN} bytes, not ${length}`);
}

/** Marks buffers as used after the call that read them through raw addresses. */
function keepAlive(...values: unknown[]): void {
  void values;
}
