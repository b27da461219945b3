// `tether service install|uninstall hub|device`: run the hub or a board at boot under systemd,
// restarted when it stops, with its log in the journal.
import { Argument, InvalidArgumentError, type Command } from 'commander';
import { CliFailure, EXIT_USAGE, type CliContext } from './context.js';
import type { ServiceHost } from '../service/host.js';
import { unitFileName, type ServiceKind } from '../service/systemd-unit.js';

interface InstallFlags {
  config?: string;
  data?: string;
  user?: string;
  name?: string;
  print?: boolean;
}

const SERVICE_HELP = `
Linux with systemd only (Raspberry Pi OS, Debian, Ubuntu…). docs/service.md has the
details: what the unit contains, its sandboxing and how to loosen it.

Examples:
  $ sudo tether service install device --config /etc/tether/board.yaml
  $ sudo tether service install hub --config /etc/tether/hub.yaml --data /var/lib/tether
  $ tether service install hub --print          show the unit, change nothing
  $ sudo tether service uninstall device`;

const INSTALL_HELP = `
Writes /etc/systemd/system/tether-KIND.service (or --name), then runs
systemctl daemon-reload and systemctl enable --now. Needs root, except with --print.
The config is checked first, as tether hub/device would check it. Relative paths
are taken from the folder you run this in, and the service runs in that folder.
The service runs as --user, else as the user who ran sudo, else as root; a device's
user also gets the gpio and i2c groups (those that exist here).
TETHER_SYSTEMD_DIR and TETHER_SYSTEMCTL move the unit folder and the systemctl used.

Examples:
  $ sudo tether service install device --config board.yaml
  wrote /etc/systemd/system/tether-device.service: runs tether device as pi with groups gpio, i2c
  …
  tether-device.service is enabled (it starts at boot) and running. Next:
    systemctl status tether-device            is it running?
    journalctl -u tether-device -f            its log, as it comes
    sudo tether service uninstall device      stop it and remove the unit
  $ sudo tether service install hub --config hub.yaml --data /var/lib/tether --user tether
  $ sudo tether service install device --config shed.yaml --name tether-shed
  $ tether service install device --config board.yaml --print > tether-device.service`;

const UNINSTALL_HELP = `
Runs systemctl disable --now, removes the unit file (only one that tether service
install wrote) and runs systemctl daemon-reload. The config and the data stay.

Examples:
  $ sudo tether service uninstall device
  $ sudo tether service uninstall device --name tether-shed`;

export function registerService(program: Command, ctx: CliContext, host?: () => ServiceHost): void {
  const service = program
    .command('service')
    .description('run the hub or a board at boot under systemd: install or uninstall its unit')
    .addHelpText('after', SERVICE_HELP);

  service
    .command('install')
    .description('write the systemd unit for the hub or a board, enable it and start it')
    .addArgument(kindArgument())
    .option('--config <file>', 'the hub or board config (a board needs one); checked before anything is written')
    .option('--data <dir>', "hub only: the data folder (default: data from the hub config, else ./tether-data); it is the only folder the hub may write")
    .option('--user <name>', 'the account to run as (default: the user who ran sudo, else root)')
    .option('--name <unit>', 'the unit name (default tether-hub or tether-device); one per board on the same machine', parseUnitName)
    .option('--print', 'print the unit on stdout and change nothing (needs no root)')
    .addHelpText('after', INSTALL_HELP)
    .action(async (kind: ServiceKind, flags: InstallFlags, command: Command) => {
      if (kind === 'device' && flags.config === undefined) usage(command, 'a device service needs its board config: --config FILE');
      if (kind === 'device' && flags.data !== undefined) usage(command, '--data is for a hub service; a board keeps no data folder');
      await withServiceErrors(async () => {
        const [{ planService }, { installService, requireRoot, shellWord }, system] = await loadService(host);
        const again = ['tether service install', kind, ...optionWords(flags, shellWord)].join(' ');
        if (flags.print !== true) requireRoot(system, again, 'or add --print to see the unit without installing it');
        const plan = await planService({ kind, ...flags }, system);
        for (const note of plan.notes) ctx.err(`warning: ${note}`);
        if (flags.print === true) {
          ctx.out(plan.unit.trimEnd());
          return;
        }
        await installService(plan, system, serviceOutput(ctx));
      });
    });

  service
    .command('uninstall')
    .description('stop and disable the service and remove its unit')
    .addArgument(kindArgument())
    .option('--name <unit>', 'the unit name given to install (default tether-hub or tether-device)', parseUnitName)
    .addHelpText('after', UNINSTALL_HELP)
    .action(async (kind: ServiceKind, flags: { name?: string }) => {
      await withServiceErrors(async () => {
        const [{ defaultUnitName }, { requireRoot, uninstallService, shellWord }, system] = await loadService(host);
        requireRoot(system, ['tether service uninstall', kind, ...(flags.name !== undefined ? ['--name', shellWord(flags.name)] : [])].join(' '));
        await uninstallService(kind, unitFileName(flags.name ?? defaultUnitName(kind)), system, serviceOutput(ctx));
      });
    });
}

function serviceOutput(ctx: CliContext) {
  return { out: (line: string) => ctx.out(line), warn: (line: string) => ctx.err(`warning: ${line}`) };
}

/** A bad --name is a usage error (exit 2), caught before anything is read or written. */
function parseUnitName(value: string): string {
  try {
    return unitFileName(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

function kindArgument(): Argument {
  return new Argument('<kind>', 'hub or device').choices(['hub', 'device']);
}

function usage(command: Command, message: string): never {
  return command.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'tether.usage' });
}

function optionWords(flags: InstallFlags, quote: (word: string) => string): string[] {
  const words: string[] = [];
  for (const key of ['config', 'data', 'user', 'name'] as const) {
    const value = flags[key];
    if (value !== undefined) words.push(`--${key}`, quote(value));
  }
  return words;
}

// The service layer is loaded on demand, like the hub and the board, so `tether send` stays light.
async function loadService(host: (() => ServiceHost) | undefined) {
  return Promise.all([import('../service/plan.js'), import('../service/install.js'), loadHost(host)]);
}

async function loadHost(host: (() => ServiceHost) | undefined): Promise<ServiceHost> {
  if (host !== undefined) return host();
  const { systemHost } = await import('../service/host.js');
  return systemHost();
}

/** ServiceError says what happened and what to do; it ends the command with exit 1. */
async function withServiceErrors(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof Error && err.name === 'ServiceError') throw new CliFailure(err.message);
    throw err;
  }
}
