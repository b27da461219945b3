// What the store checks and decides before it touches its tables, the same for every engine:
// the SQLite store (store/*.ts) makes these checks inline today. They belong in a module shared
// by both stores beside port.ts; until then the PostgreSQL store keeps them here, word for word.
import { ADMIN_TOKEN_NAME } from '../../api-scope.js';
import { seqDelta } from '../../../protocol/link/seq.js';
import { HubError } from '../../errors.js';
import { API_TOKEN_NAME } from '../api-tokens.js';
import { EVENTS_PAGE_MAX } from '../events.js';
import type { LinkState } from '../port.js';
import { READINGS_PAGE_MAX } from '../readings.js';

const DEVICE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export const READINGS_LIMITS = { default: 10_000, max: READINGS_PAGE_MAX };
export const EVENTS_LIMITS = { default: 100, max: EVENTS_PAGE_MAX };

export function checkDeviceId(id: string): void {
  if (!DEVICE_ID.test(id)) throw new HubError('bad_request', `device id ${JSON.stringify(id)}: expected 1–64 letters, digits, _ . or -`);
}

export function deviceExists(id: string): HubError {
  return new HubError('conflict', `device ${id} is registered already; to give it a new token, use tether hub add-device --rotate`);
}

export function checkTokenName(name: string): void {
  if (!API_TOKEN_NAME.test(name)) throw new HubError('bad_request', `token name ${JSON.stringify(name)}: use 1–64 letters, digits, _ . or -, e.g. kitchen-tablet`);
  if (name === ADMIN_TOKEN_NAME) throw new HubError('conflict', `${ADMIN_TOKEN_NAME} is the name of the admin token in <data>/api-token; pick another name`);
}

export function tokenExists(name: string): HubError {
  return new HubError('conflict', `a token named ${JSON.stringify(name)} exists; revoke it first, or pick another name`);
}

export function ruleExists(name: string): HubError {
  return new HubError('conflict', `a rule named ${JSON.stringify(name)} exists; replace it, or pick another name`);
}

/** The downsampling bucket of a readings query: 0 for raw points. */
export function bucketOf(bucketMs: number | undefined): number {
  const bucket = bucketMs ?? 0;
  if (!Number.isInteger(bucket) || bucket < 0) throw new HubError('bad_request', `bucketMs: expected a whole number of ms ≥ 0, got ${bucket}`);
  return bucket;
}

/**
 * The state a save stores: the fields given over the current ones. Commits advance rxCommitted
 * while a link may hold a copy of the state read earlier; saving that copy must not take the
 * commits back, or after a hub crash the board's resent messages would be stored twice. Within
 * one boot the board's stream only moves forward, so rxCommitted never goes back unless the
 * boot changes too (a new boot starts at 0).
 */
export function mergeLinkState(current: LinkState, change: Partial<LinkState>): LinkState {
  const given = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as Partial<LinkState>;
  const next = { ...current, ...given };
  if (next.bootId === current.bootId && seqDelta(current.rxCommitted, next.rxCommitted) < 0) next.rxCommitted = current.rxCommitted;
  return next;
}

/**
 * A cumulative acknowledgement over the outbox, oldest first: how many of the oldest entries it
 * covers (their seq is at or before `ack`). Numbers wrap at 2^32, so "before" is serial
 * arithmetic, which SQL cannot do on the raw column; the outbox is one window long.
 */
export function ackedCount(seqs: readonly number[], ack: number): number {
  let count = 0;
  for (const seq of seqs) {
    if (seqDelta(seq, ack) < 0) break;
    count++;
  }
  return count;
}
