// Where a command takes a token from: a file (--token-file), the environment, or --token. Any
// user of the machine can read another's command line (ps, /proc/PID/cmdline), so --token still
// works but warns, and every hint the CLI prints names the file or the variable instead. Also
// where the hub's commands write a new token for such a file (--out).
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { CliFailure } from './context.js';

export interface TokenSource {
  /** The option that takes the token itself, e.g. --token. */
  readonly flag: string;
  /** The option that takes a file holding it, e.g. --token-file. */
  readonly fileFlag: string;
  /** The environment variable, e.g. TETHER_TOKEN. */
  readonly env: string;
  /** Whose token, for help texts: "the board's token". */
  readonly what: string;
}

export const BOARD_TOKEN: TokenSource = { flag: '--token', fileFlag: '--token-file', env: 'TETHER_TOKEN', what: "the board's token (direct mode, sent before anything else)" };
export const DEVICE_TOKEN: TokenSource = { flag: '--token', fileFlag: '--token-file', env: 'TETHER_DEVICE_TOKEN', what: "this board's token at the hub" };
export const API_TOKEN: TokenSource = { flag: '--api-token', fileFlag: '--api-token-file', env: 'TETHER_API_TOKEN', what: "the hub's API token" };

/** The commander attribute of an option: --api-token-file → apiTokenFile. */
function attribute(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export function addTokenOptions(command: Command, source: TokenSource): Command {
  return command
    .addOption(new Option(`${source.fileFlag} <file>`, `${source.what}: the first line of this file (or set ${source.env})`))
    .addOption(
      new Option(`${source.flag} <token>`, `${source.what}; other users can read it in the process list, so prefer ${source.fileFlag} or ${source.env}`).conflicts(
        attribute(source.fileFlag),
      ),
    );
}

/**
 * The token: from the file, else from the option (with a warning), else from the environment;
 * undefined when none gives one. A file that cannot be read, or holds no token, is a failure
 * naming it.
 */
export function resolveToken(flags: object, source: TokenSource, warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = flags as Record<string, unknown>;
  const file = given[attribute(source.fileFlag)];
  if (typeof file === 'string') return readTokenFile(file, source.fileFlag, warn);
  const inline = given[attribute(source.flag)];
  if (typeof inline === 'string' && inline !== '') {
    warn(`${source.flag} shows the token to every user of this machine in the process list; use ${source.fileFlag} FILE or ${source.env} instead`);
    return inline;
  }
  const fromEnv = env[source.env];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv.trim();
}

/** The first line of the file, trimmed. */
export function readTokenFile(file: string, option: string, warn: (message: string) => void): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : code;
    throw new CliFailure(`cannot read the ${option} file ${file} (${why}); give a file whose first line is the token`);
  }
  const token = (text.split(/\r?\n/, 1)[0] ?? '').trim();
  if (token === '') throw new CliFailure(`the ${option} file ${file} is empty or its first line is blank; put the token on its first line`);
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) warn(`${file} can be read by other users; make it private with: chmod 600 ${file}`);
  } catch {
    // It was just read; a race that removed it changes nothing for this run.
  }
  return token;
}

/**
 * Makes a secret with `make` and, when `file` is given, writes it as the one line of that new
 * file, readable only by its owner. The file is made first, so that one that cannot be made
 * leaves nothing made (no board registered with a token nobody has); an existing file is never
 * replaced, because it may hold another secret.
 */
export async function makeSecret(file: string | undefined, make: () => string | Promise<string>): Promise<string> {
  if (file === undefined) return make();
  const fd = openNewPrivateFile(file);
  let secret: string;
  try {
    secret = await make();
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  try {
    fs.writeSync(fd, `${secret}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return secret;
}

function openNewPrivateFile(file: string): number {
  try {
    const fd = fs.openSync(file, 'wx', 0o600);
    // The umask can only narrow the mode given to open(); this also covers file systems that ignore it.
    fs.fchmodSync(fd, 0o600);
    return fd;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const why = code === 'EEXIST' ? 'it exists; name a new file, or remove the old one first' : code === 'ENOENT' ? 'its folder does not exist' : code;
    throw new CliFailure(`cannot write --out ${file} (${why})`);
  }
}
