// `tether update HOST [PORT] --firmware DIR` and `tether update --device ID --hub URL --firmware DIR`:
// a safe firmware update of a MicroPython board through the `update` action (admin scope; the
// board side is firmware/tether/ota.py, the steps are in docs/firmware.md). The update itself is
// the firmware library's OtaClient (src/firmware/); this command reads the arguments, picks the
// channel (straight to the board, or through a hub's API), prints the client's progress and
// turns its failures into messages that name this command's options, and exit codes.
import { Argument, InvalidArgumentError, type Command } from 'commander';
import { HubApiError } from '../client/hub-api.js';
import { CLIENT_ERROR_CODES, TetherError, type TetherErrorCode } from '../client/index.js';
import {
  DirectChannel,
  FirmwareError,
  HubApiChannel,
  OtaClient,
  OtaError,
  TRIAL_BOOTS,
  collectFirmware,
  receivedBytes,
  requireFiles,
  type ClearResult,
  type Firmware,
  type OtaChannel,
  type OtaEvent,
  type UpdateStatus,
} from '../firmware/index.js';
import { parsePort, parseHubUrl } from './arguments.js';
import { addConnectionOptions, toConnectOptions, type ConnectionFlags } from './connection-options.js';
import { CliFailure, EXIT_USAGE, type CliContext } from './context.js';
import { API_TOKEN, BOARD_TOKEN, addTokenOptions, resolveToken, type TokenSource } from './token-options.js';
import { Progress, formatBytes, type ProgressSink } from './update-files.js';


interface UpdateFlags extends ConnectionFlags {
  firmware?: string;
  wait: number;
  status?: boolean;
  abort?: boolean;
  device?: string;
  hub?: string;
  apiToken?: string;
  apiTokenFile?: string;
}

export const DEFAULT_PORT = 12345;
export const DEFAULT_WAIT_S = 60;
const EXAMPLES = `
The board must already run a firmware with OTA updates (the update action) and
take an admin token. The files under DIR are sent in chunks; the board checks
each one's SHA-256, then resets and applies them through a journal (a power cut
at any point leaves the old or the new version, never a mix). The new version
runs on trial until it is healthy (network up and serving, or linked to its
hub); after ${TRIAL_BOOTS} boots without that, the board rolls back by itself.

Sent: the .py, .mpy and .json files under DIR, except config/ (the board's own
settings, certificates and tokens), tests/, boot.py and __pycache__, and only
those whose SHA-256 differs from the board's copy; files under tether/ on the
board that DIR no longer has are deleted (and put back by a rollback).
If the upload stops half-way, run the same command again: it resumes from the
bytes the board already has. --abort discards whatever update the board holds
(staged, committed, stuck half-applied or on trial) and keeps or puts back the
version it ran before.

Examples:
  $ tether update 192.168.1.50 --firmware firmware --token-file admin.token
  tether: 192.168.1.50:12345 runs 0.1.0; sending 0.1.1: 3 files, 41.2 KiB (the board has the other 32)
  [########################] 100%  41.2 KiB of 41.2 KiB  file 3/3 tether/session.py
  tether: the board checked every file; it resets in 1000 ms and applies 0.1.1
  tether: the board restarted with 0.1.1 on trial (boot 1 of 3); waiting for it to confirm
  version 0.1.0 → 0.1.1
  $ TETHER_TOKEN=… tether update board.local --firmware firmware --tls --ca board.pem
  $ tether update 192.168.1.50 --status --token-file admin.token
  $ tether update 192.168.1.50 --abort --token-file admin.token
  $ tether update --device tank --hub http://127.0.0.1:7340 --firmware firmware \
      --api-token-file tether-data/api-token
      (an admin API token: <data>/api-token, one from tether hub token create
      NAME --scope admin, or TETHER_API_TOKEN)

Exit status: 0 when the board confirmed the new version, 1 when something
failed or the board rolled back, 2 when the command line is wrong.`;

