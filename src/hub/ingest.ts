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
  /**
   * Commit as soon as this many rows (readings and events) wait (default 500: such a commit
   * holds the event loop for about 1 ms, about what the link's FramePacer gives a turn).
   */
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

/** One device's items in the batch being gathered: they commit, and settle, together. */
interface Group {
  device: string;
  items: IngestItem[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What waits for the next commit: every item in the order added, and one group per device. */
interface Batch {
  items: IngestItem[];
  groups: Map<string, Group>;
  rows: number;
}

const emptyBatch = (): Batch => ({ items: [], groups: new Map(), rows: 0 });

export class IngestQueue {
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private batch: Batch = emptyBatch();
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
    this.maxRows = options.maxRows ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 10;
  }

  /**
   * Resolves once the item is committed; rejects with the commit's error if that failed. A
   * device's items in the same commit get the same promise: a board's burst costs one, not one each.
   */
  add(item: IngestItem): Promise<void> {
    if (this.closed) return Promise.reject(new HubError('shutting_down', 'the ingest queue is closed'));
    const failure = this.failed.get(item.device);
    if (failure !== undefined) return Promise.reject(failure);
    const batch = this.batch;
    let group = batch.groups.get(item.device);
    if (group === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      group = { device: item.device, items: [], done, resolve, reject };
      batch.groups.set(item.device, group);
    }
    group.items.push(item);
    batch.items.push(item);
    batch.rows += rowsOf(item);
    // A failed commit needs no handling here: it rejected `done` and its batch-mates.
    if (batch.rows >= this.maxRows) {
      void this.commitWaiting();
    } else if (this.timer === undefined) {
      this.timer = this.options.clock.setTimer(this.maxDelayMs, () => {
        this.timer = undefined;
        void this.commitWaiting();
      });
    }
    return group.done;
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
    const batch = this.batch;
    this.batch = emptyBatch();
    const run = this.committing.then(() => this.commitBatch(batch));
    this.committing = run;
    return run;
  }

  private async commitBatch(batch: Batch): Promise<{ error: Error } | undefined> {
    // A board whose earlier batch failed while this one waited is refused like later items.
    const groups = [...batch.groups.values()].filter((group) => {
      const failure = this.failed.get(group.device);
      if (failure !== undefined) group.reject(failure);
      return failure === undefined;
    });
    if (groups.length === 0) return undefined;
    const items = groups.length === batch.groups.size ? batch.items : batch.items.filter((item) => !this.failed.has(item.device));
    const error = await this.commitGroups(items, groups, items.reduce((n, item) => n + rowsOf(item), 0));
    if (error === undefined) return undefined;
    if (groups.length === 1 || isStorageFull(error)) {
      for (const group of groups) this.fail(group, error);
      return { error };
    }
    let first: Error | undefined;
    for (const group of groups) {
      const groupError = await this.commitGroups(group.items, [group], group.items.reduce((n, item) => n + rowsOf(item), 0));
      if (groupError === undefined) continue;
      this.fail(group, groupError);
      first ??= groupError;
    }
    return first === undefined ? undefined : { error: first };
  }

  /** One transaction for these items; settles their groups when it commits, returns the error when not. */
  private async commitGroups(items: readonly IngestItem[], groups: readonly Group[], rows: number): Promise<Error | undefined> {
    let events: StoredEvent[];
    try {
      events = await this.store.commit(toCommit(items));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    for (const group of groups) group.resolve();
    if (events.length > 0) this.notify(events);
    if (rows > 0) this.options.onStored?.(rows);
    return undefined;
  }

  private fail(group: Group, error: Error): void {
    this.failed.set(group.device, error);
    group.reject(error);
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

function rowsOf(item: IngestItem): number {
  return (item.readings?.length ?? 0) + (item.events?.length ?? 0);
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
