// `tether send … -c action=read_pin pin=2 -c action=ping`: turning -c groups of key=value words
// into request objects, as piconetcontrol's run_client.py does, with typed values.

/** Why a -c group could not be read; the CLI reports it as a usage error (exit 2). */
export class CommandSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandSyntaxError';
  }
}

/**
 * Marks where each -c group starts. commander hands a repeated variadic option's values over
 * as one flat list; this marker, which no shell argument can contain (it holds a NUL), is
 * inserted after each -c so the option parser can start a new group there.
 */
export const GROUP_START = '\u0000tether-command\u0000';

const COMMAND_FLAGS = new Set(['-c', '--command']);

/**
 * Inserts GROUP_START after every -c/--command of the `send` subcommand in argv (user
 * arguments only, without node and script). `valueOptions` are options whose next word is their
 * value, so that `--token -c` is not mistaken for a group.
 */
export function markCommandGroups(args: readonly string[], valueOptions: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const first = args.findIndex((a) => !a.startsWith('-'));
  if (first === -1 || args[first] !== 'send') return [...args];
  out.push(...args.slice(0, first + 1));
  for (let i = first + 1; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (COMMAND_FLAGS.has(arg)) {
      out.push(arg, GROUP_START);
    } else if (arg.startsWith('--command=')) {
      out.push('--command', GROUP_START, arg.slice('--command='.length));
    } else if (arg.startsWith('-c') && arg.length > 2 && !arg.startsWith('--')) {
      out.push('-c', GROUP_START, arg.slice(2));
    } else if (valueOptions.has(arg) && i + 1 < args.length) {
      out.push(arg, args[i + 1] as string);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** commander argParser for `-c, --command <kv...>`: collects words into one group per -c. */
export function collectCommandWord(word: string, groups: string[][] | undefined): string[][] {
  const all = groups ?? [];
  if (word === GROUP_START) return [...all, []];
  const last = all[all.length - 1];
  if (last === undefined) return [[word]];
  last.push(word);
  return all;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `2` → 2, `0.5` → 0.5, `true`/`false` → booleans, anything else stays a string. */
export function coerceValue(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (NUMBER.test(text)) {
    const n = Number(text);
    // 20-digit tokens and the like stay strings rather than lose digits.
    if (Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n))) return n;
  }
  return text;
}

/** One -c group → one request. `key=value` coerces the value; `key:=<json>` takes raw JSON. */
export function parseCommandWords(words: readonly string[], index = 0): Record<string, unknown> {
  const where = `-c #${index + 1}`;
  if (words.length === 0) {
    throw new CommandSyntaxError(`${where} is empty: follow -c with key=value words, e.g. -c action=read_pin pin=2`);
  }
  const message: Record<string, unknown> = {};
  for (const word of words) {
    const raw = word.indexOf(':=');
    const eq = word.indexOf('=');
    if (eq <= 0) {
      throw new CommandSyntaxError(
        `${where}: "${word}" is not key=value; write e.g. pin=2, or key:=<json> for raw JSON` +
          (eq === -1 ? ' (HOST and PORT go before the first -c)' : ''),
      );
    }
    const isJson = raw > 0 && raw < eq;
    const key = isJson ? word.slice(0, raw) : word.slice(0, eq);
    const text = word.slice(eq + 1);
    if (!KEY.test(key)) {
      throw new CommandSyntaxError(`${where}: "${key}" is not a field name; use letters, digits and _ (e.g. safe_value=0)`);
    }
    if (Object.hasOwn(message, key)) {
      throw new CommandSyntaxError(`${where}: ${key} is given twice; give each field once per -c`);
    }
    if (isJson) {
      try {
        message[key] = JSON.parse(text) as unknown;
      } catch (err) {
        throw new CommandSyntaxError(`${where}: ${key}:= needs JSON after it (${(err as Error).message}); e.g. ${key}:='{"a":1}' or ${key}:='"007"'`);
      }
    } else {
      message[key] = coerceValue(text);
    }
  }
  if (typeof message['action'] !== 'string') {
    throw new CommandSyntaxError(`${where} has no action: start it with action=NAME, e.g. -c action=ping (tether send --help lists examples)`);
  }
  return message;
}

/** All -c groups → the batch to send. */
export function parseCommandGroups(groups: readonly (readonly string[])[]): Record<string, unknown>[] {
  if (groups.length === 0) {
    throw new CommandSyntaxError('nothing to send: add at least one -c with key=value words, e.g. -c action=ping');
  }
  return groups.map((words, i) => parseCommandWords(words, i));
}