export function registerUpdate(program: Command, ctx: CliContext): void {
  const update = program
    .command('update')
    .description("update a MicroPython board's firmware over the network: verified, power-cut safe, rolled back if it does not come up")
    .addArgument(new Argument('[host]', "the board's address (direct mode)"))
    .addArgument(new Argument('[port]', `the board's TCP port (default ${DEFAULT_PORT})`).argParser(parsePort))
    .option('--firmware <dir>', 'the firmware folder to send (the one with main.py and tether/)')
    .option('--wait <s>', 'how long to wait for the board to restart and confirm the new version', parseSeconds, DEFAULT_WAIT_S)
    .option('--status', "print the board's update state and exit")
    .option('--abort', 'discard the update the board holds (staged, committed, stuck or on trial); the board keeps or puts back the version it ran before')
    .option('--device <id>', 'update this board through the hub (with --hub)')
    .option('--hub <url>', "the hub's HTTP address, e.g. http://127.0.0.1:7340 (with --device)");
  addTokenOptions(update, API_TOKEN);
  addConnectionOptions(update).addHelpText('after', EXAMPLES);
  update.action(async (host: string | undefined, port: number | undefined, flags: UpdateFlags, command: Command) => {
    const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'tether.usage' });
    const viaHub = flags.device !== undefined || flags.hub !== undefined;
    if (viaHub && host !== undefined) usage('give either HOST (direct) or --device and --hub (through the hub), not both');
    if (viaHub && (flags.device === undefined || flags.hub === undefined)) usage('--device and --hub go together, e.g. --device tank --hub http://127.0.0.1:7340');
    if (!viaHub && host === undefined) usage("give the board's address, e.g. tether update 192.168.1.50 --firmware firmware");
    if (flags.status === true && flags.abort === true) usage('give --status or --abort, not both');
    if (flags.abort === true && flags.firmware !== undefined) usage('--abort discards the update on the board; it takes no --firmware');
    if (flags.status !== true && flags.abort !== true && flags.firmware === undefined) usage('--firmware DIR is required: the firmware folder, the one with main.py and tether/');
    let hubUrl: URL | undefined;
    if (flags.hub !== undefined) {
      hubUrl = parseHubUrl(flags.hub);
      if (hubUrl === undefined) usage(`--hub: expected an http:// or https:// address such as http://127.0.0.1:7340, got "${flags.hub}"`);
    }
    let firmware: Firmware | undefined;
    if (flags.status !== true && flags.abort !== true && flags.firmware !== undefined) {
      try {
        firmware = requireFiles(await collectFirmware(flags.firmware));
      } catch (err) {
        if (err instanceof FirmwareError) throw new CliFailure(err.message);
        throw err;
      }
    }
    const channel: OtaChannel =
      hubUrl !== undefined && flags.device !== undefined
        ? new HubApiChannel(hubUrl, flags.device, resolveToken(flags, API_TOKEN, (m) => ctx.err(`warning: ${m}`)), flags.timeout)
        : new DirectChannel(await toConnectOptions(host ?? '', port ?? DEFAULT_PORT, flags, (m) => ctx.err(`warning: ${m}`)));
    const rerun = rerunCommand(process.argv.slice(2));
    try {
      await channel.open();
      const stderr = process.stderr;
      const client = new OtaClient(channel, { onEvent: progressPrinter(ctx, channel.label, { isTTY: stderr.isTTY, write: (text) => void stderr.write(text) }) });
      if (flags.abort === true) {
        ctx.out(describeClear(channel.label, await client.abort()));
        return;
      }
      if (firmware === undefined) {
        ctx.out(describeStatus(await client.status()));
        return;
      }
      const result = await client.update(firmware, { waitMs: flags.wait * 1000 });
      if (result.outcome === 'unchanged') ctx.out(`version ${result.running}: the board already holds every file of ${result.version}; nothing to send`);
      else ctx.out(`version ${result.before} → ${result.status.version}`);
    } catch (err) {
      throw explain(err, channel.label, { rerun, device: flags.device ?? '' });
    } finally {
      await channel.close();
    }
  });
}

