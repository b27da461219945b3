// The embedded store (SQLite through better-sqlite3): one file in the data folder. The port's
// contract is in ../port.ts; what is SQLite's own is said here. Every statement is synchronous
// underneath, so a call's promise is settled by the time it returns, and one transaction never
// interleaves with another.
//
// Its methods are async without awaiting anything: that turns a statement's throw into the
// rejection the port promises.
/* eslint-disable @typescript-eslint/require-await */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../../protocol/codec.js';
import type { DeviceRecord, DeviceSensorSummary, EventsQuery, ReadingBucket, ReadingsQuery, SensorSummary, StoredEvent } from '../../types.js';
import type {
  CommitBatch,
  HubStore,
  LinkedInfo,
  LinkState,
  OutboxEntry,
  PruneResult,
  RuleDefinition,
  StoredRule,
  StoreOptions,
  StoreSize,
} from '../port.js';
import { RegistryWrites } from '../registry-writes.js';
import { PRUNE_CHUNK_ROWS } from '../limits.js';
import { isStorageFull, PROBE_BYTES, StorageHealth, storageFaultCode } from '../storage-health.js';
import { ApiTokens } from './api-tokens.js';
import { DeviceRegistry } from './devices.js';
import { EventStore } from './events.js';
import { LinkStates } from './link-state.js';
import { CommandOutbox } from './outbox.js';
import { ReadingStore } from './readings.js';
import { RolloutStore } from './rollouts.js';
import { RuleStore } from './rules.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { openDatabase } from './schema.js';

export interface SqliteOptions extends StoreOptions {
  /** Checkpoint the WAL on a worker thread, not in the commit that fills it (the hub does). */
  backgroundCheckpoint?: boolean;
}

export class SqliteStore implements HubStore {
  readonly kind = 'sqlite';
  readonly apiTokens: ApiTokens;
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
  readonly health: StorageHealth;
  private readonly registryWrites = new RegistryWrites();
  private checkpointer: BackgroundCheckpointer | undefined;

