// How many rows a query may return: a default when the caller names none, and a ceiling so that
// one request cannot make the hub build a response of any size.
import { HubError } from '../errors.js';

export function rowLimit(given: number | undefined, defaults: { default: number; max: number }): number {
  if (given === undefined) return defaults.default;
  if (!Number.isInteger(given) || given < 1) throw new HubError('bad_request', `limit: expected a whole number ≥ 1, got ${given}`);
  return Math.min(given, defaults.max);
}

export function checkTime(field: string, value: number | undefined): void {
  if (value !== undefined && !Number.isFinite(value)) throw new HubError('bad_request', `${field}: expected wall-clock milliseconds, got ${value}`);
}

/** Rows a prune deletes in one step (a statement or transaction): short enough that other writers never wait long. */
export const PRUNE_CHUNK_ROWS = 5_000;

/** Readings per query: a reader that pages reads until a page is shorter than READINGS_PAGE_MAX. */
export const READING_ROWS = { default: 10_000, max: 100_000 };
export const READINGS_PAGE_MAX = READING_ROWS.max;

/** Events per query: a reader that pages reads until a page is shorter than EVENTS_PAGE_MAX. */
export const EVENT_ROWS = { default: 100, max: 1_000 };
export const EVENTS_PAGE_MAX = EVENT_ROWS.max;