function parseSeconds(text: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 3600) throw new InvalidArgumentError(`expected a number of seconds from 1 to 3600, e.g. 120, got "${text}".`);
  return n;
}

/**
 * The command line to run again. A token given inline is left out, and the line says where to
 * give it instead, so that the token is neither printed nor put back on a command line.
 */
export function rerunCommand(args: readonly string[]): string {
  const out: string[] = [];
  const left: TokenSource[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const inline = [BOARD_TOKEN, API_TOKEN].find((t) => arg === t.flag || arg.startsWith(`${t.flag}=`));
    if (inline !== undefined) {
      if (!left.includes(inline)) left.push(inline);
      if (arg === inline.flag) i++;
    } else {
      out.push(/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
    }
  }
  const line = ['tether', ...out].join(' ');
  return left.length === 0 ? line : `${line}  (give the token with ${left.map((t) => `${t.fileFlag} FILE or ${t.env}`).join(', and the API token with ')})`;
}

// --- what the user sees ---

/** The update's events as lines on stderr and the progress bar. */
function progressPrinter(ctx: CliContext, label: string, sink: ProgressSink): (event: OtaEvent) => void {
  let progress: Progress | undefined;
  return (event) => {
    switch (event.type) {
      case 'planned': {
        const kept = event.unchanged > 0 ? ` (the board has the other ${event.unchanged})` : '';
        const deleting = event.deleting.length > 0 ? `; deleting ${event.deleting.join(', ')}` : '';
        ctx.err(`${label} runs ${event.running}; sending ${event.version}: ${event.files} files, ${formatBytes(event.bytes)}${kept}${deleting}`);
        return;
      }
      case 'resuming':
        ctx.err(`resuming: the board already has ${formatBytes(event.receivedBytes)} of this update`);
        return;
      case 'already_committed':
        ctx.err(`the board already has this update, checked and committed; waiting for it to restart`);
        return;
      case 'upload_started':
        progress = new Progress(sink, event.totalBytes, event.files);
        progress.skip(event.receivedBytes);
        return;
      case 'file_started':
        progress?.file(event.index, event.path);
        return;
      case 'chunk_sent':
        progress?.advance(event.bytes);
        return;
      case 'upload_ended':
        progress?.end();
        return;
      case 'committed':
        ctx.err(`the board checked every file; it resets in ${event.resetInMs} ms and applies ${event.version}`);
        return;
      case 'on_trial':
        ctx.err(`the board restarted with ${event.version} on trial (boot ${event.bootCount} of ${TRIAL_BOOTS}); waiting for it to confirm`);
        return;
    }
  };
}

export function describeStatus(s: UpdateStatus): string {
  const previous = s.previous === null ? '' : ` (previous ${s.previous})`;
  let line: string;
  if (s.state === 'trial') line = `version ${s.version} on trial: boot ${s.boot_count} of ${TRIAL_BOOTS}, not confirmed yet${previous}`;
  else line = `version ${s.version}, confirmed${previous}`;
  if (s.rolled_back_from !== null) line += `; rolled back from ${s.rolled_back_from}`;
  if (s.stuck !== undefined) line += `; a start could not finish ${s.stuck === 'rolling_back' ? 'rolling back' : 'applying'} an update: tether update … --abort puts the previous version back`;
  if (s.staging !== undefined) {
    line += `; staging ${s.staging.version}: ${formatBytes(receivedBytes(s.staging))} received${s.staging.committed ? ', committed (applied at the next start)' : ''}`;
  }
  return line;
}

/** What op "clear" did, as a line for the user. */
function describeClear(label: string, result: ClearResult): string {
  switch (result.cleared) {
    case 'nothing':
      return `${label} holds no update; nothing to abort`;
    case 'staging':
      return `${label}: discarded the files staged for an update`;
    case 'committed':
      return `${label}: discarded the committed update before it was applied; the board keeps the version it runs`;
    case 'rolled_back':
      return `${label}: put the files of the previous version back; it resets in ${result.resetInMs} ms to run them`;
  }
}

/** An update that did not end with the board confirming, with this command's way forward. */
function describeOtaError(err: OtaError, label: string, how: { rerun: string; device: string }): string {
  const status = 'See where it stands with: tether update … --status (or wait longer with --wait)';
  const f = err.failure;
  switch (f.code) {
    case 'on_trial':
      return `${label} is still trying version ${f.version} (boot ${f.bootCount} of ${TRIAL_BOOTS}, not confirmed yet); wait until it confirms it or rolls back (tether update … --status), then try again`;
    case 'file_changed':
      return `${f.source} changed while it was being sent; run the command again`;
    case 'upload_stopped':
      return `the upload stopped at ${f.path}, offset ${f.offset}: ${f.reason}\nthe board keeps what it received; to resume from there, run: ${how.rerun}`;
    case 'rolled_back':
      return `${label} rolled back to ${f.runs}: version ${f.version} did not confirm that it was healthy (network up and serving, or linked to its hub) within ${TRIAL_BOOTS} boots. Check what it prints when it starts (mpremote repl), fix the firmware and update again`;
    case 'not_applied':
      return `${label} restarted but runs ${f.runs}, not ${f.version}, and reports no rollback; the update was not applied. Check what it prints when it starts (mpremote repl) and try again`;
    case 'still_on_trial':
      return `version ${f.version} is still on trial after ${f.waitedMs / 1000} s (boot ${f.bootCount} of ${TRIAL_BOOTS}): the board confirms it once it is healthy, or rolls back by itself after ${TRIAL_BOOTS} boots. ${status}`;
    case 'no_return':
      return `${label} did not come back within ${f.waitedMs / 1000} s after the reset; it may still be applying the update. ${status}`;
    case 'board_offline':
      return `${label} is registered but not linked to the hub now; updates need it online (GET /api/devices/${how.device} shows when it is)`;
  }
}

function isClientErrorCode(code: TetherErrorCode): boolean {
  return (CLIENT_ERROR_CODES as readonly string[]).includes(code);
}

/** The message a user acts on, for whatever failed. */
function explain(err: unknown, label: string, how: { rerun: string; device: string }): unknown {
  if (err instanceof CliFailure) return err;
  if (err instanceof OtaError) return new CliFailure(describeOtaError(err, label, how));
  if (err instanceof HubApiError) {
    if (err.code === 'hub_unreachable') return new CliFailure(`${err.message}; check --hub and that the hub is running`);
    if (err.code === 'unauthenticated') {
      return new CliFailure(`the hub refused the API token (${err.message}); give it with --api-token-file <data>/api-token (or a file holding a token from tether hub token create), or set TETHER_API_TOKEN`);
    }
    if (err.code === 'bad_reply') return new CliFailure(err.message);
    return new CliFailure(`the hub answered ${err.status} ${err.code}: ${err.message}`);
  }
  if (err instanceof TetherError) {
    // The client's own failures (connect, timeout, closed) already say what happened and where.
    if (isClientErrorCode(err.code)) return err;
    if (err.code === 'unauthorized') {
      return new CliFailure(`${err.message}\ngive an admin token with --token-file FILE (a file holding it) or TETHER_TOKEN`);
    }
    if (err.code === 'unknown_action') {
      return new CliFailure(
        `${label} does not know the update action: this board's firmware predates OTA updates; copy the files with mpremote once (mpremote cp -r tether main.py boot.py :), later updates can then use tether update`,
      );
    }
    if (err.code === 'unsupported') return new CliFailure(`${label} cannot update itself: ${err.message}`);
    return new CliFailure(`${label}: ${err.code}: ${err.message}`);
  }
  return err;
}
