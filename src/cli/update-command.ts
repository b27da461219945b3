// `tether update HOST [PORT] --firmware DIR` and `tether update --device ID --hub URL --firmware DIR`:
// a safe firmware update of a MicroPython board through the `update` action (admin scope; the
// board side is firmware/tether/ota.py, the steps are in docs/firmware.md). The files go
// in chunks, the board checks every file's SHA-256, applies them through a journal at its next
// start and keeps the new version only once it confirms it is healthy; else it rolls back.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Argument, InvalidArgumentError, type Command } from 'commander';
import { CLIENT_ERROR_CODES, connect, TetherError, type BoardClient, type TetherErrorCode, type ConnectOptions, type JsonObject } from '../client/index.js';
import { hostPort } from '../common/address.js';
import { keyOfToken, manifestMac } from '../protocol/auth.js';
import { parsePort, parseHubUrl } from './arguments.js';
import { addConnectionOptions, toConnectOptions, type ConnectionFlags } from './connection-options.js';
import { CliFailure, EXIT_USAGE, type CliContext } from './context.js';
import { API_TOKEN, BOARD_TOKEN, addTokenOptions, resolveToken, type TokenSource } from './token-options.js';
import {
  FirmwareError,
  Progress,
  chunksOf,
  collectFirmware,
  formatBytes,
  manifestDigest,
  manifestOf,
  planUpdate,
  type Firmware,
  type ManifestEntry,
  type ProgressSink,
} from './update-files.js';

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
/** The board's MAX_TRIAL_BOOTS (firmware/tether/ota.py). */
const TRIAL_BOOTS = 3;
/** begin clears the old staging area and commit hashes every file from flash: both take a while. */
const BEGIN_TIMEOUT_MS = 15_000;
const COMMIT_TIMEOUT_MS = 30_000;
const POLL_MS = 500;
/** The list of files in one op "begin" request, at most (JSON bytes); the rest go with "append". */
const BEGIN_PART_BYTES = 1200;

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
        firmware = await collectFirmware(flags.firmware);
      } catch (err) {
        if (err instanceof FirmwareError) throw new CliFailure(err.message);
        throw err;
      }
      if (firmware.files.length === 0) throw new CliFailure(`no .py, .mpy or .json files to send under ${flags.firmware}`);
    }
    const target: Target =
      hubUrl !== undefined && flags.device !== undefined
        ? new HubTarget(hubUrl, flags.device, resolveToken(flags, API_TOKEN, (m) => ctx.err(`warning: ${m}`)), flags.timeout)
        : new DirectTarget(await toConnectOptions(host ?? '', port ?? DEFAULT_PORT, flags, (m) => ctx.err(`warning: ${m}`)));
    try {
      await target.open();
      if (flags.abort === true) {
        ctx.out(await abortUpdate(target));
        return;
      }
      if (firmware === undefined) {
        ctx.out(describeStatus(await readStatus(target)));
        return;
      }
      const stderr = process.stderr;
      await runUpdate(target, firmware, {
        waitMs: flags.wait * 1000,
        sink: { isTTY: stderr.isTTY, write: (text) => void stderr.write(text) },
        rerun: rerunCommand(process.argv.slice(2)),
        ctx,
      });
    } catch (err) {
      throw explain(err, target);
    } finally {
      await target.close();
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

// --- the board's answers ---

export interface UpdateStatus {
  version: string;
  previous: string | null;
  state: string;
  boot_count: number;
  rolled_back_from: string | null;
  /** The journal step a start could not complete (op "clear" undoes it). */
  stuck?: string;
  staging?: { version: string; manifest: string; received: Record<string, number>; committed: boolean; chunk_bytes?: number };
}

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseStatus(reply: JsonObject): UpdateStatus {
  const u = reply['update'];
  const bad = (what: string) => new TetherError('bad_reply', `the board's update status has no valid ${what}: ${JSON.stringify(u)}`, { reply });
  if (!isRecord(u)) throw bad('update object');
  if (typeof u['version'] !== 'string') throw bad('version');
  if (typeof u['state'] !== 'string') throw bad('state');
  const staging = u['staging'];
  const status: UpdateStatus = {
    version: u['version'],
    previous: typeof u['previous'] === 'string' ? u['previous'] : null,
    state: u['state'],
    boot_count: typeof u['boot_count'] === 'number' ? u['boot_count'] : 0,
    rolled_back_from: typeof u['rolled_back_from'] === 'string' ? u['rolled_back_from'] : null,
    ...(typeof u['stuck'] === 'string' ? { stuck: u['stuck'] } : {}),
  };
  if (isRecord(staging) && typeof staging['version'] === 'string' && typeof staging['manifest'] === 'string' && isRecord(staging['received'])) {
    const received: Record<string, number> = {};
    for (const [path, n] of Object.entries(staging['received'])) if (typeof n === 'number') received[path] = n;
    const chunk = staging['chunk_bytes'];
    status.staging = {
      version: staging['version'],
      manifest: staging['manifest'],
      received,
      committed: staging['committed'] === true,
      ...(typeof chunk === 'number' && Number.isInteger(chunk) && chunk > 0 ? { chunk_bytes: chunk } : {}),
    };
  }
  return status;
}

async function readStatus(target: Target): Promise<UpdateStatus> {
  return parseStatus(await target.request({ action: 'update', op: 'status' }));
}

export function describeStatus(s: UpdateStatus): string {
  const previous = s.previous === null ? '' : ` (previous ${s.previous})`;
  let line: string;
  if (s.state === 'trial') line = `version ${s.version} on trial: boot ${s.boot_count} of ${TRIAL_BOOTS}, not confirmed yet${previous}`;
  else line = `version ${s.version}, confirmed${previous}`;
  if (s.rolled_back_from !== null) line += `; rolled back from ${s.rolled_back_from}`;
  if (s.stuck !== undefined) line += `; a start could not finish ${s.stuck === 'rolling_back' ? 'rolling back' : 'applying'} an update: tether update … --abort puts the previous version back`;
  if (s.staging !== undefined) {
    const bytes = Object.values(s.staging.received).reduce((a, b) => a + b, 0);
    line += `; staging ${s.staging.version}: ${formatBytes(bytes)} received${s.staging.committed ? ', committed (applied at the next start)' : ''}`;
  }
  return line;
}

// --- how the requests reach the board ---

interface Target {
  /** For messages: "192.168.1.50:12345" or "board tank (via http://…)". */
  readonly label: string;
  open(): Promise<void>;
  /** One request; resolves with an ok reply, throws TetherError for the board's refusals. */
  request(body: JsonObject, timeoutMs?: number): Promise<JsonObject>;
  version(): Promise<string>;
  /** Right after commit: the board is about to reset. */
  committed(): Promise<void>;
  /** The update status, or undefined while the board cannot be reached. */
  pollStatus(remainingMs: number): Promise<UpdateStatus | undefined>;
  /** A failure that a retry may cure (the connection, the link, a timeout). */
  transient(err: unknown): boolean;
  close(): Promise<void>;
}

const TRANSIENT_CLIENT_CODES = new Set(['timeout', 'connection_failed', 'connection_closed']);

class DirectTarget implements Target {
  readonly label: string;
  private client: BoardClient | undefined;

  constructor(readonly options: ConnectOptions) {
    this.label = hostPort(options.host, options.port);
  }

  async open(): Promise<void> {
    this.client = await connect(this.options);
  }

  request(body: JsonObject, timeoutMs?: number): Promise<JsonObject> {
    if (this.client === undefined) return Promise.reject(new TetherError('connection_closed', `not connected to ${this.label}`));
    const t = Math.max(timeoutMs ?? 0, this.options.timeoutMs ?? 0);
    return this.client.request(body, t > 0 ? { timeoutMs: t } : {});
  }

  async version(): Promise<string> {
    return (await this.request({ action: 'get_version' }))['version'] as string;
  }

  async committed(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }

  async pollStatus(remainingMs: number): Promise<UpdateStatus | undefined> {
    if (this.client !== undefined && !this.client.isOpen) this.client = undefined;
    if (this.client === undefined) {
      const limit = Math.max(500, Math.min(this.options.connectTimeoutMs ?? 5000, remainingMs));
      try {
        this.client = await connect({ ...this.options, connectTimeoutMs: limit });
      } catch (err) {
        if (this.transient(err)) return undefined;
        throw err;
      }
    }
    try {
      return await readStatus(this);
    } catch (err) {
      if (!this.transient(err)) throw err;
      await this.committed();
      return undefined;
    }
  }

  transient(err: unknown): boolean {
    return err instanceof TetherError && TRANSIENT_CLIENT_CODES.has(err.code);
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}

/** An error the hub answered with ({error: {code, message}}), or a failure to reach it. */
export class HubRequestError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HubRequestError';
  }
}

