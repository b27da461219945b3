// The real Kernel: libc's open/close/ioctl/read through koffi. koffi is imported only by
// loadKoffiKernel(), so nothing but the Linux backend ever loads the FFI.
//
// A call through koffi costs about 2 µs on the 2-core x86-64 VM this was written on (getpid:
// 2.08 µs, an ioctl on /dev/null: 1.9 µs), which bounds how fast software PWM can toggle.
import { readdirSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import type koffiModule from 'koffi';
import { createFdWatcher, type FdWatcher, type FdWatcherKind } from './fd-watch.js';
import { KernelError, type Kernel, type OpenAccess } from './kernel.js';

type Koffi = typeof koffiModule;
type PollFunction = ReturnType<ReturnType<Koffi['load']>['func']>;

/** The few libc functions the kernel seam and the fd watchers call. */
export interface Libc {
  readonly koffi: Koffi;
  open(path: string, flags: number): number;
  close(fd: number): number;
  ioctl(fd: number, request: number, arg: Buffer): number;
  read(fd: number, buf: Buffer, count: number): number;
  write(fd: number, buf: Buffer, count: number): number;
  eventfd(initval: number, flags: number): number;
  /** poll(struct pollfd *, nfds_t, int); its `.async` runs it on a libuv worker. */
  readonly poll: PollFunction;
  setNonBlocking(fd: number): void;
  errno(): number;
}

/** fcntl.h values shared by x86, Arm and RISC-V Linux (the uapi-headers test checks them). */
export const FCNTL = Object.freeze({ O_RDONLY: 0, O_RDWR: 2, O_NONBLOCK: 0o4000, O_CLOEXEC: 0o2000000, F_GETFL: 3, F_SETFL: 4 });
const { O_RDONLY, O_RDWR, O_NONBLOCK, O_CLOEXEC, F_GETFL, F_SETFL } = FCNTL;

export interface KoffiKernelOptions {
  /** How fds are watched; by default "uv" where koffi has it (fd-watch.ts explains both). */
  watcher?: FdWatcherKind;
}

export async function loadKoffiKernel(options: KoffiKernelOptions = {}): Promise<Kernel> {
  let koffi: Koffi;
  try {
    koffi = (await import('koffi')).default;
  } catch (err) {
    throw new Error(`cannot load koffi, which the Linux backend needs to reach the kernel (${(err as Error).message}); reinstall Tether's dependencies with npm ci`, { cause: err });
  }
  return new KoffiKernel(bindLibc(koffi), options);
}

function bindLibc(koffi: Koffi): Libc {
  // The process's own symbols: glibc's or musl's libc, whichever Node was linked against.
  const lib = koffi.load(null);
  // Declared variadic as in <fcntl.h> and <sys/ioctl.h>, so the call follows the ABI's rules
  // for variadic functions (it costs no more than a fixed prototype here).
  const open = lib.func('int open(const char *path, int flags, ...)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const close = lib.func('int close(int fd)') as (fd: number) => number;
  const read = lib.func('intptr_t read(int fd, void *buf, size_t count)') as (fd: number, buf: Buffer, n: number) => number;
  const write = lib.func('intptr_t write(int fd, const void *buf, size_t count)') as (fd: number, buf: Buffer, n: number) => number;
  const eventfd = lib.func('int eventfd(unsigned int initval, int flags)') as (initval: number, flags: number) => number;
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  const errno = () => koffi.errno();
  return {
    koffi,
    open: (path, flags) => open(path, flags) as number,
    close,
    ioctl: (fd, request, arg) => ioctl(fd, request, 'void *', arg) as number,
    read,
    write,
    eventfd,
    poll,
    errno,
    setNonBlocking(fd) {
      const flags = fcntl(fd, F_GETFL) as number;
      if (flags < 0 || (fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK) as number) < 0) throw errnoError(koffi, errno(), 'fcntl');
    },
  };
}

function errnoError(koffi: Koffi, errno: number, syscall: string, path?: string): KernelError {
  return new KernelError(errno, errnoName(koffi, errno), syscall, path);
}

let names: Map<number, string> | undefined;

function errnoName(koffi: Koffi, errno: number): string {
  names ??= new Map(Object.entries(koffi.os.errno).map(([name, n]) => [Number(n), name]));
  const name = names.get(errno);
  if (name !== undefined) return name;
  const fromNode = getSystemErrorName(-errno);
  return fromNode.startsWith('E') ? fromNode : `errno ${errno}`;
}

const EAGAIN_NAMES = new Set(['EAGAIN', 'EWOULDBLOCK']);

class KoffiKernel implements Kernel {
  private readonly watcher: FdWatcher;

  constructor(
    private readonly libc: Libc,
    options: KoffiKernelOptions,
  ) {
    this.watcher = createFdWatcher(libc, options.watcher, (syscall) => this.error(syscall));
  }

  open(path: string, access: OpenAccess): number {
    const fd = this.libc.open(path, (access === 'read' ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) throw this.error('open', path);
    return fd;
  }

  close(fd: number): void {
    // Linux frees the fd even when close reports an error, so there is nothing to retry.
    this.libc.close(fd);
  }

  ioctl(fd: number, request: number, arg: Buffer): number {
    const r = this.libc.ioctl(fd, request, arg);
    if (r < 0) throw this.error('ioctl');
    return r;
  }

  read(fd: number, buffer: Buffer): number {
    const n = this.libc.read(fd, buffer, buffer.length);
    if (n >= 0) return n;
    const err = this.error('read');
    if (EAGAIN_NAMES.has(err.code)) return 0;
    throw err;
  }

  list(dir: string): string[] {
    try {
      return readdirSync(dir);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new KernelError(-(e.errno ?? 0), e.code ?? 'EIO', 'scandir', dir);
    }
  }

  addressOf(buffer: Buffer): bigint {
    return this.libc.koffi.address(buffer);
  }

  watch(fd: number, onReadable: () => void): () => void {
    return this.watcher.watch(fd, onReadable);
  }

  monotonicNs(): bigint {
    // libuv's uv_hrtime reads clock_gettime(CLOCK_MONOTONIC) on Linux: the clock the kernel
    // stamps GPIO edges with by default. koffi-kernel.test.ts checks it against a C program.
    return process.hrtime.bigint();
  }

  dispose(): void {
    this.watcher.dispose();
  }

  private error(syscall: string, path?: string): KernelError {
    return errnoError(this.libc.koffi, this.libc.errno(), syscall, path);
  }
}
