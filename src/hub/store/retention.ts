// Retention (hub-config.md `retention`): readings and events older than `days` go, checked
// hourly; and when the database grows past `max_mb` the oldest readings, then the oldest events,
// go until it is under 90% of that, checked every minute and after large ingests. Deletes run a
// chunk per transaction with a turn of the event loop between chunks, so ingest and the API never
// wait long. The registry, link state and command outbox are never touched.
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../device/logger.js';
import { isStorageFull } from './storage-health.js';
import type { HubStore, PruneResult, StoreSize } from './port.js';

export interface RetentionPolicy {
  /** Readings and events older than this go; 0 keeps them whatever their age. */
  days: number;
  /** The database, WAL included, is kept under this; null for no bound. */
  maxBytes: number | null;
}

export interface RetentionDeps {
  clock: Clock;
  logger: Logger;
  /** Wall-clock ms: readings are stamped with it. */
  wallNow(): number;
}

/** Deleting for size goes down to this share of max_mb, so that it does not run again at once. */
export const SIZE_TARGET = 0.9;
const CHECK_EVERY_MS = 60_000;
const AGE_EVERY_MS = 3_600_000;
/** Rows committed since the last check that make one run now. */
const LARGE_INGEST_ROWS = 20_000;
/** Rows deleted between two turns of the event loop (one transaction, a few ms). */
const STEP_ROWS = 5_000;
const DAY_MS = 86_400_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export class Retention {
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private rowsSinceCheck = 0;
  private lastAgePass: number | undefined;
  private stopped = false;

  constructor(
    private readonly store: Pick<HubStore, 'prune' | 'pruneOldest' | 'size' | 'checkpoint'>,
    private readonly policy: RetentionPolicy,
    private readonly deps: RetentionDeps,
  ) {}

  /** Runs a pass now, then one a minute (the age part once an hour). */
  start(): void {
    const tick = () => {
      void this.run().then(() => {
        if (!this.stopped) this.timer = this.deps.clock.setTimer(CHECK_EVERY_MS, tick);
      });
    };
    tick();
  }

  /** Rows were committed: a large ingest checks the size without waiting for the minute. */
  ingested(rows: number): void {
    if (this.policy.maxBytes === null) return;
    this.rowsSinceCheck += rows;
    if (this.rowsSinceCheck >= LARGE_INGEST_ROWS) void this.run();
  }

  /** One pass; a pass already running is not started twice. Never rejects: failures are logged. */
  run(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clock.clearTimer(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    try {
      const now = this.deps.clock.now();
      if (this.policy.days > 0 && (this.lastAgePass === undefined || now - this.lastAgePass >= AGE_EVERY_MS)) {
        this.lastAgePass = now;
        await this.byAge(this.policy.days * DAY_MS);
      }
      if (this.policy.maxBytes !== null) {
        this.rowsSinceCheck = 0;
        await this.bySize(this.policy.maxBytes);
      }
    } catch (err) {
      // A full disk stops a pass like any write; the storage watch has said so already.
      if (isStorageFull(err)) this.deps.logger.debug(`retention: stopped: ${err.message}`);
      else this.deps.logger.error(`retention failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async byAge(retentionMs: number): Promise<void> {
    const removed = await this.inSteps(() => this.store.prune(this.deps.wallNow(), retentionMs, { maxRows: STEP_ROWS }), (r) => Promise.resolve(r.more));
    if (removed.readings + removed.events > 0) this.deps.logger.info(`retention: removed ${removed.readings} readings and ${removed.events} events older than ${this.policy.days} days`);
  }

  private async bySize(maxBytes: number): Promise<void> {
    const over = (size: StoreSize) => size.used + size.wal > maxBytes;
    if (!over(await this.store.size())) return;
    // The WAL may be most of the excess: written into the database, it is empty again.
    await this.store.checkpoint();
    const before = await this.store.size();
    if (!over(before)) return;
    // The goal is for the pages in use. A WAL that a reader in another process keeps from being
    // emptied must not cost every reading, hence the floor at half the bound.
    const goal = Math.max(SIZE_TARGET * maxBytes - before.wal, maxBytes / 2);
    // A step that frees no room ends the pass: PostgreSQL keeps the room of deleted rows for new
    // ones (only a dropped day gives it back), and deleting on would empty the store for nothing.
    let used = before.used;
    const removed = await this.inSteps(
      () => this.store.pruneOldest(STEP_ROWS),
      async (r) => {
        const now = (await this.store.size()).used;
        const freed = now < used;
        used = now;
        return r.readings + r.events > 0 && now > goal && freed;
      },
    );
    await this.store.checkpoint(); // the deletes went through the WAL
    const after = await this.store.size();
    const exhausted = removed.last.readings + removed.last.events === 0;
    const summary = `retention: the store took ${mb(before.used + before.wal)} MB, over retention.max_mb (${mb(maxBytes)} MB); removed the oldest ${removed.readings} readings and ${removed.events} events, it now takes ${mb(after.used + after.wal)} MB`;
    if (exhausted && after.used > goal) this.deps.logger.warn(`${summary}; no readings or events are left to remove: the registry and command outbox take the rest, raise retention.max_mb`);
    else this.deps.logger.info(summary);
  }

  /** Calls `step` while `again` says so (and the hub runs), a turn of the event loop between calls; sums what they removed. */
  private async inSteps(step: () => Promise<PruneResult>, again: (r: PruneResult) => Promise<boolean>): Promise<{ readings: number; events: number; last: PruneResult }> {
    let readings = 0;
    let events = 0;
    for (;;) {
      const last = await step();
      readings += last.readings;
      events += last.events;
      if (this.stopped || !(await again(last))) return { readings, events, last };
      await nextTurn();
    }
  }
}
