// File access for the sysfs modules, behind an interface so tests can make a write fail the
// way the kernel does (EACCES, EBUSY, EINVAL) while the files themselves sit in a temp folder.
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Synchronous access to small attribute files (PWM). */
export interface SysfsIo {
  read(path: string): string;
  write(path: string, text: string): void;
  exists(path: string): boolean;
  /** Whether this process may write the file (udev may not have opened it to our group yet). */
  writable(path: string): boolean;
  /** Entry names, or [] when the folder does not exist. */
  list(dir: string): string[];
  /** Where a link leads, or undefined when it does not exist. */
  realpath(path: string): string | undefined;
}

export const nodeSysfsIo: SysfsIo = {
  read: (path) => readFileSync(path, 'utf8'),
  write: (path, text) => writeFileSync(path, text),
  exists: (path) => existsSync(path),
  writable(path) {
    try {
      accessSync(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir).sort(naturalOrder);
    } catch {
      return [];
    }
  },
  realpath(path) {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  },
};

/** Reads a whole file; 1-Wire and DHT reads block in the kernel for up to a second, so they are async. */
export type ReadFile = (path: string) => Promise<Buffer>;

export const nodeReadFile: ReadFile = (path) => readFile(path);

/** Blocks the thread without spinning; only for short waits in synchronous paths (a PWM export). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** pwmchip2 before pwmchip10, iio:device2 before iio:device10. */
export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The errno code of a failed call, e.g. "EACCES", or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The GPIO a device-tree node drives, from its `gpios` property (big-endian cells: phandle,
 * pin, flags), as /sys/…/of_node/gpios shows it. Undefined when the property is missing or short.
 */
export function gpioFromOfNode(bytes: Buffer | undefined): number | undefined {
  if (bytes === undefined || bytes.length < 8) return undefined;
  return bytes.readUInt32BE(4);
}
