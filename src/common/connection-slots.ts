// Bounded room for connections, where a newcomer may push out the oldest connection that has not
// proven anything yet: idle strangers can fill a board or a hub, but never lock out the next
// client (protocol.md §1 fairness, §10.8). The board's listener and the hub's link port each
// say what "not proven" means; this only keeps the order and the bounds.

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
