// Prepared kernel folders for the Linux backend's tests: a temp dir with sys/ and proc/, files
// written from a nested object, and for PWM a SysfsIo that behaves as the kernel's sysfs code
// does (export creates pwmM/ a moment later, duty_cycle may never exceed period, udev opens the
// files to our group after a delay) while recording every write.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KernelRoots } from '../../../src/device/backends/linux/roots.js';
import { nodeSysfsIo, type SysfsIo } from '../../../src/device/backends/linux/sysfs-io.js';

export interface Tree {
  [name: string]: string | Buffer | Tree | { link: string };
}

export interface TempRoots extends KernelRoots {
  readonly base: string;
  cleanup(): void;
}

export function tempRoots(): TempRoots {
  const base = mkdtempSync(join(tmpdir(), 'tether-kernel-'));
  const roots = { sys: join(base, 'sys'), dev: join(base, 'dev'), proc: join(base, 'proc') };
  for (const dir of Object.values(roots)) mkdirSync(dir);
  return { ...roots, base, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export function writeTree(dir: string, tree: Tree): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(tree)) {
    const path = join(dir, name);
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, value);
    } else if ('link' in value && typeof value.link === 'string') {
      mkdirSync(dirname(path), { recursive: true });
      symlinkSync(value.link, path);
    } else {
      writeTree(path, value);
    }
  }
}

/**
 * A file standing for a device node (gpiochip0, i2c-1) in the prepared dev folder: the fake
 * kernel answers the ioctls, and the file gives the pre-flight check the mode and owner it
 * reads with stat. Default rw-rw---- root:root.
 */
export function devNode(roots: KernelRoots, name: string, options: { mode?: number; uid?: number; gid?: number } = {}): string {
  const path = join(roots.dev, name);
  writeFileSync(path, '');
  chmodSync(path, options.mode ?? 0o660);
  chownSync(path, options.uid ?? 0, options.gid ?? 0);
  return path;
}

/** A device-tree `gpios` property: phandle, pin, flags as big-endian u32 cells. */
export function ofGpios(pin: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(0x10, 0);
  b.writeUInt32BE(pin, 4);
  return b;
}

/** An errno-style error as node:fs throws it. */
export function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: fake kernel, write '${path}'`), { code });
}

/** A pwmchip folder under sys/class/pwm, with its device's uevent. */
export function pwmChip(roots: KernelRoots, chip: number, options: { npwm: number; device: string; ofName: string; compatible: string }): string {
  const deviceDir = join(roots.sys, 'devices/platform', options.device);
  writeTree(deviceDir, { uevent: `DRIVER=pwm\nOF_NAME=pwm\nOF_FULLNAME=${options.ofName}\nOF_COMPATIBLE_0=${options.compatible}\nOF_COMPATIBLE_N=1\n` });
  const chipDir = join(roots.sys, 'class/pwm', `pwmchip${chip}`);
  writeTree(chipDir, { npwm: `${options.npwm}\n`, export: '', unexport: '', device: { link: deviceDir } });
  return chipDir;
}

export const PI4_PWM = { npwm: 2, device: 'fe20c000.pwm', ofName: '/soc/pwm@7e20c000', compatible: 'brcm,bcm2835-pwm' };
export const PI5_FAN_PWM = { npwm: 4, device: '1f0009c000.pwm', ofName: '/axi/pcie@1000120000/rp1/pwm@9c000', compatible: 'raspberrypi,rp1-pwm' };
export const PI5_PWM = { npwm: 4, device: '1f00098000.pwm', ofName: '/axi/pcie@1000120000/rp1/pwm@98000', compatible: 'raspberrypi,rp1-pwm' };

export interface FakePwmKernel {
  io: SysfsIo;
  /** Passed as SysfsPwm's sleepSync: the kernel and udev catch up while we wait. */
  sleep: (ms: number) => void;
  /** Every write, as "path-relative-to-class/pwm=value". */
  writes: string[];
  sleeps: number;
  /** Makes writes to a path (relative to class/pwm) fail with this errno code. */
  failWrite(relPath: string, code: string): void;
}

/**
 * Export creates pwmM/ at the first wait, and udev makes it writable `udevDelay` waits later;
 * duty_cycle > period is refused with EINVAL, as the kernel's sysfs code refuses it.
 */
export function fakePwmKernel(roots: KernelRoots, options: { udevDelay?: number; neverCreate?: boolean } = {}): FakePwmKernel {
  const base = join(roots.sys, 'class/pwm');
  const rel = (path: string) => path.slice(base.length + 1);
  const failing = new Map<string, string>();
  const pendingExports: string[] = [];
  const notWritableUntil = new Map<string, number>();
  const k: FakePwmKernel = {
    writes: [],
    sleeps: 0,
    failWrite: (relPath, code) => void failing.set(relPath, code),
    sleep: () => {
      k.sleeps++;
      for (const channelDir of pendingExports.splice(0)) {
        if (options.neverCreate) continue;
        writeTree(channelDir, { period: '0\n', duty_cycle: '0\n', enable: '0\n', polarity: 'normal\n' });
        notWritableUntil.set(channelDir, k.sleeps + (options.udevDelay ?? 0));
      }
    },
    io: {
      ...nodeSysfsIo,
      writable: (path) => {
        const until = notWritableUntil.get(dirname(path));
        return until === undefined || k.sleeps >= until ? nodeSysfsIo.writable(path) : false;
      },
      write: (path, text) => {
        const r = rel(path);
        const code = failing.get(r);
        if (code !== undefined) throw errno(code, path);
        const value = Number(text);
        const dir = dirname(path);
        const read = (name: string) => Number(nodeSysfsIo.read(join(dir, name)));
        if (r.endsWith('/duty_cycle') && value > read('period')) throw errno('EINVAL', path);
        if (r.endsWith('/period') && value < read('duty_cycle')) throw errno('EINVAL', path);
        k.writes.push(`${r}=${text}`);
        if (r.endsWith('/export')) {
          pendingExports.push(join(dir, `pwm${text}`));
          return;
        }
        nodeSysfsIo.write(path, `${text}\n`);
      },
    },
  };
  return k;
}

/**
 * Runs `promise` while the manual clock moves forward in steps, but only while something waits
 * on it: real file reads get real time in between (sim-support's during() allows one
 * macrotask, too little for a readdir on a busy machine).
 */
export async function withClock<T>(clock: { advance(ms: number): Promise<void>; readonly pendingTimers: number }, promise: Promise<T>, maxMs: number, stepMs = 100): Promise<T> {
  let result: PromiseSettledResult<T> | undefined;
  void promise.then(
    (value) => void (result = { status: 'fulfilled', value }),
    (reason: unknown) => void (result = { status: 'rejected', reason }),
  );
  const realDeadline = Date.now() + 20_000;
  for (let advanced = 0; result === undefined; ) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (result !== undefined) break;
    if (Date.now() > realDeadline) throw new Error('still pending after 20 s of real time, with no clock timer to advance');
    if (clock.pendingTimers === 0) continue;
    if (advanced >= maxMs) throw new Error(`still pending after ${maxMs} ms of clock time`);
    await clock.advance(stepMs);
    advanced += stepMs;
  }
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
