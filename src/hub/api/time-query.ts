// `from`/`to` query parameters: milliseconds since the epoch or an ISO-8601 time. A date-time
// must carry its zone: the hub (often a Pi on UTC) and the caller rarely share a local time, and
// guessing would shift a chart by hours without anyone noticing.
import { HubError } from '../errors.js';
import type { JsonSchema } from './route-spec.js';

export const HOUR_MS = 3_600_000;

export function instantSchema(what: string): JsonSchema {
  return {
    type: 'string',
    description: `${what}: milliseconds since the epoch, or ISO-8601 (a date, or a date-time with Z or an offset).`,
    examples: ['1714564800000', '2024-05-01T12:00:00Z'],
  };
}

const MILLIS = /^\d{1,15}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

export function parseInstant(field: string, text: string): number {
  if (MILLIS.test(text)) return Number(text);
  const m = ISO.exec(text);
  if (m !== null && m[4] !== undefined && m[7] === undefined) {
    throw new HubError('bad_request', `${field}: ${JSON.stringify(text)} has no time zone; add Z or an offset such as +02:00`);
  }
  const ms = m === null ? NaN : Date.parse(text);
  // Date.parse rolls 2024-02-30 over to March 1st; a date that is not on the calendar is a typo.
  if (!Number.isFinite(ms) || m === null || !onCalendar(Number(m[1]), Number(m[2]), Number(m[3]))) {
    throw new HubError(
      'bad_request',
      `${field}: expected milliseconds since the epoch or an ISO-8601 time such as 2024-05-01T12:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

function onCalendar(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export interface TimeRange {
  from: number;
  to: number;
}

export interface TimeQuery {
  from?: string;
  to?: string;
}

/** The range a query names, either end possibly open. */
export function optionalRange(query: TimeQuery): Partial<TimeRange> {
  const from = query.from === undefined ? undefined : parseInstant('from', query.from);
  const to = query.to === undefined ? undefined : parseInstant('to', query.to);
  if (from !== undefined && to !== undefined) checkOrder(from, to);
  return { from, to };
}

/** The range a query names; `to` defaults to now and `from` to `spanMs` before `to`. */
export function rangeEndingNow(query: TimeQuery, now: number, spanMs: number): TimeRange {
  const named = optionalRange(query);
  const to = named.to ?? now;
  const from = named.from ?? to - spanMs;
  checkOrder(from, to);
  return { from, to };
}

function checkOrder(from: number, to: number): void {
  if (from >= to) throw new HubError('bad_request', `from: must be before to (${from} >= ${to})`);
}
