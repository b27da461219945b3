// Reconnect waits (protocol.md §10.3): exponential backoff with full jitter, so a hub that
// comes back is not hit by every board at the same instant.

export interface BackoffOptions {
  /** First ceiling, in ms. */
  initialMs: number;
  /** Highest ceiling, in ms. */
  maxMs: number;
  /** A number in [0, 1); injected so tests can be repeatable. */
  random: () => number;
}

export const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 30_000 } as const;

/**
 * Attempts that time out in a row and are retried at once. A hello swallowed by a WiFi glitch
 * deserves a quick retry; a hub that is black-holed for good must not be dialled every 0.85 s
 * forever, so from the fourth timeout on, a timeout counts as a failed attempt.
 */
export const QUICK_TIMEOUTS = 3;

export class Backoff {
  private ceiling: number;
  private timeouts = 0;

  constructor(private readonly options: BackoffOptions = { ...DEFAULT_BACKOFF, random: Math.random }) {
    this.ceiling = options.initialMs;
  }

  /** The wait before the next attempt: random in [0, ceiling); the ceiling then doubles. */
  next(): number {
    this.timeouts = 0;
    return this.raise();
  }

  /**
   * The wait after an attempt that timed out: within the first ceiling, leaving the ceiling as it
   * is, for the first QUICK_TIMEOUTS in a row; after that, as after any failed attempt.
   */
  timedOut(): number {
    if (this.timeouts >= QUICK_TIMEOUTS) return this.raise();
    this.timeouts += 1;
    return Math.floor(this.options.random() * this.options.initialMs);
  }

  private raise(): number {
    const wait = Math.floor(this.options.random() * this.ceiling);
    this.ceiling = Math.min(this.options.maxMs, this.ceiling * 2);
    return wait;
  }

  /** After a welcome: the next outage starts from the first ceiling again. */
  reset(): void {
    this.ceiling = this.options.initialMs;
    this.timeouts = 0;
  }
}
