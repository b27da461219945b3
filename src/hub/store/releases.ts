// The hub's firmware releases (`tether hub release add DIR`): each one a folder under
// <data>/releases/<version>/ holding the files a board takes and release.json, its manifest
// with every file's size and SHA-256. A release is written into a hidden folder and renamed into
// place as a whole, so that another process (the running hub) sees all of it or none of it, and
// two adds of one version cannot both win. It is read back as a Firmware for the OTA client.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  FirmwareError,
  VERSION_FILE,
  collectFirmware,
  manifestDigest,
  manifestOf,
  requireFiles,
  type Firmware,
  type FirmwareErrorCode,
  type FirmwareFile,
  type ManifestEntry,
} from '../../firmware/index.js';

export const RELEASES_FOLDER = 'releases';
const MANIFEST_FILE = 'release.json';
const FILES_FOLDER = 'files';
/** A version is a folder name here: no separators, no dot-only names, nothing hidden. */
export const RELEASE_VERSION = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,31}$/;
const PATH_PART = /^[A-Za-z0-9_.-]+$/;

/** Every code a ReleaseError has (docs/hub.md, "Firmware releases", lists them too). */
export const RELEASE_ERROR_CATALOGUE = {
  not_firmware: 'The folder is not a firmware tree a board takes (the message says why: no tether/__init__.py, no VERSION, names the board cannot take, no files).',
  bad_version: 'The firmware\'s VERSION cannot name a release: use 1–32 of A–Z a–z 0–9 _ . + -, starting with a letter or digit.',
  duplicate_version: 'The hub holds a release of that version already; remove it first, or raise VERSION in tether/__init__.py.',
  unknown_version: 'The hub holds no release of that version; list them with tether hub release list.',
  damaged: "A stored release's files no longer match its manifest; remove it and add it again.",
  in_use: 'A running rollout sends this release; wait for it to end, or cancel it, then remove the release.',
} as const;

export type ReleaseErrorCode = keyof typeof RELEASE_ERROR_CATALOGUE;

export class ReleaseError extends Error {
  constructor(
    readonly code: ReleaseErrorCode,
    message: string,
    /** For not_firmware: why the folder is not one. */
    readonly firmwareCode?: FirmwareErrorCode,
  ) {
    super(message);
    this.name = 'ReleaseError';
  }
}

/** release.json */
export interface ReleaseManifest {
  version: string;
  /** Wall-clock ms. */
  addedAt: number;
  /** Sorted by path, as op "begin" sends them. */
  files: ManifestEntry[];
  /** manifestDigest of the files. */
  digest: string;
  totalBytes: number;
}

export interface ReleaseStoreOptions {
  /** The running rollout that sends this release, if any (the hub's RolloutStore.usingRelease): such a release is not removed. */
  usedBy?: (version: string) => Promise<number | undefined>;
}

export class ReleaseStore {
  readonly root: string;

  /** `dataDir` is the hub's data folder, which must exist (ensureDataFolder). */
  constructor(
    dataDir: string,
    private readonly options: ReleaseStoreOptions = {},
  ) {
    this.root = path.join(dataDir, RELEASES_FOLDER);
  }

  /** Copies the firmware folder `dir` in as a release named by its VERSION. */
  async add(dir: string, now: number = Date.now()): Promise<ReleaseManifest> {
    let firmware: Firmware;
    try {
      firmware = requireFiles(await collectFirmware(dir));
    } catch (err) {
      if (err instanceof FirmwareError) {
        const why = err.code === 'no_version_file' ? `${dir} is not a firmware folder: it has no readable ${VERSION_FILE}; give the folder with main.py and tether/` : err.message;
        throw new ReleaseError('not_firmware', why, err.code);
      }
      throw err;
    }
    const { version } = firmware;
    if (!RELEASE_VERSION.test(version)) {
      throw new ReleaseError('bad_version', `VERSION ${JSON.stringify(version)} cannot name a release: use 1–32 of A–Z a–z 0–9 _ . + -, starting with a letter or digit`);
    }
    if (fs.existsSync(this.folderOf(version))) throw duplicate(version);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const incoming = path.join(this.root, `.incoming-${randomBytes(6).toString('hex')}`);
    try {
      for (const file of firmware.files) {
        const data = fs.readFileSync(file.source);
        // The copy must be what the manifest says, or a board would refuse it at the commit.
        if (data.length !== file.size || sha256(data) !== file.sha256) {
          throw new ReleaseError('not_firmware', `${file.source} changed while it was being copied; add the release again`);
        }
        const target = path.join(incoming, FILES_FOLDER, ...file.path.split('/'));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, data);
      }
      const files = manifestOf(firmware.files);
      const manifest: ReleaseManifest = { version, addedAt: now, files, digest: manifestDigest(files), totalBytes: firmware.totalBytes };
      fs.writeFileSync(path.join(incoming, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
      try {
        fs.renameSync(incoming, this.folderOf(version));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw duplicate(version);
        throw err;
      }
      return manifest;
    } finally {
      fs.rmSync(incoming, { recursive: true, force: true });
    }
  }

  /** Every release, oldest first. */
  list(): ReleaseManifest[] {
    return this.scan().releases;
  }

  /**
   * The releases, oldest first, and apart from them those whose release.json is damaged (each
   * with why), so that one damaged release does not hide the others; remove() takes those out too.
   */
  scan(): { releases: ReleaseManifest[]; damaged: Array<{ version: string; message: string }> } {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { releases: [], damaged: [] };
      throw err;
    }
    const releases: ReleaseManifest[] = [];
    const damaged: Array<{ version: string; message: string }> = [];
    for (const name of names.filter((n) => RELEASE_VERSION.test(n))) {
      try {
        releases.push(this.manifest(name));
      } catch (err) {
        if (!(err instanceof ReleaseError && (err.code === 'damaged' || err.code === 'unknown_version'))) throw err;
        damaged.push({ version: name, message: err.code === 'damaged' ? err.message : `release ${name} has no release.json; remove it (tether hub release remove ${name}) and add it again` });
      }
    }
    releases.sort((a, b) => a.addedAt - b.addedAt || (a.version < b.version ? -1 : 1));
    return { releases, damaged: damaged.sort((a, b) => (a.version < b.version ? -1 : 1)) };
  }

