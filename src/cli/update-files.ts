// What `tether update` sends, whichever way it reaches the board: the firmware files under a
// folder, their manifest (the `update` action's op "begin"), the chunks and the progress line.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FirmwareFile {
  /** Relative to the firmware root, `/`-separated: the path on the board. */
  path: string;
  size: number;
  sha256: string;
  /** Where the file is on this computer. */
  source: string;
}

export interface Firmware {
  dir: string;
  /** VERSION from tether/__init__.py. */
  version: string;
  /** Sorted by path: the order of op "begin" and of the manifest digest. */
  files: FirmwareFile[];
  totalBytes: number;
}

/** One entry of op "begin"'s `files`. */
export type ManifestEntry = {
  path: string;
  size: number;
  sha256: string;
};

/**
 * Top-level folders that are never sent: the board's own settings, tests, the board's update
 * area. Names are compared in lower case, as the board does: its FAT file system ignores case,
 * so Config/ is config/ there and Boot.py would overwrite boot.py.
 */
const SKIPPED_TOP = new Set(['config', 'tests', 'ota']);
/** boot.py runs the update and the rollback, so the board refuses to replace it. */
const SKIPPED_TOP_FILES = new Set(['boot.py']);
const NAME = /^[A-Za-z0-9_.-]+$/;
const EXTENSIONS = ['.py', '.mpy', '.json'];
/** The board's limits (firmware/tether/ota.py). */
export const MAX_FILES = 128;
export const MAX_PATH = 96;
const VERSION_LINE = /^VERSION\s*=\s*(['"])([^'"\n]{1,32})\1/m;

export class FirmwareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FirmwareError';
  }
}

/** VERSION = '…' from the text of a tether/__init__.py, or undefined. */
export function readFirmwareVersion(text: string): string | undefined {
  return VERSION_LINE.exec(text)?.[2];
}

/**
 * The files to send from a firmware folder (the one holding main.py and tether/): .py, .mpy and
 * .json files, without config/, tests/, ota/, boot.py, __pycache__ and hidden entries.
 */
