// Writing and removing the unit: the file, `systemctl daemon-reload`, `enable --now` and back.
import fs from 'node:fs';
import path from 'node:path';
import type { ServiceHost } from './host.js';
import type { ServicePlan } from './plan.js';
import { ServiceError } from './service-error.js';

/** The first words of every unit this command writes; uninstall removes only such files. */
export const UNIT_MARK = '# Written by `tether service install';

export interface ServiceOutput {
  /** A line for stdout: what was done, and the commands to follow it. */
  out(line: string): void;
  /** A warning for stderr. */
  warn(line: string): void;
}

/**
 * `again` is the command line to suggest with sudo, e.g. "tether service install device --config
 * board.yaml"; `otherwise` what may be done without root.
 */
export function requireRoot(host: ServiceHost, again: string, otherwise?: string): void {
  if (host.uid !== 0) {
    throw new ServiceError(`writing to ${host.unitDir} and running systemctl need root: run sudo ${again}${otherwise !== undefined ? ` (${otherwise})` : ''}`);
  }
}

export async function installService(plan: ServicePlan, host: ServiceHost, output: ServiceOutput): Promise<void> {
  const unit = plan.unitName;
  const replaced = fs.existsSync(plan.unitPath);
  if (replaced && !isOurs(plan.unitPath)) {
    throw new ServiceError(`${plan.unitPath} exists and was not written by tether service install; pick another name with --name, or remove that unit first`);
  }
  const data = plan.options.data;
  if (data !== undefined) prepareDataFolder(data, plan, output);
  writeAtomically(plan.unitPath, plan.unit);
  output.out(`${replaced ? 'replaced' : 'wrote'} ${plan.unitPath}: runs ${describeRun(plan)}`);
  const base = unit.slice(0, -'.service'.length);
  const hint = `the unit is in ${plan.unitPath}; see why with: systemctl status ${base}; journalctl -u ${base}`;
  for (const args of [['daemon-reload'], ['enable', '--now', unit], ...(replaced ? [['restart', unit]] : [])]) {
    await systemctl(host, args, output, hint);
  }
  const next: [string, string][] = [
    [`systemctl status ${base}`, 'is it running?'],
    [`journalctl -u ${base} -f`, 'its log, as it comes'],
    [`sudo tether service uninstall ${plan.kind}${base === `tether-${plan.kind}` ? '' : ` --name ${base}`}`, 'stop it and remove the unit'],
  ];
  const width = Math.max(...next.map(([command]) => command.length)) + 3;
  output.out(`${unit} is enabled (it starts at boot) and running. Next:`);
  for (const [command, what] of next) output.out(`  ${command.padEnd(width)}${what}`);
}

export async function uninstallService(kind: string, unitName: string, host: ServiceHost, output: ServiceOutput): Promise<void> {
  const unitPath = path.join(host.unitDir, unitName);
  if (!fs.existsSync(unitPath)) {
    throw new ServiceError(`there is no ${unitPath}, so nothing to remove; the units installed are listed by: systemctl list-unit-files 'tether*'`);
  }
  if (!isOurs(unitPath)) throw new ServiceError(`${unitPath} was not written by tether service install; remove it yourself if you mean to`);
  await systemctl(host, ['disable', '--now', unitName], output, `${unitPath} is still there; once systemd can stop it, run this again`);
  fs.rmSync(unitPath);
  output.out(`removed ${unitPath}`);
  await systemctl(host, ['daemon-reload'], output, 'the unit file is gone; systemd forgets it at its next daemon-reload or boot');
  output.out(`the ${kind} service is stopped and will not start at boot; ${kind === 'hub' ? 'its config and data folder stay where they are' : 'its config stays where it is'}`);
}

async function systemctl(host: ServiceHost, args: readonly string[], output: ServiceOutput, hint: string): Promise<void> {
  try {
    await host.systemctl(args);
  } catch (err) {
    if (err instanceof ServiceError) throw new ServiceError(`${err.message}\n${hint}`);
    throw err;
  }
  output.out(`ran systemctl ${args.join(' ')}`);
}

function describeRun(plan: ServicePlan): string {
  const who = plan.account === undefined ? 'as root' : `as ${plan.account.name}`;
  const groups = plan.options.supplementaryGroups ?? [];
  return `tether ${plan.kind} ${who}${groups.length > 0 ? ` with groups ${groups.join(', ')}` : ''}${plan.options.data !== undefined ? `, data in ${plan.options.data}` : ''}`;
}

/**
 * ReadWritePaths= must exist when the service starts, and the hub writes its store there as
 * the service's account: a new folder is made and given to that account; one that belongs to
 * someone else is left alone, with the command to hand it over.
 */
function prepareDataFolder(data: string, plan: ServicePlan, output: ServiceOutput): void {
  const account = plan.account;
  const stat = fs.statSync(data, { throwIfNoEntry: false });
  if (stat === undefined) {
    fs.mkdirSync(data, { recursive: true, mode: 0o700 });
    if (account !== undefined) fs.chownSync(data, account.uid, account.gid);
    output.out(`made the data folder ${data}${account !== undefined ? ` (owned by ${account.name})` : ''}`);
    return;
  }
  if (!stat.isDirectory()) throw new ServiceError(`the data folder ${data} is a file; give a folder with --data`);
  if (account !== undefined && stat.uid !== account.uid) {
    output.warn(`the data folder ${data} does not belong to ${account.name}, who runs the service; if the hub cannot write there, run: sudo chown -R ${account.name}: ${shellWord(data)}`);
  }
}

function isOurs(unitPath: string): boolean {
  try {
    return fs.readFileSync(unitPath, 'utf8').startsWith(UNIT_MARK);
  } catch {
    return false;
  }
}

/** systemd may read the unit at any moment (another daemon-reload): it sees the old file or the new one. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.tether-${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, text, { mode: 0o644 });
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ServiceError(`cannot write ${file} (${code}); check that ${path.dirname(file)} exists and is writable by root`);
  }
}

/** A path as a shell word, for commands printed for the user to copy. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
