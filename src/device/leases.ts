// Actuator leases (protocol.md §4): the board, not the client, ends every write.
import type { Clock, Timer } from '../common/clock.js';

export interface Lease {
  readonly pin: number;
  /** The value the lease holds the pin at. */
  readonly value: number;
  /** Clock time (ms) at which the lease ends. */
  readonly deadline: number;
}

interface Held extends Lease {
  readonly timer: Timer;
}

export class LeaseTable {
  private readonly held = new Map<number, Held>();

  constructor(
    private readonly clock: Clock,
    private readonly onExpire: (lease: Lease) => void,
  ) {}

  /** Replaces any lease on the pin: the old timer is cancelled and the new deadline set. */
  grant(pin: number, value: number, durationMs: number): Lease {
    this.end(pin);
    const deadline = this.clock.now() + durationMs;
    const timer = this.clock.setTimer(durationMs, () => {
      const current = this.held.get(pin);
      if (current?.timer !== timer) return;
      this.held.delete(pin);
      this.onExpire({ pin, value, deadline });
    });
    const lease: Held = { pin, value, deadline, timer };
    this.held.set(pin, lease);
    return lease;
  }

  /** Ends the pin's lease without reporting it as expired. */
  end(pin: number): boolean {
    const lease = this.held.get(pin);
    if (lease === undefined) return false;
    this.clock.clearTimer(lease.timer);
    this.held.delete(pin);
    return true;
  }

  get(pin: number): Lease | undefined {
    return this.held.get(pin);
  }

  /** Seconds left, rounded to milliseconds. */
  secondsLeft(lease: Lease): number {
    return Math.max(0, Math.round(lease.deadline - this.clock.now())) / 1000;
  }

  all(): Lease[] {
    return [...this.held.values()].sort((a, b) => a.pin - b.pin);
  }

  clear(): void {
    for (const pin of [...this.held.keys()]) this.end(pin);
  }
}
