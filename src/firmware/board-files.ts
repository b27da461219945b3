// Files on a board through its raw REPL: the sha256 of files, a small file's bytes, mkdir -p, and a write that lands
// whole or not at all (written to `<path>.part`, then renamed). The Python snippets are few and
// fixed so that a fake board in the tests can recognise them; paths are limited to characters
// that need no quoting.
import { createHash } from 'node:crypto';
import { ReplError, type RawRepl } from './raw-repl.js';

export interface BoardFile {
  /** Path on the board, relative to its root: `tether/app.py`, `config/device.json`. */
  path: string;
  data: Uint8Array;
}

export type CopyProgress =
  | { path: string; phase: 'unchanged' }
  | { path: string; phase: 'copying'; done: number; total: number }
  | { path: string; phase: 'copied' };

const SAFE_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

function boardPath(path: string): string {
  const p = path.replace(/^\/+/, '');
  if (!SAFE_PATH.test(p) || p.split('/').some((s) => s === '.' || s === '..')) {
    throw new ReplError('bad_path', `cannot copy ${JSON.stringify(path)}: board paths may hold only letters, digits, '_', '-', '.' and '/'; rename the file.`);
  }
  return `/${p}`;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The sha256 (hex) of each file on the board, null where there is none: one command for all of
 * them, so that checking a whole firmware costs one round trip, not one per file. The board reads
 * each file in 256-byte pieces, so a file larger than its free RAM is hashed too.
 */
export async function boardSha256s(repl: RawRepl, paths: readonly string[]): Promise<Array<string | null>> {
  if (paths.length === 0) return [];
  const list = paths.map((p) => `'${boardPath(p)}'`).join(', ');
  const out = await repl.exec(
    [
      'import hashlib, binascii',
      `for _p in [${list}]:`,
      ' try:',
      "  _f = open(_p, 'rb')",
      ' except OSError:',
      "  print('no file')",
      '  continue',
      ' _h = hashlib.sha256()',
      ' _b = bytearray(256)',
      ' while True:',
      '  _n = _f.readinto(_b)',
      '  if not _n:',
      '   break',
      '  _h.update(memoryview(_b)[:_n])',
      ' _f.close()',
      ' print(binascii.hexlify(_h.digest()).decode())',
      '',
    ].join('\n'),
  );
  const answers = out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (answers.length !== paths.length || answers.some((a) => a !== 'no file' && !/^[0-9a-f]{64}$/.test(a))) {
    throw new ReplError('protocol', `the board answered ${JSON.stringify(out.slice(0, 200))} when asked for the hashes of ${paths.length} file(s): reset it and try again.`);
  }
  return answers.map((a) => (a === 'no file' ? null : a));
}

/** The sha256 (hex) of a file on the board, or null when there is no such file. */
export async function boardSha256(repl: RawRepl, path: string): Promise<string | null> {
  const [hash] = await boardSha256s(repl, [path]);
  return hash ?? null;
}

/** A (small) file's bytes from the board, or null when there is no such file. */
export async function boardReadFile(repl: RawRepl, path: string): Promise<Uint8Array | null> {
  const out = await repl.exec(
    [
      'import binascii',
      'try:',
      ` _f = open('${boardPath(path)}', 'rb')`,
      'except OSError:',
      " print('no file')",
      'else:',
      ' while True:',
      '  _d = _f.read(192)',
      '  if not _d:',
      '   break',
      '  print(binascii.b2a_base64(_d).decode().strip())',
      ' _f.close()',
      " print('end')",
      '',
    ].join('\n'),
  );
  const lines = out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 1 && lines[0] === 'no file') return null;
  if (lines.at(-1) !== 'end' || lines.slice(0, -1).some((l) => !/^[A-Za-z0-9+/=]*$/.test(l))) {
    // Not the answer itself: for config/hub.json it carries the board's token.
    throw new ReplError('protocol', `the board's answer to reading ${path} (${out.length} characters) is not what this tool asked for: reset it and try again.`);
  }
  return new Uint8Array(Buffer.concat(lines.slice(0, -1).map((l) => Buffer.from(l, 'base64'))));
}

/**
 * mkdir -p on the board. What exists is found with os.stat rather than by mkdir's EEXIST, whose
 * number is not the same on every port (17 on rp2 and esp32, 20 in the WebAssembly port).
 */
export async function boardMkdirs(repl: RawRepl, dir: string): Promise<void> {
  await repl.exec(
    [
      'import os',
      "_d = ''",
      `for _s in '${boardPath(dir)}'.split('/')[1:]:`,
      " _d += '/' + _s",
      ' try:',
      '  os.stat(_d)',
      ' except OSError:',
      '  os.mkdir(_d)',
      '',
    ].join('\n'),
  );
}

/**
 * rm -r on the board; true when there was something to remove. Walks with os.ilistdir, which
 * every port has, and tells folders by the stat mode's S_IFDIR bit.
 */