  private constructor(
    private readonly db: Database.Database,
    options: StoreOptions,
  ) {
    this.health = new StorageHealth(options.wallNow);
    this.devices = new DeviceRegistry(db, options.hubId ?? 'hub');
    this.apiTokens = new ApiTokens(db);
    this.rollouts = new RolloutStore(db, options.hubId ?? 'hub');
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

  /**
   * Opens (creating if need be) the database: a file path, or ':memory:' for tests. With
   * `backgroundCheckpoint` (the hub's), WAL checkpoints run on a worker thread (checkpointer.ts).
   */
  static open(path: string, options: SqliteOptions = {}): SqliteStore {
    const store = new SqliteStore(openDatabase(path), options);
    if (options.backgroundCheckpoint === true && path !== ':memory:') store.checkpointer = new BackgroundCheckpointer(store.db, path);
    return store;
  }

  /** Who checkpoints the WAL now: this connection as commits fill it, or the worker thread. */
  get checkpoints(): 'inline' | 'background' {
    return this.db.pragma('wal_autocheckpoint', { simple: true }) === 0 ? 'background' : 'inline';
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    this.db.close();
  }

  // ── Registry ──

  async addDevice(id: string, options: { name?: string; address?: string } = {}): Promise<{ token: string }> {
    const added = this.write(() => this.devices.add(id, options));
    this.registryWrites.written(id);
    return added;
  }

  async rotateToken(id: string): Promise<string> {
    const token = this.write(() => this.devices.rotateToken(id));
    this.registryWrites.written(id);
    return token;
  }

  async removeDevice(id: string): Promise<boolean> {
    const removed = this.write(() => this.removeTransaction(id));
    if (removed) this.registryWrites.written(id);
    return removed;
  }

  onRegistryWrite(listener: (id: string) => void): () => void {
    return this.registryWrites.on(listener);
  }

  async keyOf(id: string): Promise<Buffer | undefined> {
    return this.devices.keyOf(id);
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    return this.devices.get(id);
  }

  async listDevices(): Promise<DeviceRecord[]> {
    return this.devices.list();
  }

  async markLinked(id: string, info: LinkedInfo): Promise<boolean> {
    return this.bookkeeping(() => this.devices.markLinked(id, info), false);
  }

  async setSignal(id: string, rssi: number): Promise<boolean> {
    return this.bookkeeping(() => this.devices.setSignal(id, rssi), false);
  }

  async markOffline(id: string, now: number): Promise<boolean> {
    return this.bookkeeping(() => this.devices.markOffline(id, now), false);
  }

  async linkedHub(id: string): Promise<string | null> {
    return this.devices.linkedHub(id);
  }

  async touch(id: string, now: number): Promise<boolean> {
    return this.bookkeeping(() => this.devices.touch(id, now), false);
  }

  async markAllOffline(): Promise<number> {
    return this.bookkeeping(() => this.devices.markAllOffline(), 0);
  }

  // ── Rules made through the API ──

  async storedRules(): Promise<StoredRule[]> {
    return this.rules.list();
  }

  async addRule(rule: RuleDefinition, at: number, by: string): Promise<void> {
    this.write(() => this.rules.add(rule, at, by));
  }

  async replaceRule(old: string, rule: RuleDefinition, at: number, by: string): Promise<boolean> {
    return this.write(() => this.rules.replace(old, rule, at, by));
  }

  async removeRule(name: string): Promise<boolean> {
    return this.write(() => this.rules.remove(name));
  }

  // ── Link state and the command outbox ──

  async getLinkState(id: string): Promise<LinkState> {
    return this.attempt(() => this.links.get(id));
  }

  async saveLinkState(id: string, state: Partial<LinkState>): Promise<LinkState> {
    return this.write(() => this.links.save(id, state));
  }

  async outboxAdd(id: string, seq: number, body: JsonObject): Promise<void> {
    this.write(() => this.outboxAddTransaction(id, seq, body));
  }

  async setSubscribedBoot(id: string, boot: string): Promise<void> {
    this.bookkeeping(() => this.links.save(id, { subscribedBoot: boot }), undefined);
  }

  async outboxAck(id: string, ack: number): Promise<number> {
    return this.bookkeeping(() => this.outbox.ack(id, ack), 0);
  }

  async outboxPending(id: string): Promise<OutboxEntry[]> {
    return this.outbox.pending(id);
  }

  async outboxClear(id: string): Promise<number> {
    return this.write(() => this.outbox.clear(id));
  }

  // ── Telemetry ──

  async commit(batch: CommitBatch): Promise<StoredEvent[]> {
    return this.write(() => {
      try {
        return this.commitTransaction(batch);
      } catch (err) {
        this.readings.forgetCachedSeries();
        throw err;
      }
    });
  }

  async queryReadings(q: ReadingsQuery): Promise<ReadingBucket[]> {
    return this.readings.query(q);
  }

  async sensorsOf(device: string): Promise<SensorSummary[]> {
    return this.readings.sensorsOf(device);
  }

  async latestSensors(): Promise<DeviceSensorSummary[]> {
    return this.readings.latestOfAll();
  }

  async queryEvents(q: EventsQuery): Promise<StoredEvent[]> {
    return this.events.query(q);
  }

  // ── Storage ──

  probe(): Promise<boolean> {
    return this.health.probed(() => this.attempt(this.probeTransaction));
  }

  async size(): Promise<StoreSize> {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = (this.db.pragma('page_count', { simple: true }) as number) - (this.db.pragma('freelist_count', { simple: true }) as number);
    const wal = this.db.memory ? undefined : fs.statSync(`${this.db.name}-wal`, { throwIfNoEntry: false });
    return { used: pages * pageSize, wal: wal?.size ?? 0 };
  }

  async checkpoint(): Promise<boolean> {
    // With the worker copying the WAL, a TRUNCATE here would find it busy as often as not.
    if (this.checkpointer !== undefined && this.checkpoints === 'background') {
      const { emptied, fault } = await this.checkpointer.truncate();
      // A full disk or an I/O error met on the worker counts as one met here.
      if (fault !== undefined)
        this.attempt(() => {
          throw Object.assign(new Error(fault.message), { code: fault.code });
        });
      return emptied;
    }
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

  async pruneOldest(maxRows: number): Promise<PruneResult> {
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
   * Deletes readings and events older than nowMs - retentionMs, a chunk per transaction so that a
   * reader in another process (the CLI) never waits long; the thread is busy throughout, hence
   * maxRows.
   */
  async prune(nowMs: number, retentionMs: number, options: { maxRows?: number } = {}): Promise<PruneResult> {
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
