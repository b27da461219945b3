// Events a board sends without being asked (protocol.md §7). Each carries `event`, the
// connection's sequence number `seq`, and the board's uptime in ms `ts`.

export type EventName = 'edge' | 'reading' | 'lease_expired' | 'sensor_error' | 'events_dropped';

export interface BoardEvent {
  event: EventName;
  [field: string]: unknown;
}

/**
 * Events a board may drop, counting them, for a client that does not keep up (protocol.md §7,
 * §10.4); lease expiries and replies are never dropped.
 */
export function isDroppableEvent(name: string): boolean {
  return name === 'edge' || name === 'reading' || name === 'sensor_error';
}