  /** The release's manifest; unknown_version when there is none. */
  manifest(version: string): ReleaseManifest {
    if (!RELEASE_VERSION.test(version)) throw unknown(version);
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.folderOf(version), MANIFEST_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw unknown(version);
      throw err;
    }
    return parseManifest(text, version);
  }

  /**
   * The release as a Firmware the OTA client sends, every stored file checked against the
   * manifest first (damaged when one differs: a board would refuse it after the whole upload).
   */
  firmware(version: string): Firmware {
    const manifest = this.manifest(version);
    const dir = path.join(this.folderOf(version), FILES_FOLDER);
    const files: FirmwareFile[] = manifest.files.map((entry) => {
      const source = path.join(dir, ...entry.path.split('/'));
      let data: Buffer;
      try {
        data = fs.readFileSync(source);
      } catch {
        throw new ReleaseError('damaged', `release ${version} lacks ${entry.path}; remove it (tether hub release remove ${version}) and add it again`);
      }
      if (data.length !== entry.size || sha256(data) !== entry.sha256) {
        throw new ReleaseError('damaged', `release ${version}: ${entry.path} no longer matches its SHA-256; remove it (tether hub release remove ${version}) and add it again`);
      }
      return { ...entry, source };
    });
    return { dir, version, files, totalBytes: manifest.totalBytes };
  }

  /** Takes the release out at once (renamed away, then deleted); unknown_version when there is none, in_use while a rollout sends it. */
  async remove(version: string): Promise<void> {
    if (!RELEASE_VERSION.test(version)) throw unknown(version);
    const rollout = await this.options.usedBy?.(version);
    if (rollout !== undefined) {
      throw new ReleaseError('in_use', `rollout ${rollout} is sending release ${version}; wait for it to end, or cancel it (POST /api/rollouts/${rollout}/cancel), then remove the release`);
    }
    const gone = path.join(this.root, `.removing-${randomBytes(6).toString('hex')}`);
    try {
      fs.renameSync(this.folderOf(version), gone);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw unknown(version);
      throw err;
    }
    fs.rmSync(gone, { recursive: true, force: true });
  }

  private folderOf(version: string): string {
    return path.join(this.root, version);
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function duplicate(version: string): ReleaseError {
  return new ReleaseError('duplicate_version', `the hub holds release ${version} already; remove it first (tether hub release remove ${version}), or raise VERSION in tether/__init__.py`);
}

function unknown(version: string): ReleaseError {
  return new ReleaseError('unknown_version', `the hub holds no release ${JSON.stringify(version)}; list them with: tether hub release list`);
}

/** release.json, checked: it names files the hub will read and send to boards. */
function parseManifest(text: string, version: string): ReleaseManifest {
  const damaged = (what: string) => new ReleaseError('damaged', `release ${version}: release.json ${what}; remove the release and add it again`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw damaged('is not JSON');
  }
  const m = raw as Partial<Record<keyof ReleaseManifest, unknown>>;
  if (typeof raw !== 'object' || raw === null || m.version !== version) throw damaged(`does not name version ${version}`);
  if (typeof m.addedAt !== 'number' || typeof m.digest !== 'string' || typeof m.totalBytes !== 'number' || !Array.isArray(m.files)) throw damaged('lacks a field');
  const files: ManifestEntry[] = [];
  for (const f of m.files as unknown[]) {
    const e = f as Partial<ManifestEntry>;
    const pathOk = typeof e.path === 'string' && e.path.split('/').every((p) => PATH_PART.test(p) && p !== '.' && p !== '..');
    if (!pathOk || typeof e.size !== 'number' || typeof e.sha256 !== 'string') throw damaged(`has a file entry that is not {path, size, sha256}: ${JSON.stringify(f)}`);
    files.push({ path: e.path as string, size: e.size, sha256: e.sha256 });
  }
  if (manifestDigest(files) !== m.digest) throw damaged('does not match its own digest');
  return { version, addedAt: m.addedAt, files, digest: m.digest, totalBytes: m.totalBytes };
}
