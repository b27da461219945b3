// Batches what boards deliver so that many readings share one transaction: one commit per
// message would cap the hub at a few thousand readings a second. A board's message counts as
// committed, and may be acknowledged, only once the transaction holding it has committed.
import type { Clock, Timer } from '../common/clock.js';
import { HubError } from './errors.js';
import { isStorageFull } from './store/storage-health.js';
import type { CommitBatch, HubStore, NewEvent } from './store/port.js';
import type { Reading, StoredEvent } from './types.js';

export interface IngestItem {
  device: string;
  /** The board's message number; the last one per device in a batch becomes its rxCommitted. */
  seq: number;
  readings?: Reading[];
  events?: NewEvent[];
}

export interface IngestOptions {
  clock: Clock;
  /** Commit as soon as this many rows (readings and events) wait. */
  maxRows?: number;
  /** Commit at the latest this long after the first item waiting. */
  maxDelayMs?: number;
  /**
   * Called with the stored events (ids included) after each commit that had any, once the
   * batch's items have resolved. It should not throw: an exception is rethrown uncaught.
   */
  onCommitted?: (events: StoredEvent[]) => void;
  /** Called with the number of rows (readings and events) after each commit that stored any. */
  onStored?: (rows: number) => void;
}

interface Waiting {
  item: IngestItem;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class IngestQueue {
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private waiting: Waiting[] = [];
  private rows = 0;
  private timer: Timer | undefined;
  private closed = false;
  /** The commit running, if any: the next batch starts after it. */
  private committing: Promise<unknown> = Promise.resolve();
  /**
   * Devices whose commit failed. Nothing more of theirs commits until resume(): a later batch
   * committing while an earlier one failed would leave a hole that the board's resend, from
   * the last acknowledgement, fills twice (and rx_committed would skip the hole after a restart).
   */
  private readonly failed = new Map<string, Error>();

  constructor(
    private readonly store: Pick<HubStore, 'commit'>,
    private readonly options: IngestOptions,
  ) {
    this.maxRows = options.maxRows ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 10;
  }

  /** Resolves once the item is committed; rejects with the commit's error if that failed. */
  add(item: IngestItem): Promise<void> {
    if (this.closed) return Promise.reject(new HubError('shutting_down', 'the ingest queue is closed'));
    const failure = this.failed.get(item.device);
    if (failure !== undefined) return Promise.reject(failure);
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ item, resolve, reject }));
    this.rows += (item.readings?.length ?? 0) + (item.events?.length ?? 0);
    // A failed commit needs no handling here: it rejected `done` and its batch-mates.
    if (this.rows >= this.maxRows) {
      void this.commitWaiting();
    } else if (this.timer === undefined) {
      this.timer = this.options.clock.setTimer(this.maxDelayMs, () => {
        this.timer = undefined;
        void this.commitWaiting();
      });
    }
    return done;
  }

  /**
   * Takes a device's items again after a failed commit; the caller must restart its stream
   * from what the store says was committed. Returns whether a failure was cleared.
   */
  resume(device: string): boolean {
    return this.failed.delete(device);
  }

  /** Commits what waits now; rejects if that commit failed (its items reject as well). */
  async flush(): Promise<void> {
    const failure = await this.commitWaiting();
    if (failure !== undefined) throw failure.error;
  }

  /** Commits what waits and refuses anything added later. */
  close(): Promise<void> {
    this.closed = true;
    return this.flush();
  }

  /**
   * Commits every waiting item; a failure is returned, never thrown. When a batch holding
   * several boards' items fails, each board's items are committed again on their own, so one
   * board's bad message fails only that board. A full store fails them all without trying.
   * Batches commit one after another, in the order they were cut: a board's messages commit in
   * the order it sent them, and none after one that failed.
   */
  private commitWaiting(): Promise<{ error: Error } | undefined> {
    if (this.timer !== undefined) {
      this.options.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
    const batch = this.waiting;
    this.waiting = [];
    this.rows = 0;
    const run = this.committing.then(() => this.commitBatch(batch));
    this.committing = run.then(() => undefined);
    return run;
  }

  private async commitBatch(batch: readonly Waiting[]): Promise<{ error: Error } | undefined> {
    // Items of a board whose earlier batch failed while this one waited are refused like later ones.
    const live = batch.filter((w) => {
      const failure = this.failed.get(w.item.device);
      if (failure !== undefined) w.reject(failure);
      return failure === undefined;
    });
    if (live.length === 0) return undefined;
    const error = await this.commitGroup(live);
    if (error === undefined) return undefined;
    const byDevice = new Map<string, Waiting[]>();
    for (const w of live) {
      const group = byDevice.get(w.item.device);
      if (group === undefined) byDevice.set(w.item.device, [w]);
      else group.push(w);
    }
    if (byDevice.size === 1 || isStorageFull(error)) {
      this.fail(live, error);
      return { error };
    }
    let first: Error | undefined;
    for (const group of byDevice.values()) {
      const groupError = await this.commitGroup(group);
      if (groupError === undefined) continue;
      this.fail(group, groupError);
      first ??= groupError;
    }
    return first === undefined ? undefined : { error: first };
  }

  /** One transaction for these items; resolves them when it commits, returns the error when not. */
  private async commitGroup(group: readonly Waiting[]): Promise<Error | undefined> {
    let events: StoredEvent[];
    try {
      events = await this.store.commit(toCommit(group.map((w) => w.item)));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    for (const w of group) w.resolve();
    if (events.length > 0) this.notify(events);
    const rows = group.reduce((n, w) => n + (w.item.readings?.length ?? 0) + (w.item.events?.length ?? 0), 0);
    if (rows > 0) this.options.onStored?.(rows);
    return undefined;
  }

  private fail(group: readonly Waiting[], error: Error): void {
    for (const w of group) {
      this.failed.set(w.item.device, error);
      w.reject(error);
    }
  }

  private notify(events: StoredEvent[]): void {
    try {
      this.options.onCommitted?.(events);
    } catch (err) {
      // The items did commit, so their promises must not carry a listener's bug; and a bug it
      // is, so it is not swallowed either.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

function toCommit(items: readonly IngestItem[]): CommitBatch {
  const readings: Reading[] = [];
  const events: NewEvent[] = [];
  const rx = new Map<string, number>();
  for (const item of items) {
    if (item.readings) for (const r of item.readings) readings.push(r);
    if (item.events) for (const e of item.events) events.push(e);
    rx.set(item.device, item.seq);
  }
  return { readings, events, linkStates: [...rx].map(([device, rxCommitted]) => ({ device, rxCommitted })) };
}
