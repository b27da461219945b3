// `tether install`: from a board running stock MicroPython on USB to a board running the Tether
// firmware (and, with --hub, linked to the hub) in one command. Through the raw REPL
// (src/firmware/raw-repl.ts) it copies the firmware files whose SHA-256 differs from the board's,
// writes config/*.json, registers the board at the hub as `tether hub add-device` does, restarts
// it and waits until the hub sees it. Run again after a cut, it copies only what is still missing.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { HubApi, HubApiError } from '../client/hub-api.js';
import { keyOfToken } from '../protocol/auth.js';
import { boardReadFile, boardRemoveTree, copyPlanned, planSync, type BoardFile, type CopyProgress, type SyncPlan } from '../firmware/board-files.js';
import { BOARD_ID, defaultDeviceConfig, installOrder, jsonFile, wifiFile } from '../firmware/install-files.js';
import { RawRepl, ReplError, type RawReplOptions, type ReplPort } from '../firmware/raw-repl.js';
import { boardCandidates, type SerialPortInfo } from '../firmware/usb-boards.js';
import { CliFailure, EXIT_USAGE, type CliContext } from './context.js';
import { boardLinkFor, firmwareHubJson } from '../hub/board-link-material.js';
import { loadConfig, withStore } from './hub-command.js';
import { listSerialPorts, openSerialPort } from './serial-port.js';
import { API_TOKEN, addTokenOptions, makeSecret, readTokenFile, resolveToken } from './token-options.js';
import { collectFirmware, FirmwareError } from '../firmware/index.js';
import { formatBytes, type ProgressSink } from './update-files.js';
import { parseHubUrl } from './arguments.js';

export interface InstallFlags {
  port?: string;
  list?: boolean;
  wifiSsid?: string;
  wifiPasswordFile?: string;
  wifiCountry?: string;
  hub?: string;
  hubData?: string;
  hubConfig?: string;
  rotate?: boolean;
  name?: string;
  config?: string;
  firmware?: string;
  dryRun?: boolean;
  wait: number;
  apiToken?: string;
  apiTokenFile?: string;
}

/** What the command reaches the outside world through; the tests give a fake board and port list. */
export interface InstallIo {
  listPorts(): Promise<SerialPortInfo[]>;
  openPort(path: string): Promise<ReplPort>;
  progress: ProgressSink;
  replOptions?: RawReplOptions;
  /** How often the hub is asked whether the board is online (default 500 ms). */
  pollMs?: number;
  /** Where the board's direct-mode admin token file goes (default: the current folder). */
  tokenDir?: string;
}

export const DEFAULT_FIRMWARE_DIR = fileURLToPath(new URL('../../../firmware/', import.meta.url));
export const DEFAULT_WAIT_S = 120;

const EXAMPLES = `
The board must run MicroPython 1.23 or later (docs/install.md says how to put
it on a Pico W or an ESP32 first). Without --port, the board is found by its
USB id; --list shows the candidates. Only files whose SHA-256 differs from the
board's are copied: run the same command again after a cut and it finishes the
copy. config/device.json is the --config file, else the board's own, else a
new one with the name and an admin token for direct mode (saved in NAME.token).

Examples:
  $ tether install --list
  /dev/ttyACM0  2e8a:0005  Raspberry Pi RP2040/RP2350 (Pico, Pico W, Pico 2 W)
  $ tether install --wifi-ssid workshop --wifi-password-file wifi.txt --wifi-country DE \\
      --name greenhouse --hub http://127.0.0.1:7340
  tether: registered greenhouse at the hub (/home/me/tether-data)
  tether: /dev/ttyACM0: MicroPython raw REPL (raw-paste, window 128 bytes)
  tether: [ 3/44] tether/app.py  21.4 of 181.2 KiB, 7.8 KiB/s
  ...
  tether: copied 44 file(s) (181.2 KiB) in 23.2 s (7.8 KiB/s); 0 unchanged
  tether: greenhouse restarted; waiting up to 120 s for it to link to the hub
  greenhouse is online at the hub (tether-mpy 0.1.0)
  $ tether install --port /dev/ttyUSB0 --config board.json --dry-run

Exit status: 0 when the board is installed (and online at the hub with --hub),
1 when something failed, 2 when the command line is wrong.`;

