// The one seam between the Linux backend and the kernel: a handful of byte-level calls. The
// GPIO and I2C modules encode the kernel's structs themselves (gpio-uapi.ts, i2c-uapi.ts), so
// the real implementation (koffi-kernel.ts) stays a thin FFI shim and tests run the same
// modules against a fake that answers with the kernel's bytes (test/support/fake-kernel.ts).

export type OpenAccess = 'read' | 'readwrite';

export interface Kernel {
  /** Opens a device file, always close-on-exec; throws KernelError. */
  open(path: string, access: OpenAccess): number;
  close(fd: number): void;
  /** An ioctl whose argument is a struct: `arg` holds its bytes in and out; throws KernelError. */
  ioctl(fd: number, request: number, arg: Buffer): number;
  /** Bytes read into `buffer`; 0 when a non-blocking fd has nothing waiting (EAGAIN). */
  read(fd: number, buffer: Buffer): number;
  /** Names in a directory under a root (the GPIO chips and I2C adapters in /dev); throws KernelError. */
  list(dir: string): string[];
  /** The address of a Buffer's bytes, for structs that hold pointers (i2c_msg.buf, i2c_rdwr_ioctl_data.msgs). */
  addressOf(buffer: Buffer): bigint;
  /** Calls onReadable (on the main thread) whenever fd has data, until the returned stop is called. */
  watch(fd: number, onReadable: () => void): () => void;
  /** CLOCK_MONOTONIC now, in ns: the clock of the kernel's GPIO edge timestamps. */
  monotonicNs(): bigint;
  /** Stops whatever the implementation runs to watch fds; the Kernel is not used afterwards. */
  dispose(): void;
}

/**
 * errno values as Linux defines them for the architectures Node runs on here (x86, Arm,
 * RISC-V share asm-generic/errno*.h); the uapi-headers test checks them against <errno.h>.
 */
export const LINUX_ERRNO = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  EREMOTEIO: 121,
});

export type ErrnoCode = keyof typeof LINUX_ERRNO;

const DESCRIPTIONS: Partial<Record<string, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  EAGAIN: 'try again',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  ENODEV: 'no such device',
  EINVAL: 'invalid argument',
  ENOTTY: 'inappropriate ioctl for device',
  EOPNOTSUPP: 'operation not supported',
  ETIMEDOUT: 'timed out',
  EREMOTEIO: 'remote I/O error',
};

/** A failed system call, with the errno the kernel gave and the path it was about. */
export class KernelError extends Error {
  readonly errno: number;
  /** The errno's name, e.g. "EBUSY", "ENOENT", "EREMOTEIO". */
  readonly code: string;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(errno: number, code: string, syscall: string, path?: string) {
    super(`${syscall}${path !== undefined ? ` ${path}` : ''}: ${code} (${DESCRIPTIONS[code] ?? `errno ${errno}`})`);
    this.name = 'KernelError';
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }

  /** The error the kernel would give, by name (for fakes and for checks the backend makes itself). */
  static of(code: ErrnoCode, syscall: string, path?: string): KernelError {
    return new KernelError(LINUX_ERRNO[code], code, syscall, path);
  }
}

export function isKernelError(err: unknown, ...codes: string[]): err is KernelError {
  return err instanceof KernelError && (codes.length === 0 || codes.includes(err.code));
}
