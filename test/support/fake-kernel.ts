// A Kernel (src/device/backends/linux/kernel.ts) that behaves as Linux does at the byte level,
// for the GPIO character device and /dev/i2c-N: the backend's real modules run against it.
// Its CLOCK_MONOTONIC is the given Clock plus an offset (5 days unless told), so code that
// mixes up the two clocks gets visibly wrong times; debounce waits run on that Clock too.
import { posix } from 'node:path';
import type { Clock } from '../../src/common/clock.js';
import * as gpio from '../../src/device/backends/linux/gpio-uapi.js';
import { pointerSizeFor, type PointerSize } from '../../src/device/backends/linux/i2c-uapi.js';
import { KernelError, type Kernel, type OpenAccess } from '../../src/device/backends/linux/kernel.js';
import { FakeGpioChip, type FakeChipOptions, type Request, type SetValuesWrite } from './fake-gpio-chip.js';
import { FakeI2cAdapter, type FakeI2cAdapterOptions } from './fake-i2c-adapter.js';

export { FakeGpioChip, FakeI2cAdapter };
export type { Bias, FakeChipOptions, FakeLineOptions, LineConfigSeen, SetValuesWrite } from './fake-gpio-chip.js';
export type { I2cDevice, MessageSeen, TransferSeen } from './fake-i2c-adapter.js';

export interface FakeKernelOptions {
  clock: Clock;
  /** CLOCK_MONOTONIC at the clock's time 0. */
  monotonicOffsetNs?: bigint;
  /** Where the chips and adapters live (TETHER_DEV_ROOT); default /dev. */
  devRoot?: string;
  /** Userspace pointer size the I2C structs are read with; default this process's. */
  pointerSize?: PointerSize;
}

type Open = { kind: 'chip'; chip: FakeGpioChip } | { kind: 'request'; request: Request } | { kind: 'i2c'; adapter: FakeI2cAdapter };

const FIVE_DAYS_NS = 5n * 86_400n * 1_000_000_000n;

export class FakeKernel implements Kernel {
  readonly clock: Clock;
  readonly devRoot: string;
  readonly pointerSize: PointerSize;
  /** Every GPIO_V2_LINE_SET_VALUES_IOCTL, in order. */
  readonly writes: SetValuesWrite[] = [];
  /** Every ioctl with the bytes it was given, before the fake answered. */
  readonly ioctls: { fd: number; request: number; sent: Buffer }[] = [];
  /** How many times dispose() was called: the backend disposes the kernel it was given when it closes or refuses to start. */
  disposed = 0;
  /** Other names in the dev root, to check that listing picks only what it should. */
  readonly otherDevices = new Set<string>(['null', 'ttyAMA0', 'gpiomem']);
  private readonly offsetNs: bigint;
  private readonly chips = new Map<string, FakeGpioChip>();
  private readonly adapters = new Map<string, FakeI2cAdapter>();
  private readonly denied = new Set<string>();
  private readonly fds = new Map<number, Open>();
  private readonly watchers = new Map<number, () => void>();
  private readonly notifyPending = new Set<number>();
  private readonly memory = new AddressRegistry();
  private nextFd = 3;

  constructor(options: FakeKernelOptions) {
    this.clock = options.clock;
    this.offsetNs = options.monotonicOffsetNs ?? FIVE_DAYS_NS;
    this.devRoot = options.devRoot ?? '/dev';
    this.pointerSize = options.pointerSize ?? pointerSizeFor();
  }

  // --- test API ---------------------------------------------------------------------------

  addChip(options: FakeChipOptions): FakeGpioChip {
    const name = options.name ?? `gpiochip${this.chips.size}`;
    const path = posix.join(this.devRoot, name);
    const host = { clock: this.clock, nowNs: () => this.monotonicNs(), writes: this.writes, readable: (fd: number) => this.readable(fd) };
    const chip = new FakeGpioChip(host, path, name, options);
    this.chips.set(path, chip);
    return chip;
  }

  addI2cAdapter(bus: number, options?: FakeI2cAdapterOptions): FakeI2cAdapter {
    const path = posix.join(this.devRoot, `i2c-${bus}`);
    const adapter = new FakeI2cAdapter(bus, path, options);
    this.adapters.set(path, adapter);
    return adapter;
  }

  /** open() of this path fails with EACCES, as for a user outside the gpio or i2c group. */
  deny(path: string): void {
    this.denied.add(path);
  }

  get openFdCount(): number {
    return this.fds.size;
  }

  get watchCount(): number {
    return this.watchers.size;
  }

  // --- Kernel -------------------------------------------------------------------------------

  open(path: string, access: OpenAccess): number {
    void access;
    if (this.denied.has(path)) throw KernelError.of('EACCES', 'open', path);
    const chip = this.chips.get(path);
    if (chip !== undefined) return this.install({ kind: 'chip', chip });
    const adapter = this.adapters.get(path);
    if (adapter !== undefined) return this.install({ kind: 'i2c', adapter });
    throw KernelError.of('ENOENT', 'open', path);
  }

  close(fd: number): void {
    const entry = this.entry(fd, 'close');
    if (this.watchers.has(fd)) throw new Error(`fd ${fd} closed while still watched: stop the watch first`);
    if (entry.kind === 'request') entry.request.chip.release(entry.request);
    this.fds.delete(fd);
  }