export async function boardRemoveTree(repl: RawRepl, path: string): Promise<boolean> {
  const out = await repl.exec(
    [
      'import os',
      'def _rm(p):',
      ' try:',
      '  m = os.stat(p)[0]',
      ' except OSError:',
      '  return 0',
      ' if m & 0x4000:',
      '  for e in list(os.ilistdir(p)):',
      "   _rm(p + '/' + e[0])",
      '  os.rmdir(p)',
      ' else:',
      '  os.remove(p)',
      ' return 1',
      `print(_rm('${boardPath(path)}'))`,
      '',
    ].join('\n'),
  );
  return out.trim() === '1';
}

/** Longest command that writes a piece of a file (base64 plus its few bytes of Python). */
export const WRITE_COMMAND_BYTES = 1024;

/**
 * Bytes of file per command. Each command costs a few round trips (raw-paste request, end,
 * output), so larger pieces go faster; 1 KiB of command still leaves a small board's heap alone
 * (the source, its base64 string and the decoded bytes are all it holds at once). Raw-paste
 * streams it by the board's grants; plain raw mode in 256-byte pieces.
 */
export function chunkBytes(): number {
  return Math.floor((WRITE_COMMAND_BYTES - "w(a(b''))\n".length) / 4) * 3;
}

/** Writes a file through `<path>.part` and a rename, so a cut leaves the old file, never half of the new. */
export async function boardWriteFile(repl: RawRepl, file: BoardFile, onProgress?: (p: CopyProgress) => void): Promise<void> {
  const path = boardPath(file.path);
  // A write that fails (the flash full) closes and removes the .part file on the board itself.
  await repl.exec(
    `import os, binascii\nf = open('${path}.part', 'wb')\na = binascii.a2b_base64\ndef w(b):\n try:\n  f.write(b)\n except OSError:\n  f.close()\n  os.remove('${path}.part')\n  raise\n`,
  );
  let done = 0;
  onProgress?.({ path: file.path, phase: 'copying', done, total: file.data.length });
  try {
    while (done < file.data.length) {
      const piece = file.data.subarray(done, done + chunkBytes());
      // A bytes literal: micropython-lib's pure-Python binascii (on ports without the C one) takes no str.
      await repl.exec(`w(a(b'${Buffer.from(piece).toString('base64')}'))\n`);
      done += piece.length;
      onProgress?.({ path: file.path, phase: 'copying', done, total: file.data.length });
    }
    await repl.exec(`f.close()\nos.rename('${path}.part', '${path}')\n`);
  } catch (err) {
    if (err instanceof ReplError && err.code === 'traceback' && /ENOSPC|Errno 28\b/.test(err.message)) {
      throw new ReplError(
        'board_full',
        `the board's flash is full at ${file.path} (${done} of ${file.data.length} bytes written; the partial file was removed): remove files you do not need from the board (mpremote ls, mpremote rm) and run the command again; what was copied is kept.`,
      );
    }
    throw err;
  }
}

function parentDir(path: string): string | undefined {
  const at = path.lastIndexOf('/');
  return at > 0 ? path.slice(0, at) : undefined;
}

export interface SyncPlan {
  /** Files whose sha256 on the board differs, or that it does not have. */
  toCopy: BoardFile[];
  unchanged: BoardFile[];
}

/** Which files differ from the board's, from one hashing command; nothing is written. */
export async function planSync(repl: RawRepl, files: readonly BoardFile[]): Promise<SyncPlan> {
  const onBoard = await boardSha256s(repl, files.map((f) => f.path));
  const plan: SyncPlan = { toCopy: [], unchanged: [] };
  files.forEach((file, i) => (onBoard[i] === sha256Hex(file.data) ? plan.unchanged : plan.toCopy).push(file));
  return plan;
}

/**
 * Copies what the plan says differs, then checks every copy by reading its hash back (one
 * command for all); folders are made as needed.
 */
export async function copyPlanned(repl: RawRepl, plan: SyncPlan, onProgress?: (p: CopyProgress) => void): Promise<void> {
  const made = new Set<string>();
  for (const file of plan.toCopy) {
    const dir = parentDir(file.path.replace(/^\/+/, ''));
    if (dir !== undefined && !made.has(dir)) {
      await boardMkdirs(repl, dir);
      made.add(dir);
    }
    await boardWriteFile(repl, file, onProgress);
    onProgress?.({ path: file.path, phase: 'copied' });
  }
  const got = await boardSha256s(repl, plan.toCopy.map((f) => f.path));
  plan.toCopy.forEach((file, i) => {
    const want = sha256Hex(file.data);
    if (got[i] !== want) {
      throw new ReplError('verify_failed', `${file.path} reads back with sha256 ${got[i] ?? '(no file)'} instead of ${want}: the board's flash may be full (check with os.statvfs) or failing; run the command again.`);
    }
  });
}

/**
 * Puts the files on the board, skipping those whose sha256 already matches, and checks each copy
 * by its hash. A run cut short is finished by running it again.
 */
export async function syncFiles(
  repl: RawRepl,
  files: readonly BoardFile[],
  onProgress?: (p: CopyProgress) => void,
): Promise<{ copied: string[]; unchanged: string[] }> {
  const plan = await planSync(repl, files);
  for (const file of plan.unchanged) onProgress?.({ path: file.path, phase: 'unchanged' });
  await copyPlanned(repl, plan, onProgress);
  return { copied: plan.toCopy.map((f) => f.path), unchanged: plan.unchanged.map((f) => f.path) };
}
