// The hub's embedded database (SQLite through better-sqlite3): the board registry, each link's
// delivery state, the commands not yet acknowledged, and telemetry. Everything is synchronous:
// a call returns when its transaction committed.
//
// A write the disk refuses (full, read-only, failing) throws storage_full and makes the store
// `full` (storage-health.ts): later writes are refused at once, without touching the disk, until
// probe() gets one through. Bookkeeping writes (a board's presence and signal, which commands it
// acknowledged) do not throw: each is written again at the board's next link, and a full disk
// must not break a link or kill the hub over them.
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../protocol/codec.js';
import type { DeviceRecord, EventsQuery, Reading, ReadingBucket, ReadingsQuery, StoredEvent } from '../types.js';
import { ApiTokens } from './api-tokens.js';
import { DeviceRegistry, type LinkedInfo } from './devices.js';
import { EventStore, type NewEvent } from './events.js';
import { LinkStates, type LinkState } from './link-state.js';
import { CommandOutbox, type OutboxEntry } from './outbox.js';
import { ReadingStore } from './readings.js';
import { RuleStore, type StoredRule } from './rules.js';
import { RolloutStore } from './rollouts.js';
import type { DeviceSensorSummary, SensorSummary } from '../types.js';
import { openDatabase } from './schema.js';
import { isStorageFull, StorageHealth, storageFaultCode } from './storage-health.js';

export type { LinkedInfo, LinkState, NewEvent, OutboxEntry, SensorSummary, StoredRule };

/** What one commit stores, all or nothing. */
export interface CommitBatch {
  readings: Reading[];
  events: NewEvent[];
  /** Each board's last message whose content is in this batch. */
  linkStates: Array<{ device: string; rxCommitted: number }>;
}

export interface PruneResult {
  readings: number;
  events: number;
  /** The call stopped at its maxRows with rows still older than the cutoff (or maybe so). */
  more: boolean;
}

/** Rows deleted per transaction when pruning. */
const PRUNE_CHUNK_ROWS = 5_000;

/**
 * What probe() writes: more than a few pages, so that it needs pages the database does not
 * have yet (a disk with room for a page or two is full for a burst of readings).
 */
const PROBE_BYTES = 64 * 1024;

export interface StoreOptions {
  /** Wall-clock ms, for when the store became full (default Date.now). */
  wallNow?: () => number;
}

/** What the database takes, in bytes. */
export interface StoreSize {
  /** Its pages in use; free pages are left out, as SQLite fills them before it grows the file. */
  used: number;
  /** The write-ahead log file. */
  wal: number;
}

export class HubStore {
  /** Named API tokens with their scopes (the admin token is the file <data>/api-token). */
  readonly apiTokens: ApiTokens;
  /** Firmware rollouts and each board's part in one (the ota module's). */
  readonly rollouts: RolloutStore;
  private readonly devices: DeviceRegistry;
  private readonly links: LinkStates;
  private readonly outbox: CommandOutbox;
  private readonly readings: ReadingStore;
  private readonly events: EventStore;
  private readonly rules: RuleStore;
  private readonly commitTransaction: (batch: CommitBatch) => StoredEvent[];
  private readonly removeTransaction: (id: string) => boolean;
  private readonly outboxAddTransaction: (id: string, seq: number, body: JsonObject) => void;
  private readonly probeTransaction: () => void;
  /** Whether writes go through now; the hub reports it and refuses what it cannot store. */
  readonly health: StorageHealth;

  private constructor(
    private readonly db: Database.Database,
    options: StoreOptions,
  ) {
    this.health = new StorageHealth(options.wallNow);
    this.devices = new DeviceRegistry(db);
    this.apiTokens = new ApiTokens(db);
    this.rollouts = new RolloutStore(db);
    this.links = new LinkStates(db);
    this.outbox = new CommandOutbox(db);
    this.readings = new ReadingStore(db);
    this.events = new EventStore(db);
    this.rules = new RuleStore(db);
    this.commitTransaction = db.transaction((batch: CommitBatch) => {
      this.readings.insert(batch.readings);
      const stored = this.events.insert(batch.events);
      for (const { device, rxCommitted } of batch.linkStates) this.links.setRxCommitted(device, rxCommitted);
      return stored;
    });
    this.outboxAddTransaction = db.transaction((id: string, seq: number, body: JsonObject) => {
      this.outbox.add(id, seq, body);
      this.links.save(id, { txLast: seq });
    });
    this.removeTransaction = db.transaction((id: string) => {
      this.links.remove(id);
      this.outbox.clear(id);
      return this.devices.remove(id);
    });
    const clearProbe = db.prepare('DELETE FROM storage_probe');
    const fillProbe = db.prepare<[number]>('INSERT INTO storage_probe (pad) VALUES (zeroblob(?))');
    const filled = db.transaction(() => {
      clearProbe.run();
      fillProbe.run(PROBE_BYTES);
    });
    // Two commits: the first must find room for new pages (and on a real disk, for its WAL
    // frames); the second gives them back.
    this.probeTransaction = () => {
      filled();
      clearProbe.run();
    };
  }

