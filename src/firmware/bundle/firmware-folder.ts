// A firmware folder (the one holding main.py and tether/) as an update sends it: its version and
// the files a board takes, with their sizes and SHA-256.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FirmwareError } from './firmware-error.js';

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
/** Where the version is, relative to the firmware root. */
export const VERSION_FILE = 'tether/__init__.py';

/** VERSION = '…' from the text of a tether/__init__.py, or undefined. */
export function readFirmwareVersion(text: string): string | undefined {
  return VERSION_LINE.exec(text)?.[2];
}

/**
 * The files to send from a firmware folder (the one holding main.py and tether/): .py, .mpy and
 * .json files, without config/, tests/, ota/, boot.py, __pycache__ and hidden entries.
 */
export async function collectFirmware(dir: string): Promise<Firmware> {
  const versionFile = join(dir, ...VERSION_FILE.split('/'));
  let initText: string;
  try {
    initText = await readFile(versionFile, 'utf8');
  } catch (err) {
    throw new FirmwareError(
      'no_version_file',
      `cannot read ${versionFile} (${(err as NodeJS.ErrnoException).code ?? String(err)}); --firmware must be the firmware folder, the one with main.py and tether/`,
    );
  }
  const version = readFirmwareVersion(initText);
  if (version === undefined) {
    throw new FirmwareError('no_version', `${versionFile} has no line VERSION = '…' (1 to 32 characters); the board reports that version, so it must be there`);
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
    throw new FirmwareError('bad_path', `the board only takes paths of at most ${MAX_PATH} characters made of A-Z a-z 0-9 _ . - ; rename or remove: ${badNames.join(', ')}`);
  }
  const clashes = caseClashes(files.map((f) => f.path));
  if (clashes.length > 0) {
    throw new FirmwareError(
      'case_clash',
      `the board's FAT file system ignores case, so these would be one file there and the last sent would overwrite the others; rename or remove all but one of: ${clashes.join(', ')}`,
    );
  }
  if (files.length > MAX_FILES) {
    throw new FirmwareError('too_many_files', `${files.length} files to send, but the board takes at most ${MAX_FILES} per update; remove the ones it does not need`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { dir, version, files, totalBytes: files.reduce((sum, f) => sum + f.size, 0) };
}

/** The firmware, refused with no_files when it has nothing a board would take. */
export function requireFiles(firmware: Firmware): Firmware {
  if (firmware.files.length === 0) throw new FirmwareError('no_files', `no .py, .mpy or .json files to send under ${firmware.dir}`);
  return firmware;
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