  ioctl(fd: number, request: number, arg: Buffer): number {
    const entry = this.entry(fd, 'ioctl');
    this.ioctls.push({ fd, request, sent: Buffer.from(arg) });
    switch (entry.kind) {
      case 'chip':
        return this.chipIoctl(entry.chip, request, arg);
      case 'request':
        return this.requestIoctl(entry.request, request, arg);
      case 'i2c':
        return entry.adapter.ioctl(request, arg, this.memory, this.pointerSize);
    }
  }

  read(fd: number, buffer: Buffer): number {
    const entry = this.entry(fd, 'read');
    if (entry.kind !== 'request' || buffer.length < gpio.LINE_EVENT.size) throw KernelError.of('EINVAL', 'read');
    const events = entry.request.events;
    let n = 0;
    while (events.length > 0 && (n + 1) * gpio.LINE_EVENT.size <= buffer.length) {
      gpio.encodeLineEvent(events.shift() as gpio.LineEvent, buffer, n * gpio.LINE_EVENT.size);
      n++;
    }
    return n * gpio.LINE_EVENT.size;
  }

  list(dir: string): string[] {
    if (posix.normalize(dir) !== posix.normalize(this.devRoot)) throw KernelError.of('ENOENT', 'scandir', dir);
    return [...[...this.chips.values()].map((c) => c.name), ...[...this.adapters.values()].map((a) => posix.basename(a.path)), ...this.otherDevices];
  }

  addressOf(buffer: Buffer): bigint {
    return this.memory.addressOf(buffer);
  }

  watch(fd: number, onReadable: () => void): () => void {
    const entry = this.entry(fd, 'epoll_ctl');
    if (entry.kind !== 'request') throw KernelError.of('EPERM', 'epoll_ctl');
    if (this.watchers.has(fd)) throw new Error(`fd ${fd} is already watched`);
    const own = () => onReadable();
    this.watchers.set(fd, own);
    this.readable(fd);
    return () => {
      if (this.watchers.get(fd) === own) this.watchers.delete(fd);
    };
  }

  monotonicNs(): bigint {
    return this.offsetNs + BigInt(Math.round(this.clock.now() * 1e6));
  }

  dispose(): void {
    this.disposed++;
    this.watchers.clear();
  }

  // --- inside -------------------------------------------------------------------------------

  private install(entry: Open): number {
    const fd = this.nextFd++;
    this.fds.set(fd, entry);
    return fd;
  }

  private entry(fd: number, syscall: string): Open {
    const entry = this.fds.get(fd);
    if (entry === undefined) throw KernelError.of('EBADF', syscall);
    return entry;
  }

  private chipIoctl(chip: FakeGpioChip, request: number, arg: Buffer): number {
    switch (request) {
      case gpio.GPIO_GET_CHIPINFO_IOCTL:
        chip.chipInfo(arg);
        return 0;
      case gpio.GPIO_V2_GET_LINEINFO_IOCTL:
        chip.lineInfo(arg);
        return 0;
      case gpio.GPIO_V2_GET_LINE_IOCTL: {
        const fd = this.nextFd;
        const r = chip.request(arg, fd);
        this.install({ kind: 'request', request: r });
        return 0;
      }
      default:
        throw KernelError.of('EINVAL', 'ioctl');
    }
  }

  private requestIoctl(r: Request, request: number, arg: Buffer): number {
    switch (request) {
      case gpio.GPIO_V2_LINE_GET_VALUES_IOCTL:
        r.chip.getValues(r, arg);
        return 0;
      case gpio.GPIO_V2_LINE_SET_VALUES_IOCTL:
        r.chip.setValues(r, arg);
        return 0;
      case gpio.GPIO_V2_LINE_SET_CONFIG_IOCTL:
        r.chip.setConfig(r, arg);
        return 0;
      default:
        throw KernelError.of('EINVAL', 'ioctl');
    }
  }

  /** Level-triggered, as epoll is: the watcher is called again while events remain unread. */
  private readable(fd: number): void {
    if (!this.watchers.has(fd) || this.notifyPending.has(fd)) return;
    const entry = this.fds.get(fd);
    if (entry?.kind !== 'request' || entry.request.events.length === 0) return;
    this.notifyPending.add(fd);
    setImmediate(() => {
      this.notifyPending.delete(fd);
      const entryNow = this.fds.get(fd);
      if (entryNow?.kind !== 'request' || entryNow.request.events.length === 0) return;
      this.watchers.get(fd)?.();
      this.readable(fd);
    });
  }
}

/** Stands in for user memory: each ArrayBuffer gets an address range, so pointers in structs resolve back to bytes. */
class AddressRegistry {
  private readonly bases = new WeakMap<ArrayBufferLike, bigint>();
  private readonly ranges: { base: bigint; ref: WeakRef<ArrayBufferLike>; length: number }[] = [];
  private next = 0x10000n;

  addressOf(buffer: Buffer): bigint {
    let base = this.bases.get(buffer.buffer);
    if (base === undefined) {
      base = this.next;
      const length = buffer.buffer.byteLength;
      this.next += BigInt(Math.ceil((length + 1) / 4096) * 4096);
      this.bases.set(buffer.buffer, base);
      this.ranges.push({ base, ref: new WeakRef(buffer.buffer), length });
    }
    return base + BigInt(buffer.byteOffset);
  }

  resolve(address: bigint, length: number): Buffer {
    for (const r of this.ranges) {
      if (address < r.base || address + BigInt(length) > r.base + BigInt(r.length)) continue;
      const ab = r.ref.deref();
      if (ab === undefined) break;
      return Buffer.from(ab, Number(address - r.base), length);
    }
    throw KernelError.of('EFAULT', 'ioctl');
  }
}