const defaultIo = (): InstallIo => ({
  listPorts: listSerialPorts,
  openPort: (p) => openSerialPort(p),
  progress: { isTTY: process.stderr.isTTY, write: (text) => void process.stderr.write(text) },
});

export function registerInstall(program: Command, ctx: CliContext, io: InstallIo = defaultIo()): void {
  const install = program
    .command('install')
    .description('put the Tether firmware and its config on a MicroPython board over USB, and with --hub link it to the hub')
    .option('--port <path>', "the board's serial port (default: the one board found by its USB id)")
    .option('--list', 'list the serial ports that look like a board, and exit')
    .option('--wifi-ssid <ssid>', 'the WiFi network the board joins (config/wifi.json)')
    .option('--wifi-password-file <file>', "a file whose first line is the WiFi password (it stays out of the process list)")
    .option('--wifi-country <cc>', 'two-letter country code for the WiFi channels, e.g. DE', parseCountry)
    .option('--hub <url>', "register the board at this hub and wait until it links: the hub's HTTP address, e.g. http://127.0.0.1:7340")
    .option('--hub-data <dir>', "the hub's data folder, where it registers boards (default: data from --hub-config, else ./tether-data)")
    .option('--hub-config <file>', "the hub's config (YAML or JSON): its link address, port and TLS")
    .option('--rotate', 'the board id is registered at the hub already: give it a new token (a board with the old one stops linking)')
    .option('--name <name>', "the board's name, also its id at the hub: 1–64 of A–Z a–z 0–9 _ . -")
    .option('--config <file>', 'the board config to write as config/device.json (JSON, docs/firmware.md)')
    .option('--firmware <dir>', 'the firmware folder to copy (default: the one shipped with Tether)')
    .option('--dry-run', 'show what would be copied and what is unchanged, and write nothing')
    .option('--wait <s>', 'how long to wait for the board to link to the hub', parseSeconds, DEFAULT_WAIT_S);
  addTokenOptions(install, { ...API_TOKEN, what: "the hub's API token (default: the admin token in the hub's data folder)" });
  install.addHelpText('after', EXAMPLES).action(async (flags: InstallFlags, command: Command) => {
    const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'tether.usage' });
    if (flags.wifiSsid !== undefined && flags.wifiPasswordFile === undefined) usage('--wifi-ssid needs --wifi-password-file FILE (a file whose first line is the password)');
    if (flags.wifiSsid === undefined && flags.wifiPasswordFile !== undefined) usage('--wifi-password-file goes with --wifi-ssid');
    if (flags.name !== undefined && !BOARD_ID.test(flags.name)) usage(`--name: expected 1–64 of A–Z a–z 0–9 _ . -, got ${JSON.stringify(flags.name)}`);
    if (flags.hub !== undefined && parseHubUrl(flags.hub) === undefined) usage(`--hub: expected an http:// or https:// address such as http://127.0.0.1:7340, got "${flags.hub}"`);
    if (flags.hub === undefined && (flags.hubData !== undefined || flags.hubConfig !== undefined || flags.rotate === true)) usage('--hub-data, --hub-config and --rotate go with --hub URL');
    await runInstall(flags, ctx, io);
  });
}

function parseCountry(text: string): string {
  if (!/^[A-Za-z]{2}$/.test(text)) throw new InvalidArgumentError(`expected two letters such as DE or US, got "${text}"`);
  return text.toUpperCase();
}

function parseSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number of seconds > 0, got "${text}"`);
  return n;
}

/** A failure the user can act on, shown as "code: message". */
function failure(code: string, message: string): CliFailure {
  return new CliFailure(`${code}: ${message}`);
}

export async function runInstall(flags: InstallFlags, ctx: CliContext, io: InstallIo): Promise<void> {
  if (flags.list === true) {
    const found = boardCandidates(await io.listPorts());
    if (found.length === 0) ctx.out('no board found on USB (none of the USB ids of a Pico, an ESP32 or a USB-serial bridge); plug one in, or give --port');
    for (const c of found) ctx.out(`${c.path}\t${c.usbId}\t${c.kind}${c.serialNumber !== undefined ? `\tserial ${c.serialNumber}` : ''}`);
    return;
  }
  const firmware = await firmwareFiles(flags.firmware ?? DEFAULT_FIRMWARE_DIR);
  const given = flags.config !== undefined ? readBoardConfig(flags.config) : undefined;
  const wifi = flags.wifiSsid !== undefined && flags.wifiPasswordFile !== undefined ? wifiFile({ ssid: flags.wifiSsid, password: readPassword(flags.wifiPasswordFile), country: flags.wifiCountry }) : undefined;
  const hub = flags.hub !== undefined ? await hubAccess(flags) : undefined;
  const portPath = flags.port ?? (await findBoard(io));

  const port = await io.openPort(portPath);
  const repl = new RawRepl(port, io.replOptions);
  try {
    await repl.enter();
    const name = await boardConfigFiles(repl, flags, given, io, ctx);
    const files: BoardFile[] = [...name.files, ...(wifi !== undefined ? [wifi] : []), ...firmware];
    if (hub !== undefined) files.push(await hubFile(repl, hub, name.name, flags, io, ctx));
    const plan = await planSync(repl, installOrder(files));
    ctx.err(`${portPath}: MicroPython raw REPL (${repl.usesRawPaste === true ? `raw-paste, window ${repl.window ?? 0} bytes` : 'plain raw mode, 256-byte pieces'})`);
    if (flags.dryRun === true) {
      printPlan(ctx, plan, name.kept);
      return;
    }
    // An update's journal, backups or trial state (ota/) would otherwise go on after the
    // install: a rollback would put an older version's files back among the installed ones.
    if (await boardRemoveTree(repl, 'ota')) ctx.err('removed ota/ (an earlier update\'s journal and backups): the board runs the files installed now');
    // Over a running firmware, main.py goes first and comes back last: a copy cut short leaves a
    // board at the REPL, never one that starts old and new modules together.
    if (plan.toCopy.some((f) => !f.path.startsWith('config/'))) {
      const main = plan.unchanged.find((f) => f.path === 'main.py');
      if (main !== undefined) {
        plan.unchanged.splice(plan.unchanged.indexOf(main), 1);
        plan.toCopy.push(main);
      }
      await boardRemoveTree(repl, 'main.py');
    }
    await copyWithProgress(repl, plan, io.progress, ctx);
    if (hub !== undefined) fs.rmSync(hubTokenFile(io, name.name), { force: true });
    const before = hub !== undefined ? await hub.device(name.name) : undefined;
    await repl.exit({ start: true });
    if (hub === undefined) {
      ctx.out(`${name.name} is installed and starting; its console says what it does (mpremote repl), e.g. "tether …: ${name.name} listening on port 12345"`);
      return;
    }
    ctx.err(`${name.name} restarted; waiting up to ${flags.wait} s for it to link to the hub`);
    const online = await hub.untilOnline(name.name, before?.bootId ?? null, flags.wait * 1000, io.pollMs ?? 500);
    if (online === undefined) {
      const console = repl.takeConsole().trim().split('\n').slice(-8).join('\n  ');
      throw failure(
        'not_online',
        `${name.name} did not link to the hub within ${flags.wait} s. Its console said:\n  ${console === '' ? '(nothing)' : console}\nCheck the WiFi name and password, that the board's network reaches the hub's link port, and watch the console with mpremote repl; the files are installed, so running the same command again only waits.`,
      );
    }
    ctx.out(`${name.name} is online at the hub${online.firmware !== '' ? ` (${online.firmware})` : ''}`);
  } catch (err) {
    if (err instanceof ReplError) throw failure(err.code, `${portPath}: ${err.message}`);
    throw err;
  } finally {
    await repl.close().catch(() => undefined);
  }
}

async function findBoard(io: InstallIo): Promise<string> {
  const found = boardCandidates(await io.listPorts());
  const [only] = found;
  if (found.length === 1 && only !== undefined) return only.path;
  if (found.length === 0) {
    throw failure('no_board', 'no board found on USB (no serial port with the USB id of a Pico, an ESP32 or a USB-serial bridge): plug it in with a data cable (some cables carry only power), or give --port PATH; tether install --list shows what is found');
  }
  throw failure('several_boards', `${found.length} boards found; choose one with --port:\n${found.map((c) => `  ${c.path}\t${c.usbId}\t${c.kind}`).join('\n')}`);
}

/** The firmware's files as the board needs them: what tether update sends, plus boot.py. */
async function firmwareFiles(dir: string): Promise<BoardFile[]> {
  try {
    const firmware = await collectFirmware(dir);
    const files = firmware.files.map((f) => ({ path: f.path, data: new Uint8Array(fs.readFileSync(f.source)) }));
    // tether update never replaces boot.py (it runs the update); a first install must bring it.
    const boot = path.join(dir, 'boot.py');
    if (fs.existsSync(boot)) files.push({ path: 'boot.py', data: new Uint8Array(fs.readFileSync(boot)) });
    return files;
  } catch (err) {
    if (err instanceof FirmwareError) throw failure('bad_firmware', err.message);
    throw err;
  }
}

function readBoardConfig(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON: ${err.message}` : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw failure('bad_config', `cannot read the board config ${file} (${why}); give a JSON board config (docs/firmware.md, config/device.json)`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw failure('bad_config', `${file}: expected a JSON object, the board config (docs/firmware.md)`);
  const config = raw as Record<string, unknown>;
  if (config['auth'] === undefined) {
    throw failure('bad_config', `${file}: auth: missing; the firmware does not start without it: list tokens under auth.tokens, or write "auth": "none" to let any client on the network drive the board (docs/board-config.md)`);
  }
  return config;
}

