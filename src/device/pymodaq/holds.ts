// PyMoDAQ's writes as leases the board renews while PyMoDAQ keeps talking (docs/pymodaq.md,
// "Leases for PyMoDAQ"). PyMoDAQ knows nothing of leases, so a PI becomes a lease of hold_s and
// every request on the PyMoDAQ port sends the same write again, through the dispatcher like any
// client's, before that lease can run out. Silence lets the board's own lease end it.
//
// Every lease runs hold_s from when the request that set or renewed it arrived, not from when
// it was served: a request that waited behind others (or a board's light sleep) must not stretch
// PyMoDAQ's silence; a board in light sleep is waited out before the time left is counted.
// Writes and renewals run one at a time, so a renewal never lands between
// PyMoDAQ's newer write and its bookkeeping; each renewal checks the pin and writes in the same
// turn, so no other client's write can slip between the check and the write.
import type { Clock } from '../../common/clock.js';
import { errorReply, type JsonObject } from '../../protocol/codec.js';
import type { BoardEvent } from '../../protocol/events.js';
import type { BoardState, LeaseState, OutputPinState, PwmPinState } from '../../protocol/replies.js';
import type { Logger } from '../logger.js';

/** The board's dispatcher: the write happens when it is called; the reply may come later (light sleep). */
export type Dispatch = (request: JsonObject) => JsonObject | Promise<JsonObject>;

export interface PymodaqHoldsOptions {
  dispatch: Dispatch;
  /** The board's state now, read in the same turn as the write that follows. */
  state: () => BoardState;
  /** Clock time the board wakes from a light sleep; 0 when awake. The dispatcher holds every request until then. */
  wakeAt: () => number;
  clock: Clock;
  logger: Logger;
  holdS: number;
}

interface Hold {
  /** The write to send again, without its timeout: a pwm or write_pin. */
  readonly write: JsonObject;
  readonly name: string;
  /** What the board's lease holds the pin at (a duty, or a level). */
  readonly value: number;
  /** Clock time at which the board's lease ends if nothing renews it. */
  deadline: number;
  /** Arrival time of the request that set or last renewed it. */
  renewedBy: number;
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
  private queue: Promise<unknown> = Promise.resolve();
  /** The latest arrival a queued renewal will renew for; undefined when none is queued. */
  private renewFor: number | undefined;

  constructor(private readonly o: PymodaqHoldsOptions) {
    this.holdMs = o.holdS * 1000;
    this.renewEveryMs = Math.min(1000, this.holdMs / 10);
  }

  /**
   * PyMoDAQ's write of a pin: with a lease of hold_s from `arrivedAt`, or without one for the
   * safe value, which lets the pin go. Resolves to the dispatcher's reply.
   */
  write(pin: number, name: string, write: JsonObject, value: number, safe: boolean, arrivedAt: number): Promise<JsonObject> {
    return this.serial(async () => {
      await this.awake();
      if (safe) {
        const reply = await this.o.dispatch(write);
        if (reply['ok'] === true) this.holds.delete(pin);
        return reply;
      }
      const timeoutMs = Math.round(arrivedAt + this.holdMs - this.o.clock.now());
      if (timeoutMs <= 0) {
        return errorReply(write, { code: 'limit_exceeded', message: `the request waited longer than pymodaq.hold_s (${this.o.holdS} s) behind others; send it again` });
      }
      const reply = await this.o.dispatch({ ...write, timeout: timeoutMs / 1000 });
      if (reply['ok'] === true) this.holds.set(pin, { write, name, value, deadline: this.o.clock.now() + timeoutMs, renewedBy: arrivedAt });
      return reply;
    });
  }

  /** PyMoDAQ spoke (a request that arrived at `arrivedAt`): renews, in turn, each lease it holds that is due. */
  touch(arrivedAt: number): Promise<void> {
    if (this.holds.size === 0) return Promise.resolve();
    // One queued renewal is enough, for the latest request.
    if (this.renewFor !== undefined) {
      this.renewFor = Math.max(this.renewFor, arrivedAt);
      return Promise.resolve();
    }
    this.renewFor = arrivedAt;
    return this.serial(async () => {
      const at = this.renewFor ?? arrivedAt;
      this.renewFor = undefined;
      await this.renew(at);
    });
  }

  /** Says why an output went back to safe when it was PyMoDAQ's lease that ended. */
  noteEvent(event: BoardEvent): void {
    const pin = event['pin'] as number;
    const hold = event.event === 'lease_expired' ? this.holds.get(pin) : undefined;
    if (hold === undefined) return;
    this.holds.delete(pin);
    // Another writer's lease on a pin PyMoDAQ had held is not PyMoDAQ's silence.
    if (event['held'] !== hold.value || Math.abs(hold.deadline - this.o.clock.now()) > SAME_LEASE_MS) return;
    this.o.logger.info(`PyMoDAQ has been silent for ${this.o.holdS} s: ${hold.name} (pin ${pin}) went back to its safe value`);
  }

  /** The board reset or stops: its leases are gone, and with them PyMoDAQ's holds. (Once it has stopped, its dispatcher refuses every write.) */
  clear(): void {
    this.holds.clear();
  }

  private async renew(at: number): Promise<void> {
    for (const [pin, hold] of [...this.holds]) {
      await this.awake();
      if (this.holds.get(pin) !== hold || at - hold.renewedBy < this.renewEveryMs) continue;
      const now = this.o.clock.now();
      const timeoutMs = Math.round(at + this.holdMs - now);
      // The request that would renew it came hold_s ago (it waited): the lease ends as it would have.
      if (timeoutMs <= hold.deadline - now) continue;
      if (!this.stillOurs(pin, hold, now)) {
        // Expired, reset, or written by a v1 client, a hub rule or Home Assistant: theirs now.
        this.o.logger.debug(`PyMoDAQ no longer holds ${hold.name} (pin ${pin}): its lease ended or another client wrote it`);
        this.holds.delete(pin);
        continue;
      }
      // Called in the same turn as the check above: nothing can write the pin between them.
      const reply = await this.o.dispatch({ ...hold.write, timeout: timeoutMs / 1000 });
      if (reply['ok'] === true) {
        hold.deadline = now + timeoutMs;
        hold.renewedBy = at;
      } else {
        this.holds.delete(pin);
        this.o.logger.warn(`PyMoDAQ's hold on ${hold.name} (pin ${pin}) could not be renewed: ${JSON.stringify(reply['error'])}`);
      }
    }
  }

  /** Whether the lease on the pin is still the one PyMoDAQ's last write or renewal took. */
  private stillOurs(pin: number, hold: Hold, now: number): boolean {
    const output = this.o.state().pins.find((p): p is OutputPinState | PwmPinState => p.pin === pin && p.mode !== 'input');
    const lease: LeaseState | null = output?.lease ?? null;
    return lease !== null && lease.value === hold.value && Math.abs(lease.expiresInS * 1000 - (hold.deadline - now)) <= SAME_LEASE_MS;
  }

  /**
   * Waits out the board's light sleep, so that a lease's time is counted when the write lands,
   * not when it was queued (the dispatcher would hold it until then).
   */
  private async awake(): Promise<void> {
    for (let wake = this.o.wakeAt(); wake > this.o.clock.now(); wake = this.o.wakeAt()) await this.o.clock.sleep(wake - this.o.clock.now());
  }

  /** Runs fn after everything queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
