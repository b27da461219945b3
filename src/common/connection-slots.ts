// Bounded room for connections, where a newcomer may push out the oldest connection that has not
// proven anything yet: idle strangers can fill a board or a hub, but never lock out the next
// client (protocol.md §1 fairness, §10.8). The board's listener and the hub's link port each
// say what "not proven" means; this only keeps the order and the bounds.
import type { Clock, Timer } from './clock.js';

export interface Slot {
  /** Whether this connection may be closed to make room for a newcomer. */
  readonly evictable: boolean;
  /** Its group for the per-key bound (the hub: the peer's address). */
  readonly key: string;
}

export interface SlotLimits {
  total: number;
  /** At most this many slots per key; default no bound but `total`. */
  perKey?: number;
}

/** What `admit` decided: taken (after closing `evicted`, the oldest that could give way), or refused. */
export type Admission<T> = { admitted: true; evicted: T | undefined } | { admitted: false };

export class ConnectionSlots<T extends Slot> {
  /** Every slot, oldest first (a Set keeps insertion order). */
  private readonly all = new Set<T>();
  private readonly byKey = new Map<string, Set<T>>();

  constructor(private readonly limits: SlotLimits) {}

  get size(): number {
    return this.all.size;
  }

  /** Slots held under `key`. */
  countOf(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  /**
   * Takes `slot` if there is room, or if the oldest evictable slot (of its key when the key is
   * full, else of all) gives way: that one is removed here and returned for the caller to close.
   * Nothing changes when the newcomer is refused.
   */
  admit(slot: T): Admission<T> {
    let evicted: T | undefined;
    const mine = this.byKey.get(slot.key);
    if (this.limits.perKey !== undefined && mine !== undefined && mine.size >= this.limits.perKey) {
      evicted = oldestEvictable(mine);
      if (evicted === undefined) return { admitted: false };
    } else if (this.all.size >= this.limits.total) {
      evicted = oldestEvictable(this.all);
      if (evicted === undefined) return { admitted: false };
    }
    if (evicted !== undefined) this.release(evicted);
    this.all.add(slot);
    const group = this.byKey.get(slot.key);
    if (group === undefined) this.byKey.set(slot.key, new Set([slot]));
    else group.add(slot);
    return { admitted: true, evicted };
  }

  /** Frees the slot (closed, or through its handshake); true if it was held. */
  release(slot: T): boolean {
    if (!this.all.delete(slot)) return false;
    const group = this.byKey.get(slot.key);
    group?.delete(slot);
    if (group?.size === 0) this.byKey.delete(slot.key);
    return true;
  }
}

function oldestEvictable<T extends Slot>(slots: Set<T>): T | undefined {
  for (const slot of slots) if (slot.evictable) return slot;
  return undefined;
}

/**
 * ConnectionSlots held by connection, each with a deadline: what both the board's listener and
 * the hub's link port need around the bounds (an entry per connection, its timer, the release
 * when it closes). The caller says what to do when a deadline passes and who may give way.
 */
export class TimedSlots<C> {
  private readonly slots: ConnectionSlots<TimedSlot<C>>;
  private readonly entries = new Map<C, TimedSlot<C>>();

  constructor(
    limits: SlotLimits,
    private readonly clock: Clock,
  ) {
    this.slots = new ConnectionSlots(limits);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Slots held under `key`. */
  countOf(key: string): number {
    return this.slots.countOf(key);
  }

  /**
   * Takes `conn` under `key` (see ConnectionSlots.admit); `evictable` is asked when room is
   * needed. `expired` runs `timeoutMs` later if the connection still holds its slot. An evicted
   * connection is released here and returned for the caller to close.
   */
  admit(conn: C, key: string, evictable: () => boolean, timeoutMs: number, expired: (conn: C) => void): Admission<C> {
    const slot: TimedSlot<C> = {
      key,
      conn,
      timer: undefined,
      get evictable() {
        return evictable();
      },
    };
    const result = this.slots.admit(slot);
    if (!result.admitted) return result;
    if (result.evicted !== undefined) this.release(result.evicted.conn);
    this.entries.set(conn, slot);
    slot.timer = this.clock.setTimer(timeoutMs, () => {
      slot.timer = undefined;
      if (this.entries.get(conn) === slot) expired(conn);
    });
    return { admitted: true, evicted: result.evicted?.conn };
  }

  /** The connection closed or got through; true if it held a slot. */
  release(conn: C): boolean {
    const slot = this.entries.get(conn);
    if (slot === undefined) return false;
    this.entries.delete(conn);
    if (slot.timer !== undefined) this.clock.clearTimer(slot.timer);
    this.slots.release(slot);
    return true;
  }

  close(): void {
    for (const slot of this.entries.values()) if (slot.timer !== undefined) this.clock.clearTimer(slot.timer);
    this.entries.clear();
  }
}

interface TimedSlot<C> extends Slot {
  readonly conn: C;
  timer: Timer | undefined;
}