function readPassword(file: string): string {
  try {
    // The first line as it is: a WiFi password may start or end with spaces.
    return fs.readFileSync(file, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  } catch (err) {
    throw failure('bad_wifi', `cannot read the --wifi-password-file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); give a file whose first line is the password`);
  }
}

function parseJsonObject(bytes: Uint8Array | null): Record<string, unknown> | undefined {
  if (bytes === null) return undefined;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * config/device.json and the board's name: the --config file (named by --name when given), else
 * the board's own (renamed when --name differs), else a new one with an admin token for direct
 * mode, kept in NAME.token so that a second run writes the same file.
 */
async function boardConfigFiles(repl: RawRepl, flags: InstallFlags, given: Record<string, unknown> | undefined, io: InstallIo, ctx: CliContext): Promise<{ name: string; files: BoardFile[]; kept: string[] }> {
  const onBoard = given === undefined ? parseJsonObject(await boardReadFile(repl, 'config/device.json')) : undefined;
  const base = given ?? onBoard;
  const baseName = typeof base?.['name'] === 'string' && BOARD_ID.test(base['name']) ? base['name'] : undefined;
  const name = flags.name ?? baseName ?? 'tether-board';
  if (base !== undefined) {
    if (onBoard !== undefined && name === baseName) return { name, files: [], kept: ['config/device.json'] };
    return { name, files: [jsonFile('config/device.json', { ...base, name })], kept: [] };
  }
  const tokenFile = path.join(io.tokenDir ?? '.', `${name}.token`);
  let token: string;
  if (fs.existsSync(tokenFile)) token = readTokenFile(tokenFile, 'token', (m) => ctx.err(`warning: ${m}`));
  else if (flags.dryRun === true) token = 'NEW-TOKEN';
  else {
    token = await makeSecret(tokenFile, () => randomBytes(32).toString('base64url'));
    ctx.err(`made an admin token for the board's direct mode in ${tokenFile} (mode 600): tether send HOST 12345 --token-file ${tokenFile} …`);
  }
  return { name, files: [jsonFile('config/device.json', defaultDeviceConfig(name, token))], kept: [] };
}

interface HubAccess {
  url: URL;
  flags: { config?: string; data?: string };
  apiToken: string;
  device(id: string): Promise<{ online: boolean; bootId: string | null; firmware: string } | undefined>;
  untilOnline(id: string, bootBefore: string | null, timeoutMs: number, pollMs: number): Promise<{ firmware: string } | undefined>;
}

/** The hub's API, checked before anything is copied (a wrong address or token fails at once). */
async function hubAccess(flags: InstallFlags): Promise<HubAccess> {
  const url = parseHubUrl(flags.hub ?? '') as URL;
  const storeFlags = { ...(flags.hubConfig !== undefined ? { config: flags.hubConfig } : {}), ...(flags.hubData !== undefined ? { data: flags.hubData } : {}) };
  const config = await loadConfig(storeFlags);
  const warn = (m: string): void => void process.stderr.write(`tether: warning: ${m}\n`);
  let apiToken = resolveToken(flags, API_TOKEN, warn);
  const adminFile = path.join(config.data, 'api-token');
  if (apiToken === undefined && fs.existsSync(adminFile)) apiToken = readTokenFile(adminFile, 'api-token', warn);
  if (apiToken === undefined) {
    throw failure('no_api_token', `no API token to ask the hub whether the board is online: ${adminFile} does not exist (is --hub-data the hub's data folder?); give one with --api-token-file FILE or TETHER_API_TOKEN`);
  }
  const token = apiToken;
  const api = new HubApi({ base: url.origin, token, timeoutMs: 5000 });
  const unreachable = (err: HubApiError) => failure('hub_unreachable', `${err.message}: is it running (tether hub), and is --hub its HTTP address?`);
  try {
    await api.whoami();
  } catch (err) {
    if (!(err instanceof HubApiError)) throw err;
    if (err.code === 'hub_unreachable') throw unreachable(err);
    if (err.status === 401 || err.status === 403) throw failure('hub_unauthorized', `the hub at ${url.origin} refused the API token: give its admin token or one with scope read (--api-token-file FILE)`);
    throw failure('hub_unreachable', `the hub at ${url.origin} answered ${err.status} to GET /api/whoami: is --hub the hub's HTTP address?`);
  }
  const device = async (id: string) => {
    try {
      const d = await api.device(id);
      return { online: d.online, bootId: d.bootId ?? null, firmware: d.firmware };
    } catch (err) {
      if (!(err instanceof HubApiError)) throw err;
      if (err.code === 'not_found') return undefined;
      if (err.code === 'hub_unreachable') throw unreachable(err);
      // The hub answered, but not with the board (busy, its disk full …): not online yet; ask again.
      return { online: false, bootId: null, firmware: '' };
    }
  };
  return {
    url,
    flags: storeFlags,
    apiToken: token,
    device,
    untilOnline: async (id, bootBefore, timeoutMs, pollMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = await device(id);
        // A board linked before the restart is online with its old boot id until the hub notices.
        if (d !== undefined && d.online && d.bootId !== bootBefore) return d;
        if (Date.now() >= deadline) return undefined;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
  };
}

/**
 * config/hub.json: the board's own when it holds a token the hub knows for this id (a second
 * run), else a new registration, as tether hub add-device makes it. An id registered for another
 * token is refused unless --rotate, so that installing never cuts off another board by accident.
 */
async function hubFile(repl: RawRepl, hub: HubAccess, id: string, flags: InstallFlags, io: InstallIo, ctx: CliContext): Promise<BoardFile> {
  const onBoard = parseJsonObject(await boardReadFile(repl, 'config/hub.json'));
  const boardToken = onBoard?.['device_id'] === id && typeof onBoard['token'] === 'string' ? onBoard['token'] : undefined;
  // The token an earlier run registered is kept beside the admin token until the board holds it:
  // a run cut short after registering (the port dropped) takes it up again instead of finding
  // the id taken.
  const keptFile = hubTokenFile(io, id);
  const kept = fs.existsSync(keptFile) ? readTokenFile(keptFile, 'hub token', (m) => ctx.err(`warning: ${m}`)) : undefined;
  const made = await withStore(hub.flags, async (store, config) => {
    const key = await store.keyOf(id);
    const holds = (t: string | undefined): t is string => key !== undefined && t !== undefined && keyOfToken(t).equals(key);
    let token: string;
    if (holds(boardToken)) token = boardToken;
    else if (holds(kept)) token = kept;
    else if (key !== undefined && flags.rotate !== true) {
      throw failure('already_registered', `a board ${id} is registered at the hub already, and this board does not hold its token: give this one another --name, or add --rotate to give it a new token (the board that has the old one stops linking)`);
    } else if (flags.dryRun === true) token = 'NEW-TOKEN';
    else if (key !== undefined) {
      token = await store.rotateToken(id);
      ctx.err(`gave ${id} a new token at the hub (${config.data})`);
    } else {
      token = (await store.addDevice(id, { name: id })).token;
      ctx.err(`registered ${id} at the hub (${config.data})`);
    }
    if (flags.dryRun !== true && token !== boardToken && token !== kept) keepSecret(keptFile, token);
    return { ...boardLinkFor(config, id, token), data: config.data };
  });
  if (made.notMadeYet) throw failure('hub_no_certificate', "the hub's link.tls is auto and it has not made its certificate yet, so the board has no fingerprint to pin: start the hub once (tether hub), then run this again");
  if (made.at.note !== undefined) ctx.err(`note: ${made.at.note}`);
  return { path: 'config/hub.json', data: new TextEncoder().encode(`${firmwareHubJson(made.link)}\n`) };
}

/** Where a hub token registered by a run waits until the board holds it (the copy completed). */
function hubTokenFile(io: InstallIo, id: string): string {
  return path.join(io.tokenDir ?? '.', `${id}.hub-token`);
}

/** A secret in a file only its owner reads, replacing what the file held. */
function keepSecret(file: string, secret: string): void {
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

function printPlan(ctx: CliContext, plan: SyncPlan, kept: string[]): void {
  const bytes = plan.toCopy.reduce((n, f) => n + f.data.length, 0);
  ctx.out(`dry run: would copy ${plan.toCopy.length} file(s), ${formatBytes(bytes)}; ${plan.unchanged.length} unchanged; nothing written`);
  for (const f of plan.toCopy) ctx.out(`  copy       ${f.path} (${formatBytes(f.data.length)})`);
  for (const f of plan.unchanged) ctx.out(`  unchanged  ${f.path}`);
  for (const p of kept) ctx.out(`  kept       ${p} (the board's own)`);
}

/** Copies with a line per file (a line redrawn per chunk on a terminal): files n/N, bytes, rate. */
async function copyWithProgress(repl: RawRepl, plan: SyncPlan, sink: ProgressSink, ctx: CliContext): Promise<void> {
  const total = plan.toCopy.reduce((n, f) => n + f.data.length, 0);
  const count = plan.toCopy.length;
  const started = performance.now();
  let doneBefore = 0;
  let index = 0;
  let drawn = false;
  const rate = (done: number): string => `${formatBytes(Math.round(done / Math.max((performance.now() - started) / 1000, 0.001)))}/s`;
  const line = (file: string, done: number): string =>
    `[${String(index).padStart(String(count).length)}/${count}] ${file}  ${formatBytes(done)} of ${formatBytes(total)}, ${rate(done)}`;
  const onProgress = (p: CopyProgress): void => {
    if (p.phase === 'copying') {
      if (p.done === 0) index++;
      if (sink.isTTY) {
        sink.write(`\r${line(p.path, doneBefore + p.done)}\x1b[K`);
        drawn = true;
      }
      if (p.done === p.total) doneBefore += p.total;
    } else if (p.phase === 'copied' && !sink.isTTY) sink.write(`tether: ${line(p.path, doneBefore)}\n`);
  };
  await copyPlanned(repl, plan, onProgress);
  if (drawn) sink.write('\n');
  const seconds = (performance.now() - started) / 1000;
  ctx.err(`copied ${count} file(s) (${formatBytes(total)}) in ${seconds.toFixed(1)} s${count > 0 ? ` (${rate(total)})` : ''}; ${plan.unchanged.length} unchanged`);
}
