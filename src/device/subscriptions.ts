// The subscriptions one client holds (a connection, or the hub's link): ids, their stop
// functions, and the per-client limit (protocol.md §5.14).
import { ProtocolError } from '../protocol/errors.js';

export const MAX_SUBSCRIPTIONS = 32;

export class Subscriptions {
  private readonly stops = new Map<number, () => void>();
  private nextId = 1;

  constructor(private readonly limit: number = MAX_SUBSCRIPTIONS) {}

  /** Starts a subscription under the next id, unless the client already holds the most it may. */
  add(start: (id: number) => () => void): number {
    if (this.stops.size >= this.limit) {
      throw new ProtocolError('limit_exceeded', `this connection already holds ${this.stops.size} subscriptions, the most it may; unsubscribe one first`);
    }
    const id = this.nextId;
    this.stops.set(id, start(id));
    this.nextId++;
    return id;
  }

  remove(id: number): boolean {
    const stop = this.stops.get(id);
    if (stop === undefined) return false;
    stop();
    this.stops.delete(id);
    return true;
  }

  clear(): void {
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
  }
}