  /** Opens (creating if need be) the database: a file path, or ':memory:' for tests. */
  static open(path: string, options: StoreOptions = {}): HubStore {
    return new HubStore(openDatabase(path), options);
  }

  close(): void {
    this.db.close();
  }

  // ── Registry ──

  /** Registers a board and returns its token, which is stored only hashed: shown this once. */
  addDevice(id: string, options: { name?: string; address?: string } = {}): { token: string } {
    return this.write(() => this.devices.add(id, options));
  }

  rotateToken(id: string): string {
    return this.write(() => this.devices.rotateToken(id));
  }

  /** Forgets the board, its link state and its unsent commands; telemetry ages out as usual. */
  removeDevice(id: string): boolean {
    return this.write(() => this.removeTransaction(id));
  }

  /** The board key the link checks a board with (the token's SHA-256); undefined for an unknown id. */
  keyOf(id: string): Buffer | undefined {
    return this.devices.keyOf(id);
  }

  getDevice(id: string): DeviceRecord | undefined {
    return this.devices.get(id);
  }

  /** Sorted by id. */
  listDevices(): DeviceRecord[] {
    return this.devices.list();
  }

  /** Returns false when the id is not registered (the board was removed meanwhile) or the store is full. */
  markLinked(id: string, info: LinkedInfo): boolean {
    return this.bookkeeping(() => this.devices.markLinked(id, info), false);
  }

  /** The WiFi signal strength (dBm) the board reported; false when the id is not registered or the store is full. */
  setSignal(id: string, rssi: number): boolean {
    return this.bookkeeping(() => this.devices.setSignal(id, rssi), false);
  }

  markOffline(id: string, now: number): boolean {
    return this.bookkeeping(() => this.devices.markOffline(id, now), false);
  }

  touch(id: string, now: number): boolean {
    return this.bookkeeping(() => this.devices.touch(id, now), false);
  }

  /** At hub start; 0 when the store is full (the API shows liveness from the links, not this flag). */
  markAllOffline(): number {
    return this.bookkeeping(() => this.devices.markAllOffline(), 0);
  }

  // ── Rules made through the API ──

  /** In the order they were made. */
  storedRules(): StoredRule[] {
    return this.rules.list();
  }

  addRule(rule: { name: string; definition: JsonObject; enabled: boolean }, at: number, by: string): void {
    this.write(() => this.rules.add(rule, at, by));
  }

  /** Replaces the rule named `old` (the new one may have another name); false when there is none. */
  replaceRule(old: string, rule: { name: string; definition: JsonObject; enabled: boolean }, at: number, by: string): boolean {
    return this.write(() => this.rules.replace(old, rule, at, by));
  }

  removeRule(name: string): boolean {
    return this.write(() => this.rules.remove(name));
  }

  // ── Link state and the command outbox ──

  /** Throws not_found for an unregistered id (and storage_full when a first state cannot be stored). */
  getLinkState(id: string): LinkState {
    return this.attempt(() => this.links.get(id));
  }

  /**
   * Stores the fields given, keeping the others. rxCommitted is advanced by commit(); within
   * the same boot a save never moves it back (a stale copy cannot undo commits), so it resets
   * only together with a new bootId. Throws not_found for an unregistered id.
   */
  saveLinkState(id: string, state: Partial<LinkState>): LinkState {
    return this.write(() => this.links.save(id, state));
  }

  /**
   * Keeps a command for the board and records its number as the stream's last, in one
   * transaction: after a restart the hub numbers on from there even when every kept command
   * was acknowledged and deleted (the board would take a reused number for a duplicate).
   */
  outboxAdd(id: string, seq: number, body: JsonObject): void {
    this.write(() => this.outboxAddTransaction(id, seq, body));
  }

  /** Records that the hub subscribed the board to its sensors and inputs in this boot (if the store is full, the next link subscribes again). */
  setSubscribedBoot(id: string, boot: string): void {
    this.bookkeeping(() => this.links.save(id, { subscribedBoot: boot }), undefined);
  }

  /**
   * Drops the commands up to and including `ack` (serial arithmetic). Returns how many: 0 when the
   * store is full, and then a later ack drops them (acks are cumulative) or, after a restart, the
   * board's own ack in its hello does.
   */
  outboxAck(id: string, ack: number): number {
    return this.bookkeeping(() => this.outbox.ack(id, ack), 0);
  }

  outboxPending(id: string): OutboxEntry[] {
    return this.outbox.pending(id);
  }

  /** The board rebooted: commands not delivered are dropped; the caller fails them back. */
  outboxClear(id: string): number {
    return this.write(() => this.outbox.clear(id));
  }

  // ── Telemetry ──