/** Hub codes that a later try may not see (api.md "Error codes"); "unreachable" is ours. */
const TRANSIENT_HUB_CODES = new Set(['device_offline', 'board_restarted', 'timeout', 'shutting_down', 'unreachable']);

class HubTarget implements Target {
  readonly label: string;
  private readonly base: string;

  constructor(
    hub: URL,
    private readonly device: string,
    private readonly apiToken: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.base = hub.href.replace(/\/+$/, '');
    this.label = `board ${device} (via ${this.base})`;
  }

  async open(): Promise<void> {
    const view = await this.deviceView();
    if (view['online'] !== true) {
      throw new CliFailure(`${this.label} is registered but not linked to the hub now; updates need it online (GET /api/devices/${this.device} shows when it is)`);
    }
  }

  async request(body: JsonObject, timeoutMs?: number): Promise<JsonObject> {
    const t = Math.min(60_000, Math.max(timeoutMs ?? 0, this.timeoutMs));
    const reply = await this.http('POST', `/api/devices/${encodeURIComponent(this.device)}/commands?timeout_ms=${t}`, body, t + 5000);
    if (reply['ok'] === true) return reply;
    throw TetherError.fromReply(reply);
  }

  async version(): Promise<string> {
    return (await this.request({ action: 'get_version' }))['version'] as string;
  }