export async function collectFirmware(dir: string): Promise<Firmware> {
  let initText: string;
  try {
    initText = await readFile(join(dir, 'tether', '__init__.py'), 'utf8');
  } catch (err) {
    throw new FirmwareError(
      `cannot read ${join(dir, 'tether', '__init__.py')} (${(err as NodeJS.ErrnoException).code ?? String(err)}); --firmware must be the firmware folder, the one with main.py and tether/`,
    );
  }
  const version = readFirmwareVersion(initText);
  if (version === undefined) {
    throw new FirmwareError(`${join(dir, 'tether', '__init__.py')} has no line VERSION = '…' (1 to 32 characters); the board reports that version, so it must be there`);
  }
  const files: FirmwareFile[] = [];
  const badNames: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(rel === '' ? dir : join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.name.startsWith('.') || entry.name === '__pycache__') continue;
      if (entry.isDirectory()) {
        if (rel === '' && SKIPPED_TOP.has(entry.name.toLowerCase())) continue;
        await walk(path);
        continue;
      }
      if (!entry.isFile() || !EXTENSIONS.some((ext) => entry.name.endsWith(ext))) continue;
      if (rel === '' && SKIPPED_TOP_FILES.has(entry.name.toLowerCase())) continue;
      if (!path.split('/').every((part) => NAME.test(part)) || path.length > MAX_PATH) {
        badNames.push(path);
        continue;
      }
      const source = join(dir, ...path.split('/'));
      const data = await readFile(source);
      files.push({ path, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), source });
    }
  };
  await walk('');
  if (badNames.length > 0) {
    throw new FirmwareError(
      `the board only takes paths of at most ${MAX_PATH} characters made of A-Z a-z 0-9 _ . - ; rename or remove: ${badNames.join(', ')}`,
    );
  }
  const clashes = caseClashes(files.map((f) => f.path));
  if (clashes.length > 0) {
    throw new FirmwareError(
      `the board's FAT file system ignores case, so these would be one file there and the last sent would overwrite the others; rename or remove all but one of: ${clashes.join(', ')}`,
    );
  }
  if (files.length > MAX_FILES) {
    throw new FirmwareError(`${files.length} files to send, but the board takes at most ${MAX_FILES} per update; remove the ones it does not need`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { dir, version, files, totalBytes: files.reduce((sum, f) => sum + f.size, 0) };
}

/** Paths that name one file on a file system that ignores case (a file also counting as the folder of another). */
export function caseClashes(paths: readonly string[]): string[] {
  const byKey = new Map<string, string[]>();
  const add = (key: string, path: string) => byKey.set(key, [...(byKey.get(key) ?? []), path]);
  for (const path of paths) add(path.toLowerCase(), path);
  for (const path of paths) {
    const parts = path.split('/');
    for (let n = 1; n < parts.length; n++) {
      const folder = parts.slice(0, n).join('/').toLowerCase();
      // A folder only clashes with a file of that name, not with the other files inside it.
      if (byKey.has(folder) && !byKey.get(folder)?.includes(path)) add(folder, path);
    }
  }
  return [...byKey.values()].filter((group) => group.length > 1).flatMap((group) => [...group].sort());
}

export function manifestOf(files: readonly FirmwareFile[]): ManifestEntry[] {
  return files.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
}

/**
 * SHA-256 of "path\nsize\nsha256\n" per file in begin's order, then "delete path\n" per file the
 * update removes, as the board reports it in op "status" (`staging.manifest`): equal digests
 * mean the board is staging this very update. commit's MAC covers it, deletions included.
 */
export function manifestDigest(files: readonly ManifestEntry[], deleted: readonly string[] = []): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\n${f.size}\n${f.sha256}\n`);
  for (const path of deleted) hash.update(`delete ${path}\n`);
  return hash.digest('hex');
}

/** The folder the release owns on the board: its files that a release no longer has are deleted. */
export const OWNED_FOLDER = 'tether/';

export interface UpdatePlan {
  /** The release's files whose size or SHA-256 differs from the board's (or that it lacks). */
  send: FirmwareFile[];
  /** Files under tether/ on the board that the release does not have. */
  delete: string[];
  /** The release's files the board already holds as they are. */
  same: number;
}

/**
 * What to send, from the board's own list of files (op "list"). Only tether/ is the release's
 * to prune: other files on the board (main.py aside, the user's own modules) stay. Paths are
 * compared without case, as the board's FAT file system would.
 */
export function planUpdate(firmware: Firmware, board: readonly ManifestEntry[]): UpdatePlan {
  const onBoard = new Map(board.map((f) => [f.path.toLowerCase(), f]));
  const inRelease = new Set(firmware.files.map((f) => f.path.toLowerCase()));
  const send = firmware.files.filter((f) => {
    const there = onBoard.get(f.path.toLowerCase());
    return there === undefined || there.path !== f.path || there.size !== f.size || there.sha256 !== f.sha256;
  });
  const deleted = board
    .filter((f) => f.path.startsWith(OWNED_FOLDER) && !inRelease.has(f.path.toLowerCase()))
    .map((f) => f.path)
    .sort();
  return { send, delete: deleted, same: firmware.files.length - send.length };
}

export interface Chunk {
  offset: number;
  bytes: number;
  /** base64 */
  data: string;
}

/** The chunks of a file from `start` on, each at most chunkBytes long. */
export function* chunksOf(data: Buffer, start: number, chunkBytes: number): Generator<Chunk> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkBytes}`);
  for (let offset = start; offset < data.length; offset += chunkBytes) {
    const piece = data.subarray(offset, Math.min(offset + chunkBytes, data.length));
    yield { offset, bytes: piece.length, data: piece.toString('base64') };
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export interface ProgressSink {
  write(text: string): void;
  /** A terminal gets one line redrawn in place; anything else gets a line every 10 %. */
  readonly isTTY: boolean;
}

const BAR = 24;

/** Bytes sent out of the total, and which file, on stderr. */
export class Progress {
  private sent = 0;
  private fileIndex = 0;
  private filePath = '';
  private lastTenth = -1;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly totalBytes: number,
    private readonly fileCount: number,
  ) {}

  /** Bytes the board already had (a resumed upload); counted without a line of their own. */
  skip(bytes: number): void {
    this.sent += bytes;
    this.lastTenth = this.tenth();
  }

  file(index: number, path: string): void {
    this.fileIndex = index;
    this.filePath = path;
    if (this.sink.isTTY) this.draw();
  }

  advance(bytes: number): void {
    this.sent += bytes;
    if (this.sink.isTTY) {
      this.draw();
      return;
    }
    const tenth = this.tenth();
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.sink.write(`tether: sent ${this.percent()}% (${this.amounts()}, file ${this.fileIndex}/${this.fileCount} ${this.filePath})\n`);
    }
  }

  /** Ends the line being redrawn, if any. */
  end(): void {
    if (this.sink.isTTY && this.drawn) {
      this.sink.write('\n');
      this.drawn = false;
    }
  }

  private draw(): void {
    const filled = this.totalBytes === 0 ? BAR : Math.round((this.sent / this.totalBytes) * BAR);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR - filled);
    const line = `[${bar}] ${String(this.percent()).padStart(3)}%  ${this.amounts()}  file ${this.fileIndex}/${this.fileCount} ${this.filePath}`;
    this.sink.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  private percent(): number {
    return this.totalBytes === 0 ? 100 : Math.floor((this.sent / this.totalBytes) * 100);
  }

  private tenth(): number {
    return this.totalBytes === 0 ? 10 : Math.floor((this.sent / this.totalBytes) * 10);
  }

  private amounts(): string {
    return `${formatBytes(this.sent)} of ${formatBytes(this.totalBytes)}`;
  }
}
