// PyMoDAQ's writes as leases the board renews while PyMoDAQ keeps talking (docs/pymodaq.md,
// "Leases for PyMoDAQ"). PyMoDAQ knows nothing of leases, so a PI becomes a lease of hold_s and
// every request on the PyMoDAQ port sends the same write again, through the dispatcher like any
// client's, before that lease can run out. Silence lets the board's own lease end it.
import type { Clock } from '../../common/clock.js';
import type { JsonObject } from '../../protocol/codec.js';
import type { BoardEvent } from '../../protocol/events.js';
import { parseBoardState, type OutputPinState, type PwmPinState } from '../../protocol/replies.js';
import type { Logger } from '../logger.js';

export type Dispatch = (request: JsonObject) => Promise<JsonObject>;

interface Hold {
  /** The write to send again: a pwm or write_pin with timeout hold_s. */
  readonly write: JsonObject;
  readonly name: string;
  /** What the board's lease holds the pin at (a duty, or a level). */
  readonly value: number;
  /** Clock time at which the board's lease ends if nothing renews it. */
  deadline: number;
}

/**
 * The board rounds a lease's time left to the millisecond; more than this apart, the lease on
 * the pin is not the one PyMoDAQ's last write took.
 */
const SAME_LEASE_MS = 50;

export class PymodaqHolds {
  private readonly holds = new Map<number, Hold>();
  private readonly holdMs: number;
  /** Renewing on every request would write the pins hundreds of times a second under a busy viewer. */
  private readonly renewEveryMs: number;
  private renewing = false;

  constructor(
    private readonly o: { dispatch: Dispatch; clock: Clock; logger: Logger; holdS: number },
  ) {
    this.holdMs = o.holdS * 1000;
    this.renewEveryMs = Math.min(1000, this.holdMs / 10);
  }

  /** A write that took a lease of hold_s on the pin: from now on PyMoDAQ's requests renew it. */
  hold(pin: number, name: string, write: JsonObject, value: number): void {
    this.holds.set(pin, { write, name, value, deadline: this.o.clock.now() + this.holdMs });
  }

  /** A write of the safe value: the board ended the lease, nothing is left to renew. */
  release(pin: number): void {
    this.holds.delete(pin);
  }

  clear(): void {
    this.holds.clear();
  }

  /** Says why an output went back to safe when it was PyMoDAQ's; the board has sent lease_expired. */
  noteEvent(event: BoardEvent): void {
    const pin = event['pin'] as number;
    const hold = event.event === 'lease_expired' ? this.holds.get(pin) : undefined;
    if (hold === undefined) return;
    this.holds.delete(pin);
    this.o.logger.info(`PyMoDAQ has been silent for ${this.o.holdS} s: ${hold.name} (pin ${pin}) went back to its safe value`);
  }

  /** PyMoDAQ spoke: renews each lease it holds that is due, unless another writer has taken the pin. */
  async touch(): Promise<void> {
    if (this.renewing || this.holds.size === 0) return;
    const now = this.o.clock.now();
    const due = [...this.holds].filter(([, h]) => now - (h.deadline - this.holdMs) >= this.renewEveryMs);
    if (due.length === 0) return;
    this.renewing = true;
    try {
      const state = parseBoardState(await this.o.dispatch({ action: 'get_state' }));
      for (const [pin, hold] of due) {
        if (this.holds.get(pin) !== hold) continue;
        const output = state.pins.find((p): p is OutputPinState | PwmPinState => p.pin === pin && p.mode !== 'input');
        const current = output?.lease ?? null;
        const left = hold.deadline - this.o.clock.now();
        if (current === null || current.value !== hold.value || Math.abs(current.expiresInS * 1000 - left) > SAME_LEASE_MS) {
          // Expired, reset, or written by a v1 client, a hub rule or Home Assistant: theirs now.
          this.o.logger.debug(`PyMoDAQ no longer holds ${hold.name} (pin ${pin}): its lease ended or another client wrote it`);
          this.holds.delete(pin);
          continue;
        }
        const reply = await this.o.dispatch(hold.write);
        if (reply['ok'] === true) hold.deadline = this.o.clock.now() + this.holdMs;
        else {
          this.holds.delete(pin);
          this.o.logger.warn(`PyMoDAQ's hold on ${hold.name} (pin ${pin}) could not be renewed: ${JSON.stringify(reply['error'])}`);
        }
      }
    } finally {
      this.renewing = false;
    }
  }
}
