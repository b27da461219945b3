// Files on a board through its raw REPL: the sha256 of a file, mkdir -p, and a write that lands
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

/** The sha256 (hex) of a file on the board, or null when there is no such file. */
export async function boardSha256(repl: RawRepl, path: string): Promise<string | null> {
  const out = await repl.exec(
    [
      'import hashlib, binascii',
      'try:',
      ` _f = open('${boardPath(path)}', 'rb')`,
      'except OSError:',
      " print('no file')",
      'else:',
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
  const answer = out.trim();
  if (answer === 'no file') return null;
  if (!/^[0-9a-f]{64}$/.test(answer)) throw new ReplError('protocol', `the board answered ${JSON.stringify(answer)} when asked for the hash of ${path}: reset it and try again.`);
  return answer;
}

/** mkdir -p on the board (EEXIST, errno 17, is fine). */
export async function boardMkdirs(repl: RawRepl, dir: string): Promise<void> {
  await repl.exec(
    [
      'import os',
      "_d = ''",
      `for _s in '${boardPath(dir)}'.split('/')[1:]:`,
      " _d += '/' + _s",
      ' try:',
      '  os.mkdir(_d)',
      ' except OSError as _e:',
      '  if _e.errno != 17:',
      '   raise',
      '',
    ].join('\n'),
  );
}

/**
 * Bytes of file per command: the command (base64 plus its few bytes of Python) fits in the two
 * windows a board grants at the start of a raw-paste, so it goes out in one write; without
 * raw-paste, 256 bytes of command as mpremote sends.
 */
export function chunkBytes(window: number | undefined): number {
  const budget = (window === undefined ? 256 : 2 * window) - 'w(a(\'\'))\n'.length;
  return Math.max(3, Math.floor(budget / 4) * 3);
}

/** Writes a file through `<path>.part` and a rename, so a cut leaves the old file, never half of the new. */
export async function boardWriteFile(repl: RawRepl, file: BoardFile, onProgress?: (p: CopyProgress) => void): Promise<void> {
  const path = boardPath(file.path);
  await repl.exec(`import os, binascii\nf = open('${path}.part', 'wb')\nw = f.write\na = binascii.a2b_base64\n`);
  let done = 0;
  onProgress?.({ path: file.path, phase: 'copying', done, total: file.data.length });
  while (done < file.data.length) {
    const piece = file.data.subarray(done, done + chunkBytes(repl.window));
    await repl.exec(`w(a('${Buffer.from(piece).toString('base64')}'))\n`);
    done += piece.length;
    onProgress?.({ path: file.path, phase: 'copying', done, total: file.data.length });
  }
  await repl.exec(`f.close()\nos.rename('${path}.part', '${path}')\n`);
}

function parentDir(path: string): string | undefined {
  const at = path.lastIndexOf('/');
  return at > 0 ? path.slice(0, at) : undefined;
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
  const copied: string[] = [];
  const unchanged: string[] = [];
  const made = new Set<string>();
  for (const file of files) {
    const want = sha256Hex(file.data);
    if ((await boardSha256(repl, file.path)) === want) {
      unchanged.push(file.path);
      onProgress?.({ path: file.path, phase: 'unchanged' });
      continue;
    }
    const dir = parentDir(file.path.replace(/^\/+/, ''));
    if (dir !== undefined && !made.has(dir)) {
      await boardMkdirs(repl, dir);
      made.add(dir);
    }
    await boardWriteFile(repl, file, onProgress);
    const got = await boardSha256(repl, file.path);
    if (got !== want) {
      throw new ReplError('verify_failed', `${file.path} reads back with sha256 ${got ?? '(no file)'} instead of ${want}: the board's flash may be full (check with os.statvfs) or failing; run the command again.`);
    }
    copied.push(file.path);
    onProgress?.({ path: file.path, phase: 'copied' });
  }
  return { copied, unchanged };
}
