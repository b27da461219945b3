// How a board slows down token guessing (protocol.md §8): each connection waits longer after
// every wrong token or proof, the board as a whole answers only so many wrong ones a second
// whatever the number of connections, and the failures are logged at most once a minute.
import type { Clock, Timer } from '../common/clock.js';
import type { Logger } from './logger.js';

/** The numbers of protocol.md §8; the firmware keeps the same ones (firmware/tether/guesses.py). */
export const GUESS_LIMITS = {
  /** The wait before a connection's next guess after its first failure; it doubles per failure. */
  firstDelayMs: 100,
  maxDelayMs: 5000,
  /** Failures the board answers per second across all its connections… */
  boardPerSecond: 20,
  /** …after a burst of this many answered at once. */
  boardBurst: 5,
  logEveryMs: 60_000,
} as const;

/** Peers named in one log line; an attacker with a thousand addresses gets a count instead. */
const PEERS_SHOWN = 5;

export class GuessLimiter {
  /** Failures since the last accepted auth, per connection (its SessionContext). */
  private readonly failures = new WeakMap<object, number>();
  /** When the board-wide bucket is empty again (a virtual schedule: one failure per interval). */
  private bucketAt = 0;
  private logged = 0;
  private readonly peers = new Set<string>();
  private logTimer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** How long this connection's next guess waits before it is checked. */
  delayBefore(conn: object): number {
    const n = this.failures.get(conn) ?? 0;
    return n === 0 ? 0 : Math.min(GUESS_LIMITS.firstDelayMs * 2 ** (n - 1), GUESS_LIMITS.maxDelayMs);
  }

  succeeded(conn: object): void {
    this.failures.delete(conn);
  }

  /** Counts a wrong guess; returns how long its reply waits for the board-wide bucket. */
  failed(conn: object, peer: string): number {
    this.failures.set(conn, (this.failures.get(conn) ?? 0) + 1);
    this.note(peer);
    const interval = 1000 / GUESS_LIMITS.boardPerSecond;
    const now = this.clock.now();
    this.bucketAt = Math.max(this.bucketAt, now) + interval;
    return Math.max(0, this.bucketAt - now - GUESS_LIMITS.boardBurst * interval);
  }

  /** Writes what is still counted and stops the log timer (the board is closing). */
  close(): void {
    if (this.logTimer === undefined) return;
    this.clock.clearTimer(this.logTimer);
    this.flush();
  }

  private note(peer: string): void {
    this.logged++;
    this.peers.add(peer);
    this.logTimer ??= this.clock.setTimer(GUESS_LIMITS.logEveryMs, () => this.flush());
  }

  private flush(): void {
    this.logTimer = undefined;
    if (this.logged === 0) return;
    const shown = [...this.peers].slice(0, PEERS_SHOWN).join(', ');
    const more = this.peers.size > PEERS_SHOWN ? ` and ${this.peers.size - PEERS_SHOWN} more` : '';
    this.logger.warn(
      `${this.logged} failed auth${this.logged === 1 ? '' : 's'} (wrong token or proof) in the last minute from ${shown}${more}; ` +
        'if these are not your own clients with an old token, someone is guessing tokens (the board slows them down, docs/protocol.md §8)',
    );
    this.logged = 0;
    this.peers.clear();
  }
}
