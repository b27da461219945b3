// What the store decides before it touches its tables, the same for every engine, that the
// shared ../checks.ts does not hold yet: the SQLite store makes these inline (sqlite/readings.ts,
// sqlite/link-state.ts, sqlite/outbox.ts). They belong in ../checks.ts beside the others.
import { seqDelta } from '../../../protocol/link/seq.js';
import { HubError } from '../../errors.js';
import type { LinkState } from '../port.js';

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