  /**
   * Stores readings, events and how far each board's stream is committed in one transaction,
   * so that the hub never acknowledges what a crash could lose, nor stores anything twice.
   * Returns the events with their ids.
   */
  commit(batch: CommitBatch): StoredEvent[] {
    return this.write(() => {
      try {
        return this.commitTransaction(batch);
      } catch (err) {
        this.readings.forgetCachedSeries();
        throw err;
      }
    });
  }

  /** Raw points, or min/max/avg/count per bucketMs (aligned to its multiples); by sensor, quantity, ts. */
  queryReadings(q: ReadingsQuery): ReadingBucket[] {
    return this.readings.query(q);
  }

  /** The board's series with their latest point, by sensor and quantity. */
  sensorsOf(device: string): SensorSummary[] {
    return this.readings.sensorsOf(device);
  }

  /** Every board's series with their latest point, by device, sensor and quantity. */
  latestSensors(): DeviceSensorSummary[] {
    return this.readings.latestOfAll();
  }

  queryEvents(q: EventsQuery): StoredEvent[] {
    return this.events.query(q);
  }

  // ── Storage ──

  /**
   * Writes (and then deletes) a few new pages' worth, even while the store is full: true when
   * that went through, and the store is writable again.
   */
  probe(): boolean {
    try {
      this.attempt(this.probeTransaction);
    } catch (err) {
      if (isStorageFull(err)) return false;
      throw err;
    }
    this.health.recovered();
    return true;
  }

  /** What the database takes now (retention.max_mb bounds it). */
  size(): StoreSize {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = (this.db.pragma('page_count', { simple: true }) as number) - (this.db.pragma('freelist_count', { simple: true }) as number);
    const wal = this.db.memory ? undefined : fs.statSync(`${this.db.name}-wal`, { throwIfNoEntry: false });
    return { used: pages * pageSize, wal: wal?.size ?? 0 };
  }

  /**
   * Copies the WAL into the database and empties its file, unless another process reads or
   * writes the database right now: then it does what it can without waiting, and says false.
   */
  checkpoint(): boolean {
    const wait = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      const [result] = this.attempt(() => this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>);
      return result?.busy === 0;
    } finally {
      this.db.pragma(`busy_timeout = ${wait}`);
    }
  }

  /**
   * Caps the database at this many pages (PRAGMA max_page_count) for this connection: a write
   * that needs a page past it fails with SQLITE_FULL, as on a full disk. Fault-injection tests
   * use it. Returns the cap SQLite took: never below the pages the file has.
   */
  capPages(pages: number): number {
    return this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(pages))}`, { simple: true }) as number;
  }

  /** The pages the database file has, free ones included. */
  pageCount(): number {
    return this.db.pragma('page_count', { simple: true }) as number;
  }

  /**
   * Deletes up to maxRows of the oldest readings, or once none are left the oldest events, in
   * chunks of their own transactions: for retention by size. Registry, link state and the
   * command outbox are never touched.
   */
  pruneOldest(maxRows: number): PruneResult {
    return this.prune(Number.POSITIVE_INFINITY, 0, { maxRows });
  }

  /** A write, refused at once while the store is full: what gets stored must not depend on which page still has room. */
  private write<T>(fn: () => T): T {
    if (this.health.full) throw this.health.error();
    return this.attempt(fn);
  }

  /** Runs fn; a storage fault makes the store full and is thrown as storage_full. */
  private attempt<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const code = storageFaultCode(err);
      if (code === undefined) throw err;
      this.health.failed(code, (err as Error).message);
      throw this.health.error();
    }
  }

  /** A write worth skipping when the disk is full: `skipped` is returned instead of throwing. */
  private bookkeeping<T>(fn: () => T, skipped: T): T {
    try {
      return this.write(fn);
    } catch (err) {
      if (isStorageFull(err)) return skipped;
      throw err;
    }
  }

  /**
   * Deletes readings and events older than nowMs - retentionMs, oldest first, a chunk per
   * transaction so that a reader in another process (the CLI) never waits long. The calling
   * thread is busy throughout, though: pass maxRows to bound one call and, while `more` says
   * rows are left, call again on a later turn of the event loop.
   */
  prune(nowMs: number, retentionMs: number, options: { maxRows?: number } = {}): PruneResult {
    const cutoff = nowMs - retentionMs;
    let budget = options.maxRows ?? Number.POSITIVE_INFINITY;
    const result: PruneResult = { readings: 0, events: 0, more: false };
    const tables = [
      ['readings', (limit: number) => this.readings.pruneChunk(cutoff, limit)],
      ['events', (limit: number) => this.events.pruneChunk(cutoff, limit)],
    ] as const;
    for (const [table, pruneChunk] of tables) {
      for (;;) {
        if (budget <= 0) return { ...result, more: true };
        const limit = Math.min(PRUNE_CHUNK_ROWS, budget);
        // Not refused while the store is full: deleting is what makes room.
        const deleted = this.attempt(() => pruneChunk(limit));
        result[table] += deleted;
        budget -= deleted;
        if (deleted < limit) break;
      }
    }
    return result;
  }
}
