// An I2C adapter as /dev/i2c-N shows it (drivers/i2c/i2c-dev.c): I2C_FUNCS and I2C_RDWR, with
// the messages' pointers resolved through the fake kernel's addressOf registry. Devices are
// byte-level chip fakes, so the simulator's chips (src/device/sim/chips/) plug in as they are.
import { KernelError, type ErrnoCode } from '../../src/device/backends/linux/kernel.js';
import * as uapi from '../../src/device/backends/linux/i2c-uapi.js';

/** A chip on the bus: it sees the raw bytes of each write and each read. */
export interface I2cDevice {
  write(bytes: Uint8Array): void;
  read(length: number): Uint8Array;
}

export interface FakeI2cAdapterOptions {
  /** What the adapter's driver answers when no device acknowledges: bcm2835 and DesignWare (Pi 5) say EREMOTEIO, many others ENXIO. */
  nack?: 'ENXIO' | 'EREMOTEIO';
  /** The I2C_FUNCS answer; default plain I2C plus SMBus quick. */
  funcs?: number;
  /** Refuse zero-length messages with EOPNOTSUPP, as the i2c core does for adapters with I2C_AQ_NO_ZERO_LEN. */
  noZeroLength?: boolean;
}

export interface MessageSeen {
  addr: number;
  flags: number;
  /** Bytes written, or bytes the device returned for a read. */
  bytes: Uint8Array;
}

/** One I2C_RDWR ioctl: its messages went out as one transaction, with a repeated start between them. */
export interface TransferSeen {
  messages: MessageSeen[];
}

export interface MemoryResolver {
  /** The bytes at a user address, as copy_from_user finds them; EFAULT when nothing is there. */
  resolve(address: bigint, length: number): Buffer;
}

export class FakeI2cAdapter {
  /** Transfers a device took part in to the end. */
  readonly transfers: TransferSeen[] = [];
  /** Every I2C_RDWR's messages as sent, answered or not (a scan's probes). */
  readonly attempts: { addr: number; flags: number; len: number }[][] = [];
  readonly nack: 'ENXIO' | 'EREMOTEIO';
  readonly funcs: number;
  readonly noZeroLength: boolean;
  /** Makes every transfer fail with this error until cleared (ETIMEDOUT: a device holds SCL low). */
  failWith: ErrnoCode | undefined;
  private readonly devices = new Map<number, I2cDevice>();

  constructor(
    readonly bus: number,
    readonly path: string,
    options: FakeI2cAdapterOptions = {},
  ) {
    this.nack = options.nack ?? 'EREMOTEIO';
    this.funcs = options.funcs ?? uapi.I2C_FUNC_I2C | uapi.I2C_FUNC_SMBUS_QUICK;
    this.noZeroLength = options.noZeroLength ?? false;
  }

  attach(address: number, device: I2cDevice): void {
    this.devices.set(address, device);
  }

  detach(address: number): void {
    this.devices.delete(address);
  }

  ioctl(request: number, arg: Buffer, memory: MemoryResolver, ptr: uapi.PointerSize): number {
    if (request === uapi.I2C_FUNCS) {
      if (arg.length < ptr) throw KernelError.of('EFAULT', 'ioctl');
      uapi.writeFuncs(arg, this.funcs);
      return 0;
    }
    if (request === uapi.I2C_RDWR) return this.rdwr(arg, memory, ptr);
    throw KernelError.of('ENOTTY', 'ioctl');
  }

  private rdwr(arg: Buffer, memory: MemoryResolver, ptr: uapi.PointerSize): number {
    const data = uapi.decodeRdwrData(arg, ptr);
    if (data.nmsgs === 0 || data.nmsgs > uapi.I2C_RDWR_IOCTL_MAX_MSGS || data.msgs === 0n) throw KernelError.of('EINVAL', 'ioctl');
    const array = memory.resolve(data.msgs, data.nmsgs * uapi.i2cMsgLayout(ptr).size);
    const msgs = Array.from({ length: data.nmsgs }, (_, i) => uapi.decodeI2cMsg(array, i, ptr));
    if (msgs.some((m) => m.len > uapi.I2C_MSG_MAX_LEN)) throw KernelError.of('EINVAL', 'ioctl');
    const buffers = msgs.map((m) => (m.len === 0 ? Buffer.alloc(0) : memory.resolve(m.buf, m.len)));
    this.attempts.push(msgs.map(({ addr, flags, len }) => ({ addr, flags, len })));
    if (this.noZeroLength && msgs.some((m) => m.len === 0)) throw KernelError.of('EOPNOTSUPP', 'ioctl');
    if (this.failWith !== undefined) throw KernelError.of(this.failWith, 'ioctl');
    const seen: TransferSeen = { messages: [] };
    msgs.forEach((m, i) => {
      const device = this.devices.get(m.addr);
      if (device === undefined) throw KernelError.of(this.nack, 'ioctl');
      const buf = buffers[i] as Buffer;
      if ((m.flags & uapi.I2C_M_RD) !== 0) {
        const bytes = device.read(m.len);
        if (bytes.length !== m.len) throw KernelError.of('EIO', 'ioctl');
        buf.set(bytes);
      } else if (m.len > 0) {
        // A zero-length write is an address and a stop: the chip acknowledges and sees no bytes.
        device.write(Uint8Array.from(buf));
      }
      seen.messages.push({ addr: m.addr, flags: m.flags, bytes: Uint8Array.from(buf) });
    });
    this.transfers.push(seen);
    return msgs.length;
  }
}
