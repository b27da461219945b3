// The `update` action's ops as requests over a channel (protocol.md §5.19), each with its reply
// checked: status, list, begin (in parts), commit and clear. Chunks are in upload.ts.
import { TetherError, type JsonObject } from '../../client/index.js';
import type { ManifestEntry } from '../bundle/manifest.js';
import type { OtaChannel } from './ota-channel.js';
import { parseStatus, type UpdateStatus } from './update-status.js';

/** begin clears the old staging area and commit hashes every file from flash: both take a while. */
export const BEGIN_TIMEOUT_MS = 15_000;
export const COMMIT_TIMEOUT_MS = 30_000;
/** The list of files in one op "begin" request, at most (JSON bytes); the rest go with "append". */
const BEGIN_PART_BYTES = 1200;
/** What the board waits before it resets when its reply does not say. */
export const DEFAULT_RESET_MS = 1000;

export async function readStatus(channel: OtaChannel): Promise<UpdateStatus> {
  return parseStatus(await channel.request({ action: 'update', op: 'status' }));
}

export async function readVersion(channel: OtaChannel): Promise<string> {
  return (await channel.request({ action: 'get_version' }))['version'] as string;
}

/**
 * The board's firmware files with their sizes and SHA-256 (op "list", a reply's worth at a time),
 * or undefined from a firmware that predates op "list": then every file is sent.
 */
export async function listBoardFiles(channel: OtaChannel): Promise<ManifestEntry[] | undefined> {
  const out: ManifestEntry[] = [];
  let after = '';
  for (;;) {
    let reply: JsonObject;
    try {
      reply = await channel.request({ action: 'update', op: 'list', ...(after === '' ? {} : { after }) }, BEGIN_TIMEOUT_MS);
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

/**
 * op "begin" with the list of files, in parts that fit a small board's frame limit (the board's
 * default is 2 KiB): the first part starts afresh, the others carry "append": true. A part the
 * board still finds too long is sent again in halves. Resolves with the board's chunk size.
 */
export async function beginUpdate(channel: OtaChannel, version: string, manifest: readonly ManifestEntry[], deleted: readonly string[]): Promise<number> {
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
      reply = await channel.request({ action: 'update', op: 'begin', version, files: part, ...first }, BEGIN_TIMEOUT_MS);
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

/**
 * op "commit": the board checks every staged file and resets to apply them. The commit vouches
 * for the update with the channel's proof (a MAC of its version and manifest digest). Resolves
 * with the milliseconds until the reset.
 */
export async function commitUpdate(channel: OtaChannel, version: string, manifest: string): Promise<number> {
  const reply = await channel.request({ action: 'update', op: 'commit', version, manifest, ...channel.commitProof(version, manifest) }, COMMIT_TIMEOUT_MS);
  return typeof reply['reset_in_ms'] === 'number' ? reply['reset_in_ms'] : DEFAULT_RESET_MS;
}

/** What op "clear" discarded; after `rolled_back` the board resets to run the previous version. */
export type ClearResult = { cleared: 'nothing' | 'staging' | 'committed' } | { cleared: 'rolled_back'; resetInMs: number };

/** op "clear": discards whatever update the board holds (staged, committed, stuck or on trial). */
export async function clearUpdate(channel: OtaChannel): Promise<ClearResult> {
  const reply = await channel.request({ action: 'update', op: 'clear' }, COMMIT_TIMEOUT_MS);
  const cleared = reply['cleared'];
  switch (cleared) {
    case 'nothing':
    case 'staging':
    case 'committed':
      return { cleared };
    case 'rolled_back':
      return { cleared, resetInMs: typeof reply['reset_in_ms'] === 'number' ? reply['reset_in_ms'] : DEFAULT_RESET_MS };
    default:
      throw new TetherError('bad_reply', `the board's answer to op "clear" says cleared ${JSON.stringify(cleared)}`, { reply });
  }
}
