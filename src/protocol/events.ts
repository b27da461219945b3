// Events a board sends without being asked (protocol.md §7). Each carries `event`, the
// connection's sequence number `seq`, and the board's uptime in ms `ts`.

export type EventName = 'edge' | 'reading' | 'lease_expired' | 'sensor_error' | 'sensor_state' | 'events_dropped';

export interface BoardEvent {
  event: EventName;
  [field: string]: unknown;
}

/**
 * The largest uptime a board may report, in ms (2^42 ms, about 139 years): an event's `ts` or a
 * hello's `uptime_ms` beyond it (or negative, or not a number) cannot be a board's clock, and a
 * hub that mapped it onto its own would store a time no column holds.
 */
export const MAX_UPTIME_MS = 2 ** 42;

/** Whether a value is an uptime a board can report (see MAX_UPTIME_MS). */
export function isUptime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_UPTIME_MS;
}

/**
 * Events a board may drop, counting them, for a client that does not keep up (protocol.md §7,
 * §10.4); lease expiries and replies are never dropped.
 */
export function isDroppableEvent(name: string): boolean {
  return name === 'edge' || name === 'reading' || name === 'sensor_error';
}
