// Where the Linux backend and `tether doctor` find the kernel's files. Each root can be moved
// with an environment variable, so tests (and a user reproducing a problem) run them against a
// prepared folder instead of the machine's own /sys, /dev and /proc.
import { join } from 'node:path';

export interface KernelRoots {
  /** Default /sys; TETHER_SYSFS_ROOT. */
  readonly sys: string;
  /** Default /dev; TETHER_DEV_ROOT. */
  readonly dev: string;
  /** Default /proc; TETHER_PROC_ROOT. */
  readonly proc: string;
}

export const ROOT_VARIABLES = { sys: 'TETHER_SYSFS_ROOT', dev: 'TETHER_DEV_ROOT', proc: 'TETHER_PROC_ROOT' } as const;

export function kernelRoots(env: NodeJS.ProcessEnv = process.env): KernelRoots {
  const pick = (name: string, fallback: string): string => {
    const v = env[name];
    return v !== undefined && v !== '' ? v : fallback;
  };
  return { sys: pick(ROOT_VARIABLES.sys, '/sys'), dev: pick(ROOT_VARIABLES.dev, '/dev'), proc: pick(ROOT_VARIABLES.proc, '/proc') };
}

/** A path under one root, e.g. under(roots.sys, 'class/pwm') → /sys/class/pwm. */
export function under(root: string, ...parts: string[]): string {
  return join(root, ...parts);
}
