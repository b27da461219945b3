// One log line a period per key, however often the thing happens: a flood of refused or evicted
// connections must not become a flood of log lines (protocol.md §1 fairness, §10.8).
import type { Clock, Timer } from './clock.js';

/** Writes one line: `count` occurrences under `key` since the last line, `last` the latest one's detail. */
export type TallyLine = (key: string, count: number, last: string) => void;

export interface LogTallyOptions {
  /** Default one minute. */
  periodMs?: number;
  /** Keys tracked at once; beyond, new keys are counted under OTHER_KEYS. */
  maxKeys?: number;
}

/** Where occurrences under keys beyond `maxKeys` are counted. */
export const OTHER_KEYS = '(other addresses)';

interface Tally {
  /** When this key may have its next line. */
  due: number;
  count: number;
  last: string;
}

/**
 * The first occurrence under a key is written at once (count 1); later ones are counted and
 * written together when the key's period ends, so each key has at most one line a period.
 */
export class LogTally {
  private readonly tallies = new Map<string, Tally>();
  private readonly periodMs: number;
  private readonly maxKeys: number;
  private timer: Timer | undefined;
  private timerDue = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly line: TallyLine,
    options: LogTallyOptions = {},
  ) {
    this.periodMs = options.periodMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 1024;
  }

  note(key: string, detail: string): void {
    if (!this.tallies.has(key) && this.tallies.size >= this.maxKeys) key = OTHER_KEYS;
    const tally = this.tallies.get(key);
    if (tally !== undefined) {
      tally.count++;
      tally.last = detail;
      return;
    }
    const due = this.clock.now() + this.periodMs;
    this.tallies.set(key, { due, count: 0, last: detail });
    this.line(key, 1, detail);
    this.arm(due);
  }

  /** Stops the timer; counts not yet written are dropped. */
  close(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.tallies.clear();
  }

  private arm(due: number): void {
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerDue = due;
    this.timer = this.clock.setTimer(Math.max(0, due - this.clock.now()), () => this.flush());
  }

  private flush(): void {
    this.timer = undefined;
    const now = this.clock.now();
    let next = Infinity;
    for (const [key, tally] of this.tallies) {
      if (tally.due > now) {
        next = Math.min(next, tally.due);
      } else if (tally.count === 0) {
        // A quiet period: the next occurrence is news again and is written at once.
        this.tallies.delete(key);
      } else {
        this.line(key, tally.count, tally.last);
        tally.count = 0;
        tally.due = now + this.periodMs;
        next = Math.min(next, tally.due);
      }
    }
    if (next !== Infinity) this.arm(next);
  }
}
