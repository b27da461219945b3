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

export class Backoff {
  private ceiling: number;

  constructor(private readonly options: BackoffOptions = { ...DEFAULT_BACKOFF, random: Math.random }) {
    this.ceiling = options.initialMs;
  }

  /** The wait before the next attempt: random in [0, ceiling); the ceiling then doubles. */
  next(): number {
    const wait = Math.floor(this.options.random() * this.ceiling);
    this.ceiling = Math.min(this.options.maxMs, this.ceiling * 2);
    return wait;
  }

  /** A wait within the first ceiling, leaving the ceiling as it is (after an attempt that timed out). */
  first(): number {
    return Math.floor(this.options.random() * this.options.initialMs);
  }

  /** After a welcome: the next outage starts from the first ceiling again. */
  reset(): void {
    this.ceiling = this.options.initialMs;
  }
}
