// What installing a service needs from the machine: who is running, the user and group database,
// where unit files go and how systemctl is run. One interface, so that tests run the install
// against a temporary folder and a fake systemctl, and check the refusal when not root.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpusForHub } from '../hub/cpu-share.js';
import { kernelRoots } from '../device/backends/linux/roots.js';
import { ServiceError } from './service-error.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

export interface ServiceHost {
  /** The effective user id; installing and removing need 0. */
  readonly uid: number;
  /** The folder relative paths are taken from; the service runs there. */
  readonly cwd: string;
  /** Who ran `sudo` (SUDO_USER), if anyone. */
  readonly sudoUser: string | undefined;
  /** The account this process runs as. */
  readonly userName: string;
  /** Where unit files are written: /etc/systemd/system, or TETHER_SYSTEMD_DIR. */
  readonly unitDir: string;
  /** The node binary, by absolute path. */
  readonly node: string;
  /** This package's bin/tether.js, by its real path. */
  readonly bin: string;
  /** How many CPUs the service may run on (this process's affinity). */
  readonly cpus: number;
  lookupUser(name: string): Account | undefined;
  groupName(gid: number): string | undefined;
  groupExists(name: string): boolean;
  /** Groups other than root that own the board's device nodes (/dev/gpiochip*, /dev/i2c-*). */
  hardwareGroups(): string[];
  /** Runs systemctl with these arguments; rejects with a ServiceError naming the command. */
  systemctl(args: readonly string[]): Promise<void>;
}

export const DEFAULT_UNIT_DIR = '/etc/systemd/system';
/** Environment variables that move the unit folder and the systemctl binary (tests, unusual systems). */
export const HOST_VARIABLES = { unitDir: 'TETHER_SYSTEMD_DIR', systemctl: 'TETHER_SYSTEMCTL' } as const;

export function systemHost(env: NodeJS.ProcessEnv = process.env): ServiceHost {
  const systemctlBin = nonEmpty(env[HOST_VARIABLES.systemctl]) ?? 'systemctl';
  const devRoot = kernelRoots(env).dev;
  const host: ServiceHost = {
    uid: process.getuid?.() ?? -1,
    cwd: process.cwd(),
    sudoUser: nonEmpty(env['SUDO_USER']),
    userName: os.userInfo().username,
    unitDir: nonEmpty(env[HOST_VARIABLES.unitDir]) ?? DEFAULT_UNIT_DIR,
    node: process.execPath,
    bin: fs.realpathSync(fileURLToPath(new URL('../../../bin/tether.js', import.meta.url))),
    cpus: cpusForHub(),
    lookupUser(name) {
      const fields = getent('passwd', name);
      if (fields === undefined) return undefined;
      return { name: fields[0] ?? name, uid: Number(fields[2]), gid: Number(fields[3]) };
    },
    groupName: (gid) => getent('group', String(gid))?.[0],
    groupExists: (name) => getent('group', name) !== undefined,
    hardwareGroups() {
      let names: string[];
      try {
        names = fs.readdirSync(devRoot).filter((n) => /^(gpiochip\d+|i2c-\d+)$/.test(n));
      } catch {
        return [];
      }
      const groups = new Set<string>();
      for (const n of names) {
        const gid = fs.statSync(path.join(devRoot, n), { throwIfNoEntry: false })?.gid;
        const group = gid === undefined || gid === 0 ? undefined : host.groupName(gid);
        if (group !== undefined) groups.add(group);
      }
      return [...groups];
    },
    systemctl: (args) => runSystemctl(systemctlBin, args),
  };
  return host;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** One entry of the user or group database (NSS, so LDAP and systemd users count), split at ":". */
function getent(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    return execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.split(':');
  } catch (err) {
    // getent exits 2 for "no such entry"; without getent at all, read the files it would read.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    const file = database === 'passwd' ? '/etc/passwd' : '/etc/group';
    const column = /^\d+$/.test(key) ? 2 : 0;
    return readLines(file)
      .map((line) => line.split(':'))
      .find((fields) => fields[column] === key);
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function runSystemctl(bin: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const command = `${bin} ${args.join(' ')}`;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new ServiceError(`${bin} was not found: this machine does not seem to run systemd; start tether from your init system instead (the unit printed by --print shows the command line)`));
      }
      const detail = stderr.trim() || err.message;
      reject(new ServiceError(`${command} failed (exit ${String(err.code)}): ${detail}`));
    });
  });
}
