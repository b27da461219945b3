// From `tether service install hub|device …` to the unit to write: absolute paths, the config
// checked with the same loaders `tether hub` and `tether device` use, the account and groups,
// and notes about anything that would keep the service from starting.
import path from 'node:path';
import { hubNodeFlags } from '../hub/cpu-share.js';
import type { Account, ServiceHost } from './host.js';
import { ServiceError } from './service-error.js';
import { renderUnit, unitFileName, type ServiceKind, type ServiceUnitOptions } from './systemd-unit.js';

export interface ServiceRequest {
  kind: ServiceKind;
  config?: string;
  /** Hub only: the data folder (default: `data` from the config, else ./tether-data). */
  data?: string;
  /** The account to run as (default: whoever ran sudo; root when there is no one else). */
  user?: string;
  /** The unit's name (default tether-hub or tether-device). */
  name?: string;
}

export interface ServicePlan {
  kind: ServiceKind;
  /** e.g. tether-device.service */
  unitName: string;
  unitPath: string;
  unit: string;
  options: ServiceUnitOptions;
  /** The account the service runs as; undefined: root. */
  account: Account | undefined;
  /** Things the user should know or fix; printed as warnings. */
  notes: string[];
}

/** The groups that own the Raspberry Pi's GPIO and I2C device nodes in Raspberry Pi OS. */
export const DEVICE_GROUPS: readonly string[] = ['gpio', 'i2c'];

export function defaultUnitName(kind: ServiceKind): string {
  return `tether-${kind}`;
}

export async function planService(request: ServiceRequest, host: ServiceHost): Promise<ServicePlan> {
  const { kind } = request;
  const unitName = unitFileName(request.name ?? defaultUnitName(kind));
  const resolve = (p: string) => path.resolve(host.cwd, p);
  const config = request.config === undefined ? undefined : resolve(request.config);
  let data: string | undefined;
  if (kind === 'device') {
    if (config === undefined) throw new ServiceError('a device service needs its board config: --config FILE');
    if (request.data !== undefined) throw new ServiceError('--data is for a hub service; a board keeps no data folder');
    // ConfigError lists every problem with its path, as `tether device --config` would.
    const { loadBoardConfig } = await import('../device/config.js');
    await loadBoardConfig(config);
  } else {
    const { loadHubConfig } = await import('../hub/config.js');
    const hubConfig = await loadHubConfig(config);
    data = resolve(request.data ?? hubConfig.data);
  }

  const notes: string[] = [];
  const account = pickAccount(request.user, host);
  let supplementaryGroups: string[] = [];
  if (account === undefined) {
    notes.push('the service runs as root; give --user NAME to run it as an ordinary account' + (kind === 'device' ? ' (one in the gpio and i2c groups)' : ''));
  } else if (kind === 'device') {
    supplementaryGroups = [...new Set([...DEVICE_GROUPS, ...host.hardwareGroups()])].filter((g) => {
      if (host.groupExists(g)) return true;
      notes.push(`there is no group "${g}" on this machine, so the unit does not add it; if ${account.name} cannot open the board's /dev/gpiochip* and /dev/i2c-* files, see who may (ls -l /dev/gpiochip0 /dev/i2c-1) and add ${account.name} to that group`);
      return false;
    });
  }
  const nodeFlags = kind === 'hub' ? hubNodeFlags(host.cpus) : [];
  if (nodeFlags.length > 0) {
    notes.push(
      `install runs on one CPU here, so the unit runs the hub's node with ${nodeFlags.join(' ')}: garbage collection stays on the hub's own thread instead of taking the CPU from it (docs/scaling.md). ` +
        'The flag follows the CPUs this install ran on: if the service gets more (or install ran under taskset), run install again from a shell with the CPUs the service gets',
    );
  }
  const options: ServiceUnitOptions = {
    kind,
    node: host.node,
    ...(nodeFlags.length > 0 ? { nodeFlags } : {}),
    bin: host.bin,
    ...(config !== undefined ? { config } : {}),
    ...(data !== undefined ? { data } : {}),
    workingDirectory: host.cwd,
    ...(account !== undefined ? { user: { name: account.name, group: host.groupName(account.gid) ?? String(account.gid) } } : {}),
    supplementaryGroups,
  };
  if (account !== undefined) {
    const ownHome = `/home/${account.name}/`;
    const elsewhere = [...new Set([host.node, host.bin])].filter((p) => (p.startsWith('/home/') || p.startsWith('/root/')) && !p.startsWith(ownHome));
    if (elsewhere.length > 0) {
      notes.push(`${elsewhere.join(' and ')} ${elsewhere.length > 1 ? 'are' : 'is'} in another account's home folder, which ${account.name} may not be allowed to read; if the service fails with status=203/EXEC, install Node.js and Tether system-wide (sudo npm install -g tether-hw)`);
    }
  }
  const hidden = [...new Set([config, data, host.cwd])].filter((p): p is string => p !== undefined && isPrivateTmp(p));
  if (hidden.length > 0) {
    notes.push(
      `${hidden.join(' and ')} ${hidden.length > 1 ? 'are' : 'is'} under /tmp or /var/tmp, which the service cannot see (PrivateTmp=yes gives it an empty one of its own): ` +
        'keep the config and data elsewhere (e.g. /etc/tether, /var/lib/tether) and run install from a folder outside /tmp',
    );
  }
  return { kind, unitName, unitPath: path.join(host.unitDir, unitName), unit: renderUnit(options), options, account, notes };
}

/** --user, else whoever ran sudo, else this account; root (no User=) when that is all there is. */
function pickAccount(requested: string | undefined, host: ServiceHost): Account | undefined {
  const name = requested ?? (host.sudoUser !== undefined && host.sudoUser !== 'root' ? host.sudoUser : host.uid === 0 ? undefined : host.userName);
  if (name === undefined || name === 'root') return undefined;
  const account = host.lookupUser(name);
  if (account === undefined) {
    throw new ServiceError(`there is no user "${name}" on this machine; create one (sudo adduser --system --group tether) or name another with --user`);
  }
  return account.uid === 0 ? undefined : account;
}

function isPrivateTmp(p: string): boolean {
  return ['/tmp', '/var/tmp'].some((t) => p === t || p.startsWith(`${t}/`));
}
