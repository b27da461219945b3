// The board's answer to op "status" (protocol.md §5.19; firmware/tether/ota.py): the version it
// runs, whether that version is on trial, and what it has staged.
import { TetherError, type JsonObject } from '../../client/index.js';
import { isObject } from '../../protocol/json.js';

/** The board's MAX_TRIAL_BOOTS (firmware/tether/ota.py): boots without health before it rolls back. */
export const TRIAL_BOOTS = 3;

export interface StagingStatus {
  version: string;
  /** manifestDigest of the staged update. */
  manifest: string;
  /** Bytes received per path. */
  received: Record<string, number>;
  committed: boolean;
  chunk_bytes?: number;
}

export interface UpdateStatus {
  version: string;
  previous: string | null;
  state: string;
  boot_count: number;
  rolled_back_from: string | null;
  /** The journal step a start could not complete (op "clear" undoes it). */
  stuck?: string;
  staging?: StagingStatus;
}

/** The status in a reply to op "status"; a reply without one is a bad_reply. */
export function parseStatus(reply: JsonObject): UpdateStatus {
  const u = reply['update'];
  const bad = (what: string) => new TetherError('bad_reply', `the board's update status has no valid ${what}: ${JSON.stringify(u)}`, { reply });
  if (!isObject(u)) throw bad('update object');
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
  if (isObject(staging) && typeof staging['version'] === 'string' && typeof staging['manifest'] === 'string' && isObject(staging['received'])) {
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

/** Bytes staged so far. */
export function receivedBytes(staging: Pick<StagingStatus, 'received'>): number {
  return Object.values(staging.received).reduce((a, b) => a + b, 0);
}
