// Time as the board (and later the hub) sees it. Leases, sensor waits, keepalives and
// subscriptions all go through a Clock so that tests drive them with ManualClock.

export interface Timer {
  readonly id: number;
}

export interface Clock {
  /** Monotonic milliseconds since the board started. */
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  clearTimer(timer: Timer): void;
  sleep(ms: number): Promise<void>;
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  private readonly origin = performance.now();
  private readonly handles = new Map<number, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return performance.now() - this.origin;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const id = this.nextId++;
    const due = this.now() + Math.max(0, ms);
    // Node's timers count whole milliseconds on a coarser clock and can fire a fraction early;
    // a sensor's "wait 20 ms" must never be 19.6, so an early timer is re-armed for the rest.
    const arm = (delay: number) => {
      // setTimeout takes at most 2^31 - 1 ms (24.8 days); a longer lease waits in steps.
      delay = Math.min(delay, MAX_TIMEOUT_MS);
      this.handles.set(
        id,
        setTimeout(() => {
          const left = due - this.now();
          if (left > 0) {
            arm(Math.ceil(left));
            return;
          }
          this.handles.delete(id);
          fn();
        }, delay),
      );
    };
    arm(Math.max(0, ms));
    return { id };
  }

  clearTimer(timer: Timer): void {
    const handle = this.handles.get(timer.id);
    if (handle !== undefined) {
      clearTimeout(handle);
      this.handles.delete(timer.id);
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }
}

interface Pending {
  id: number;
  due: number;
  fn: () => void;
}

/** A clock that moves only when told to; timers fire in deadline order during advance(). */
export class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private pending: Pending[] = [];

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const id = this.nextId++;
    this.pending.push({ id, due: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimer(timer: Timer): void {
    this.pending = this.pending.filter((p) => p.id !== timer.id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.pending.length;
  }

  /**
   * Moves time forward by `ms`, firing each due timer at its own deadline. Awaits a macrotask
   * after each one so that promise chains it started (a sensor read, a socket write) settle.
   */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const next = this.earliestDue(target);
      if (next === undefined) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.time = next.due;
      next.fn();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.time = target;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private earliestDue(limit: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.due <= limit && (best === undefined || p.due < best.due || (p.due === best.due && p.id < best.id))) best = p;
    }
    return best;
  }
}