  async committed(): Promise<void> {
    // Nothing to close: the hub notices the board going away and coming back.
  }

  async pollStatus(): Promise<UpdateStatus | undefined> {
    try {
      const view = await this.deviceView();
      if (view['online'] !== true) return undefined;
      return await readStatus(this);
    } catch (err) {
      if (this.transient(err)) return undefined;
      throw err;
    }
  }

  transient(err: unknown): boolean {
    return err instanceof HubRequestError && TRANSIENT_HUB_CODES.has(err.code);
  }

  async close(): Promise<void> {
    // fetch keeps no connection of ours open
  }

  private async deviceView(): Promise<JsonObject> {
    const answer = await this.http('GET', `/api/devices/${encodeURIComponent(this.device)}`, undefined, this.timeoutMs);
    const device = answer['device'];
    if (!isRecord(device)) throw new HubRequestError('bad_reply', 200, `the hub's answer to GET /api/devices/${this.device} has no device object`);
    return device;
  }

  private async http(method: 'GET' | 'POST', path: string, body: JsonObject | undefined, timeoutMs: number): Promise<JsonObject> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(this.apiToken === undefined || this.apiToken === '' ? {} : { authorization: `Bearer ${this.apiToken}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new HubRequestError('unreachable', 0, `cannot reach the hub at ${this.base} (${cause}); check --hub and that the hub is running`);
    }
    let answer: unknown;
    try {
      answer = await response.json();
    } catch {
      throw new HubRequestError('bad_reply', response.status, `the hub answered ${method} ${path} with status ${response.status} and a body that is not JSON`);
    }
    if (!isRecord(answer)) throw new HubRequestError('bad_reply', response.status, `the hub answered ${method} ${path} with something other than a JSON object`);
    // A board's reply (relayed by POST …/commands) has "ok"; the hub's own errors do not.
    if ('ok' in answer || response.ok) return answer;
    const error = answer['error'];
    const code = isRecord(error) && typeof error['code'] === 'string' ? error['code'] : 'http_error';
    const message = isRecord(error) && typeof error['message'] === 'string' ? error['message'] : `status ${response.status}`;
    if (code === 'unauthenticated') {
      throw new HubRequestError(code, response.status, `the hub refused the API token (${message}); give it with --api-token-file <data>/api-token (or a file holding a token from tether hub token create), or set TETHER_API_TOKEN`);
    }
    throw new HubRequestError(code, response.status, `the hub answered ${response.status} ${code}: ${message}`);
  }
}

// --- the update ---

interface RunOptions {
  waitMs: number;
  sink: ProgressSink;
  /** The command to run again to resume, for the message after a failed chunk. */
  rerun: string;
  ctx: CliContext;
}

/** A chunk failed: the board keeps what it received, and the same command resumes. */
class UploadStopped extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'UploadStopped';
  }
}

async function runUpdate(target: Target, firmware: Firmware, options: RunOptions): Promise<void> {
  const { ctx } = options;
  const before = await target.version();
  const status = await readStatus(target);
  if (status.state === 'trial') {
    throw new CliFailure(
      `${target.label} is still trying version ${status.version} (boot ${status.boot_count} of ${TRIAL_BOOTS}, not confirmed yet); wait until it confirms it or rolls back (tether update … --status), then try again`,
    );
  }
  const board = await listBoardFiles(target);
  const plan = board === undefined ? { send: firmware.files, delete: [], same: 0 } : planUpdate(firmware, board);
  if (plan.send.length === 0 && plan.delete.length === 0) {
    ctx.out(`version ${before}: the board already holds every file of ${firmware.version}; nothing to send`);
    return;
  }
  const sending: Firmware = { ...firmware, files: plan.send, totalBytes: plan.send.reduce((n, f) => n + f.size, 0) };
  const manifest = manifestOf(sending.files);
  const digest = manifestDigest(manifest, plan.delete);
  const kept = plan.same > 0 ? ` (the board has the other ${plan.same})` : '';
  const deleting = plan.delete.length > 0 ? `; deleting ${plan.delete.join(', ')}` : '';
  ctx.err(`${target.label} runs ${before}; sending ${firmware.version}: ${sending.files.length} files, ${formatBytes(sending.totalBytes)}${kept}${deleting}`);
  const staging = status.staging !== undefined && status.staging.version === firmware.version && status.staging.manifest === digest ? status.staging : undefined;
  let resetInMs = 1000;
  if (staging?.committed === true) {
    ctx.err(`the board already has this update, checked and committed; waiting for it to restart`);
  } else {
    let chunkBytes: number;
    let received: Record<string, number> = {};
    if (staging !== undefined) {
      received = staging.received;
      chunkBytes = staging.chunk_bytes ?? 1024;
      const have = Object.values(received).reduce((a, b) => a + b, 0);
      ctx.err(`resuming: the board already has ${formatBytes(have)} of this update`);
    } else {
      chunkBytes = await declare(target, firmware.version, manifest, plan.delete);
    }
    await upload(target, sending, received, chunkBytes, options);
    const done = await target.request(commitRequest(target, firmware.version, digest), COMMIT_TIMEOUT_MS);
    if (typeof done['reset_in_ms'] === 'number') resetInMs = done['reset_in_ms'];
    ctx.err(`the board checked every file; it resets in ${resetInMs} ms and applies ${firmware.version}`);
  }
  await target.committed();
  await sleep(resetInMs);
  const final = await waitForConfirmation(target, firmware.version, options);
  ctx.out(`version ${before} → ${final.version}`);
}

/**
 * The board's firmware files with their sizes and SHA-256 (op "list", a reply's worth at a time),
 * or undefined from a firmware that predates op "list": then every file is sent.
 */
async function listBoardFiles(target: Target): Promise<ManifestEntry[] | undefined> {
  const out: ManifestEntry[] = [];
  let after = '';
  for (;;) {
    let reply: JsonObject;
    try {
      reply = await target.request({ action: 'update', op: 'list', ...(after === '' ? {} : { after }) }, BEGIN_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof TetherError && err.code === 'bad_field' && err.message.startsWith('op:')) return undefined;
      throw err;
    }
    const files = reply['files'];
    if (!Array.isArray(files)) throw new TetherError('bad_reply', `the board's answer to op "list" has no files list: ${JSON.stringify(reply)}`, { reply });
    for (const f of files) {
      if (!Array.isArray(f) || typeof f[0] !== 'string' || typeof f[1] !== 'number' || typeof f[2] !== 'string') {
        throw new TetherError('bad_reply', `the board's answer to op "list" has an entry that is not [path, size, sha256]: ${JSON.stringify(f)}`, { reply });
      }
      out.push({ path: f[0], size: f[1], sha256: f[2] });
    }
    const last = out.at(-1);
    if (reply['more'] !== true || files.length === 0 || last === undefined) return out;
    after = last.path;
  }
}

/** op "clear": what the board did, as a line for the user. */
async function abortUpdate(target: Target): Promise<string> {
  const reply = await target.request({ action: 'update', op: 'clear' }, COMMIT_TIMEOUT_MS);
  switch (reply['cleared']) {
    case 'nothing':
      return `${target.label} holds no update; nothing to abort`;
    case 'staging':
      return `${target.label}: discarded the files staged for an update`;
    case 'committed':
      return `${target.label}: discarded the committed update before it was applied; the board keeps the version it runs`;
    case 'rolled_back':
      return `${target.label}: put the files of the previous version back; it resets in ${typeof reply['reset_in_ms'] === 'number' ? reply['reset_in_ms'] : 1000} ms to run them`;
    default:
      throw new TetherError('bad_reply', `the board's answer to op "clear" says cleared ${JSON.stringify(reply['cleared'])}`, { reply });
  }
}

/**
 * The commit vouches for the update with a MAC of its version and manifest digest (protocol.md
 * §5.19): made here with the admin token's key on a direct connection; the hub adds its own.
 */
function commitRequest(target: Target, version: string, manifest: string): JsonObject {
  const token = target instanceof DirectTarget ? target.options.token : undefined;
  const mac = token === undefined ? {} : { manifest_mac: manifestMac(keyOfToken(token), version, manifest) };
  return { action: 'update', op: 'commit', version, manifest, ...mac };
}

/**
 * op "begin" with the list of files, in parts that fit a small board's frame limit (the board's
 * default is 2 KiB): the first part starts afresh, the others carry "append": true. A part the
 * board still finds too long is sent again in halves.
 */
async function declare(target: Target, version: string, manifest: readonly ManifestEntry[], deleted: readonly string[]): Promise<number> {
  let partBytes = BEGIN_PART_BYTES;
  let chunkBytes = 0;
  let next = 0;
  // The deletions go with the first part; an update of deletions alone is one begin.
  while (next < manifest.length || (next === 0 && chunkBytes === 0)) {
    const part: ManifestEntry[] = [];
    let bytes = 0;
    for (const entry of manifest.slice(next)) {
      const size = JSON.stringify(entry).length + 1;
      if (part.length > 0 && bytes + size > partBytes) break;
      part.push(entry);
      bytes += size;
    }
    let reply: JsonObject;
    try {
      const first = next === 0 ? (deleted.length > 0 ? { delete: [...deleted] } : {}) : { append: true };
      reply = await target.request({ action: 'update', op: 'begin', version, files: part, ...first }, BEGIN_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof TetherError && err.code === 'frame_too_large' && part.length > 1) {
        partBytes = Math.floor(partBytes / 2);
        continue;
      }
      throw err;
    }
    const n = reply['chunk_bytes'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new TetherError('bad_reply', `the board's answer to begin has no valid chunk_bytes: ${JSON.stringify(n)}`, { reply });
    chunkBytes = n;
    next += part.length;
  }
  return chunkBytes;
}

async function upload(target: Target, firmware: Firmware, received: Record<string, number>, chunkBytes: number, options: RunOptions): Promise<void> {
  const progress = new Progress(options.sink, firmware.totalBytes, firmware.files.length);
  for (const file of firmware.files) progress.skip(Math.min(received[file.path] ?? 0, file.size));
  for (const [i, file] of firmware.files.entries()) {
    const data = await readFile(file.source);
    if (data.length !== file.size) {
      progress.end();
      throw new CliFailure(`${file.source} changed while it was being sent; run the command again`);
    }
    progress.file(i + 1, file.path);
    for (const chunk of chunksOf(data, Math.min(received[file.path] ?? 0, file.size), chunkBytes)) {
      try {
        await target.request({ action: 'update', op: 'chunk', path: file.path, offset: chunk.offset, data: chunk.data });
      } catch (err) {
        progress.end();
        if (err instanceof TetherError && (err.code === 'unauthorized' || err.code === 'unknown_action')) throw err;
        const why = err instanceof Error ? err.message : String(err);
        throw new UploadStopped(
          `the upload stopped at ${file.path}, offset ${chunk.offset}: ${why}\nthe board keeps what it received; to resume from there, run: ${options.rerun}`,
          err,
        );
      }
      progress.advance(chunk.bytes);
    }
  }
  progress.end();
}

async function waitForConfirmation(target: Target, version: string, options: RunOptions): Promise<UpdateStatus> {
  const { ctx } = options;
  const deadline = Date.now() + options.waitMs;
  let last: UpdateStatus | undefined;
  let announcedBoot = 0;
  while (Date.now() < deadline) {
    const s = await target.pollStatus(deadline - Date.now());
    // Until it resets, the board still reports the committed staging area.
    if (s !== undefined && !(s.state === 'staging' && s.staging?.committed === true)) {
      last = s;
      if (s.rolled_back_from === version) {
        throw new CliFailure(
          `${target.label} rolled back to ${s.version}: version ${version} did not confirm that it was healthy (network up and serving, or linked to its hub) within ${TRIAL_BOOTS} boots. Check what it prints when it starts (mpremote repl), fix the firmware and update again`,
        );
      }
      if (s.state === 'trial') {
        if (s.boot_count !== announcedBoot) {
          announcedBoot = s.boot_count;
          ctx.err(`the board restarted with ${s.version} on trial (boot ${s.boot_count} of ${TRIAL_BOOTS}); waiting for it to confirm`);
        }
      } else if (s.version === version) {
        return s;
      } else {
        throw new CliFailure(
          `${target.label} restarted but runs ${s.version}, not ${version}, and reports no rollback; the update was not applied. Check what it prints when it starts (mpremote repl) and try again`,
        );
      }
    }
    await sleep(Math.max(0, Math.min(POLL_MS, deadline - Date.now())));
  }
  if (last?.state === 'trial') {
    throw new CliFailure(
      `version ${version} is still on trial after ${options.waitMs / 1000} s (boot ${last.boot_count} of ${TRIAL_BOOTS}): the board confirms it once it is healthy, or rolls back by itself after ${TRIAL_BOOTS} boots. See where it stands with: tether update … --status (or wait longer with --wait)`,
    );
  }
  throw new CliFailure(
    `${target.label} did not come back within ${options.waitMs / 1000} s after the reset; it may still be applying the update. See where it stands with: tether update … --status (or wait longer with --wait)`,
  );
}

function isClientErrorCode(code: TetherErrorCode): boolean {
  return (CLIENT_ERROR_CODES as readonly string[]).includes(code);
}

/** The message a user acts on, for whatever failed. */
function explain(err: unknown, target: Target): unknown {
  if (err instanceof CliFailure) return err;
  if (err instanceof UploadStopped) return new CliFailure(err.message);
  if (err instanceof HubRequestError) return new CliFailure(err.message);
  if (err instanceof TetherError) {
    // The client's own failures (connect, timeout, closed) already say what happened and where.
    if (isClientErrorCode(err.code)) return err;
    if (err.code === 'unauthorized') {
      return new CliFailure(`${err.message}\ngive an admin token with --token-file FILE (a file holding it) or TETHER_TOKEN`);
    }
    if (err.code === 'unknown_action') {
      return new CliFailure(
        `${target.label} does not know the update action: this board's firmware predates OTA updates; copy the files with mpremote once (mpremote cp -r tether main.py boot.py :), later updates can then use tether update`,
      );
    }
    if (err.code === 'unsupported') return new CliFailure(`${target.label} cannot update itself: ${err.message}`);
    return new CliFailure(`${target.label}: ${err.code}: ${err.message}`);
  }
  return err;
}
