// One output a rule drives: every write is a lease (protocol.md §4), at most one command in
// flight (later wishes wait, and only the latest is kept), renewals rate-limited to one per
// renewal period (a third of the lease unless the owner says) so that it is renewed twice before it could lapse.
import type { Clock, Timer } from '../../common/clock.js';
import type { JsonObject } from '../../protocol/codec.js';
import type { CommandSender } from '../types.js';
import { isObject } from '../../protocol/json.js';
import type { BoardPins } from './board-pins.js';

export interface OutputTarget {
  device: string;
  pin: number;
  /** A duty cycle (pwm, protocol.md §5.9) rather than a level (write_pin, §5.8). */
  pwm: boolean;
  /** For pwm; otherwise the pin's current frequency from the board's state. */
  freq?: number;
  leaseS: number;
  /** How often keepRenewing renews, in seconds; default a third of the lease, so two renewals can fail before it lapses. */
  renewS?: number;
}

export interface OutputDeps {
  sender: CommandSender;
  clock: Clock;
  pins: BoardPins;
  /** Told after each command: null when the board took it, else what went wrong. */
  settled: (error: string | null) => void;
}

export class LeasedOutput {
  private sentValue: number | undefined;
  private sentAt = -Infinity;
  private inFlight = false;
  private queued: number | undefined;
  /** The waiting value is a renewal, not a wish of its own: letGo drops it. */
  private queuedRenewal = false;
  private renewTimer: Timer | undefined;
  private renewing: number | undefined;
  private closed = false;

  constructor(
    readonly target: OutputTarget,
    private readonly deps: OutputDeps,
  ) {}

  private get renewMs(): number {
    return (this.target.renewS ?? this.target.leaseS / 3) * 1000;
  }

  /** The value a command under way (or waiting) will set; undefined when none is. */
  pending(): number | undefined {
    return this.queued ?? (this.inFlight ? this.sentValue : undefined);
  }

  /** Sends `value` now, or after the command in flight. */
  write(value: number): void {
    this.enqueue(value, false);
  }

  private enqueue(value: number, renewal: boolean): void {
    if (this.closed) return;
    if (!this.inFlight) return this.send(value);
    this.queued = value;
    this.queuedRenewal = renewal;
  }

  /** Sends `value` unless the same value went out less than lease_s / 3 ago. */
  renew(value: number): void {
    const fresh = this.queued === undefined && this.sentValue === value && this.deps.clock.now() - this.sentAt < this.renewMs;
    if (!fresh) this.enqueue(value, this.queued === undefined || this.queuedRenewal);
  }

  /** Renews `value` every lease_s / 3 until stopRenewing, release or close, or until the board says it is the safe value. */
  keepRenewing(value: number): void {
    this.stopRenewing();
    if (this.closed || this.isSafe(value)) return;
    this.renewing = value;
    this.renewTimer = this.deps.clock.setTimer(this.renewMs, () => {
      this.renewTimer = undefined;
      this.renewing = undefined;
      if (this.isSafe(value)) return;
      this.renew(value);
      this.keepRenewing(value);
    });
  }

  stopRenewing(): void {
    if (this.renewTimer !== undefined) this.deps.clock.clearTimer(this.renewTimer);
    this.renewTimer = undefined;
    this.renewing = undefined;
  }

  /**
   * Stops holding the pin without writing anything: no more renewals, and a renewal waiting
   * behind a write still under way (a link that went silent) is dropped, or it would go out as a
   * fresh write once that one fails and switch the pin on again. A wish of its own still goes.
   */
  letGo(): void {
    this.stopRenewing();
    if (this.queuedRenewal) this.queued = undefined;
    this.queuedRenewal = false;
  }

  /** The value keepRenewing holds the pin at; undefined when it holds none. */
  holding(): number | undefined {
    return this.renewing;
  }

  /**
   * Stops holding the output. The hub never guesses a safe value (protocol.md §4 rule 4): when the
   * board has told it the pin's safe value (state, a lease in a reply, lease_expired) it writes
   * that value, which ends the lease at once (§4 rule 1); otherwise the lease lapses on the board.
   */
  release(): void {
    this.stopRenewing();
    this.queued = undefined;
    this.queuedRenewal = false;
    const safe = this.deps.pins.safeValue(this.target.device, this.target.pin);
    if (safe !== undefined && this.sentValue !== undefined && this.sentValue !== safe) this.write(safe);
  }

  /** The safe value holds no lease, so there is nothing to renew (protocol.md §4 rule 1). */
  private isSafe(value: number): boolean {
    return this.deps.pins.safeValue(this.target.device, this.target.pin) === value;
  }

  close(): void {
    this.stopRenewing();
    this.closed = true;
    this.queued = undefined;
    this.queuedRenewal = false;
  }

  private send(value: number): void {
    const { device, pin } = this.target;
    this.inFlight = true;
    this.sentValue = value;
    this.sentAt = this.deps.clock.now();
    let reply: Promise<JsonObject>;
    try {
      // Late, a write would switch the pin on after its lease ended: it must land before the next
      // renewal is due. The safe value holds no lease (§4 rule 1), so a late one does no harm.
      const options = this.isSafe(value) ? {} : { deliverWithinMs: this.renewMs };
      reply = this.deps.sender.command(device, this.request(value), options);
    } catch (err) {
      reply = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    void reply
      .then(
        (r) => {
          const refused = describeError(r.error);
          if (refused === null) this.deps.pins.noteWrite(device, pin, value, r);
          this.deps.settled(refused);
        },
        (err: unknown) => this.deps.settled(describeError(err) ?? 'the command failed'),
      )
      .finally(() => {
        this.inFlight = false;
        const next = this.queued;
        this.queued = undefined;
        this.queuedRenewal = false;
        if (next !== undefined && !this.closed) this.send(next);
      });
  }

  /** protocol.md §5.8 write_pin / §5.9 pwm, always with the lease as `timeout` (ignored for the safe value, §4 rule 1). */
  private request(value: number): JsonObject {
    const { device, pin, pwm, leaseS } = this.target;
    if (!pwm) return { action: 'write_pin', pin, value, timeout: leaseS };
    const freq = this.target.freq ?? this.deps.pins.freq(device, pin);
    if (freq === undefined) throw new Error(`no PWM frequency is known for pin ${pin} of ${device}; give then.freq`);
    return { action: 'pwm', pin, freq, duty: value, timeout: leaseS };
  }
}

/** "code: message" for a reply's `error` or a HubError; null when there is no error. */
function describeError(error: unknown): string | null {
  if (error === undefined || error === null) return null;
  if (isObject(error) && typeof error.code === 'string') return `${error.code}: ${typeof error.message === 'string' ? error.message : ''}`;
  if (error instanceof Error) return error.message;
  return JSON.stringify(error);
}
