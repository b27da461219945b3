// The hub's store in PostgreSQL, for several hubs sharing one database (docs/postgres.md): the
// same contract as the embedded SQLite store (port.ts), over a small pool of connections. Each
// method resolves once its transaction committed. Readings live in one partition per day
// (partitions.ts), so retention drops whole days instead of deleting row by row.
import type pg from 'pg';
import type { JsonObject } from '../../../protocol/codec.js';
import type { DeviceRecord, DeviceSensorSummary, EventsQuery, ReadingBucket, ReadingsQuery, SensorSummary, StoredEvent } from '../../types.js';
import type { CommitBatch, HubStore, LinkedInfo, LinkState, OutboxEntry, PruneResult, RuleDefinition, StoredRule, StoreOptions, StoreSize } from '../port.js';
import { RegistryWrites } from '../registry-writes.js';
import { PRUNE_CHUNK_ROWS } from '../limits.js';
import { isStorageFull, PROBE_BYTES, StorageHealth, storageFaultCode } from '../storage-health.js';
import { ApiTokens } from './api-tokens.js';
import { openPool, reach, SQLSTATE, sqlState, transaction, type Queryable } from './db.js';
import { DeviceRegistry } from './devices.js';
import { InOrder } from './in-order.js';
import { EventStore } from './events.js';
import { LinkStates } from './link-state.js';
import { CommandOutbox } from './outbox.js';
import { dayOf, Partitions, type Partition } from './partitions.js';
import { ReadingStore } from './readings.js';
import { PostgresRollouts } from './rollouts.js';
import { RuleStore } from './rules.js';
import { migrate } from './schema.js';

/** The InOrder key of commits: one after another, in the order made. */
const COMMITS = 'commits';

export class PostgresStore implements HubStore {
  readonly kind = 'postgres';
  readonly health: StorageHealth;
  readonly apiTokens: ApiTokens;
  readonly rollouts: PostgresRollouts;
  private readonly devices: DeviceRegistry;
  private readonly links = new LinkStates();
  private readonly outbox = new CommandOutbox();
  private readonly readings = new ReadingStore();
  private readonly events = new EventStore();
  private readonly rules = new RuleStore();
  private readonly partitions: Partitions;
  /** Commits in the order made (key COMMITS), and each board's own writes (its id's key). */
  private readonly inOrder = new InOrder();
  private readonly registryWrites = new RegistryWrites();

  private constructor(
    private readonly pool: pg.Pool,
    options: StoreOptions,
  ) {
    this.health = new StorageHealth(options.wallNow);
    this.devices = new DeviceRegistry(options.hubId ?? 'hub');
    this.partitions = new Partitions(pool);
    const access = { read: reach, write: <T>(fn: () => Promise<T>) => this.write(fn) };
    this.apiTokens = new ApiTokens(pool, access);
    this.rollouts = new PostgresRollouts(pool, access, options.hubId ?? 'hub');
  }

  /** Connects to `url` (postgres://user:password@host:5432/database) and brings the schema up to date. */
  static async open(url: string, options: StoreOptions = {}): Promise<PostgresStore> {
    const pool = openPool(url);
    try {
      await reach(() => migrate(pool));
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(pool, options);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // ── Registry ──

  async addDevice(id: string, options: { name?: string; address?: string } = {}): Promise<{ token: string }> {
    const added = await this.boardWrite(id, () =>
      transaction(this.pool, async (db) => {
        const made = await this.devices.add(db, id, options);
        // What a commit racing an earlier removal of this id may have left: the board starts afresh.
        await this.links.remove(db, id);
        await this.outbox.clear(db, id);
        return made;
      }),
    );
    this.registryWrites.written(id);
    return added;
  }

  async rotateToken(id: string): Promise<string> {
    const token = await this.boardWrite(id, () => this.devices.rotateToken(this.pool, id));
    this.registryWrites.written(id);
    return token;
  }

  async removeDevice(id: string): Promise<boolean> {
    const removed = await this.boardWrite(id, () =>
      transaction(this.pool, async (db) => {
        await this.links.remove(db, id);
        await this.outbox.clear(db, id);
        return this.devices.remove(db, id);
      }),
    );
    if (removed) this.registryWrites.written(id);
    return removed;
  }

  onRegistryWrite(listener: (id: string) => void): () => void {
    return this.registryWrites.on(listener);
  }

  keyOf(id: string): Promise<Buffer | undefined> {
    return reach(() => this.devices.keyOf(this.pool, id));
  }

  getDevice(id: string): Promise<DeviceRecord | undefined> {
    return reach(() => this.devices.get(this.pool, id));
  }

  listDevices(): Promise<DeviceRecord[]> {
    return reach(() => this.devices.list(this.pool));
  }

  markLinked(id: string, info: LinkedInfo): Promise<boolean> {
    return this.boardBookkeeping(id, () => this.devices.markLinked(this.pool, id, info), false);
  }

  setSignal(id: string, rssi: number): Promise<boolean> {
    return this.boardBookkeeping(id, () => this.devices.setSignal(this.pool, id, rssi), false);
  }

  markOffline(id: string, now: number): Promise<boolean> {
    return this.boardBookkeeping(id, () => this.devices.markOffline(this.pool, id, now), false);
  }

  linkedHub(id: string): Promise<string | null> {
    return reach(() => this.devices.linkedHub(this.pool, id));
  }

  touch(id: string, now: number): Promise<boolean> {
    return this.boardBookkeeping(id, () => this.devices.touch(this.pool, id, now), false);
  }

  markAllOffline(): Promise<number> {
    return this.bookkeeping(() => this.devices.markAllOffline(this.pool), 0);
  }

  // ── Rules made through the API ──

  storedRules(): Promise<StoredRule[]> {
    return reach(() => this.rules.list(this.pool));
  }

  addRule(rule: RuleDefinition, at: number, by: string): Promise<void> {
    return this.write(() => this.rules.add(this.pool, rule, at, by));
  }

  replaceRule(old: string, rule: RuleDefinition, at: number, by: string): Promise<boolean> {
    return this.write(() => this.rules.replace(this.pool, old, rule, at, by));
  }

  removeRule(name: string): Promise<boolean> {
    return this.write(() => this.rules.remove(this.pool, name));
  }

  // ── Link state and the command outbox ──

  getLinkState(id: string): Promise<LinkState> {
    return this.attempt(() => this.links.get(this.pool, id));
  }

  saveLinkState(id: string, state: Partial<LinkState>): Promise<LinkState> {
    return this.boardWrite(id, () => transaction(this.pool, (db) => this.links.save(db, id, state)));
  }

  outboxAdd(id: string, seq: number, body: JsonObject): Promise<void> {
    return this.boardWrite(id, () =>
      transaction(this.pool, async (db) => {
        await this.outbox.add(db, id, seq, body);
        await this.links.save(db, id, { txLast: seq });
      }),
    );
  }

  async setSubscribedBoot(id: string, boot: string): Promise<void> {
    await this.boardBookkeeping(id, () => transaction(this.pool, (db) => this.links.save(db, id, { subscribedBoot: boot })), undefined);
  }

  outboxAck(id: string, ack: number): Promise<number> {
    return this.boardBookkeeping(id, () => this.outbox.ack(this.pool, id, ack), 0);
  }

  outboxPending(id: string): Promise<OutboxEntry[]> {
    return reach(() => this.outbox.pending(this.pool, id));
  }

  outboxClear(id: string): Promise<number> {
    return this.boardWrite(id, () => this.outbox.clear(this.pool, id));
  }

  // ── Telemetry ──

  commit(batch: CommitBatch): Promise<StoredEvent[]> {
    return this.inOrder.run(COMMITS, () => this.write(() => this.commitNow(batch)));
  }

  queryReadings(q: ReadingsQuery): Promise<ReadingBucket[]> {
    return reach(() => this.readings.query(this.pool, q));
  }

  sensorsOf(device: string): Promise<SensorSummary[]> {
    return reach(() => this.readings.sensorsOf(this.pool, device));
  }

  latestSensors(): Promise<DeviceSensorSummary[]> {
    return reach(() => this.readings.latestOfAll(this.pool));
  }

  queryEvents(q: EventsQuery): Promise<StoredEvent[]> {
    return reach(() => this.events.query(this.pool, q));
  }

  // ── Storage ──

  probe(): Promise<boolean> {
    return this.health.probed(() =>
      this.attempt(async () => {
        await this.pool.query('INSERT INTO storage_probe (pad) VALUES ($1)', [Buffer.alloc(PROBE_BYTES)]);
        await this.pool.query('DELETE FROM storage_probe');
      }),
    );
  }

  /** The hub's tables with their indexes: what retention.max_mb bounds. The server keeps its own WAL. */
  async size(): Promise<StoreSize> {
    const { rows } = await reach(() =>
      this.pool.query<{ used: number }>(
        `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS used
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind = 'r'`,
      ),
    );
    return { used: rows[0]?.used ?? 0, wal: 0 };
  }

  /** The server checkpoints its WAL itself. */
  checkpoint(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /**
   * Drops the days wholly older than the cutoff (each counts its rows against maxRows), then
   * deletes the rows older than it in the day that straddles it, oldest first; then events.
   * Not refused while the store is full: deleting is what makes room.
   */
  prune(nowMs: number, retentionMs: number, options: { maxRows?: number } = {}): Promise<PruneResult> {
    const cutoff = Math.ceil(nowMs - retentionMs);
    return this.attempt(async () => {
      let budget = options.maxRows ?? Number.POSITIVE_INFINITY;
      const result: PruneResult = { readings: 0, events: 0, more: false };
      for (const p of await this.partitions.list(this.pool)) {
        if (p.start >= cutoff) break;
        if (budget <= 0) return { ...result, more: true };
        if (p.end <= cutoff) {
          const dropped = await this.partitions.drop(p);
          result.readings += dropped;
          budget -= dropped;
          continue;
        }
        for (;;) {
          if (budget <= 0) return { ...result, more: true };
          const limit = Math.min(PRUNE_CHUNK_ROWS, budget);
          const deleted = await this.partitions.deleteOldest(p, cutoff, limit);
          result.readings += deleted;
          budget -= deleted;
          if (deleted < limit) break;
        }
        break;
      }
      for (;;) {
        if (budget <= 0) return { ...result, more: true };
        const limit = Math.min(PRUNE_CHUNK_ROWS, budget);
        const deleted = await this.events.deleteOldest(this.pool, cutoff, limit);
        result.events += deleted;
        budget -= deleted;
        if (deleted < limit) return result;
      }
    });
  }

  /**
   * Retention by size: drops the oldest day of readings, whatever it holds; within the newest
   * day that holds readings, which boards are writing to, deletes up to maxRows of its oldest
   * readings instead. Once no reading is left, deletes up to maxRows of the oldest events.
   */
  pruneOldest(maxRows: number): Promise<PruneResult> {
    return this.attempt(async () => {
      const days = await this.partitions.list(this.pool);
      let newest = days.length - 1;
      while (newest >= 0 && !(await this.partitions.holdsRows(days[newest] as Partition))) newest--;
      for (const [i, p] of days.slice(0, newest + 1).entries()) {
        const removed = i < newest ? await this.partitions.drop(p) : await this.partitions.deleteOldest(p, Number.MAX_SAFE_INTEGER, maxRows);
        if (removed > 0) return { readings: removed, events: 0, more: true };
      }
      const events = await this.events.deleteOldest(this.pool, null, maxRows);
      return { readings: 0, events, more: events === maxRows };
    });
  }

  /** One commit's transaction, after the days its readings fall in have their partitions. */
  private async commitNow(batch: CommitBatch): Promise<StoredEvent[]> {
    const days = batch.readings.map((r) => dayOf(Math.round(r.ts)));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.partitions.ensure(days);
        return await transaction(this.pool, (db) => this.commitIn(db, batch));
      } catch (err) {
        this.readings.forgetCachedSeries();
        // Another hub dropped a day this store thought it had, or two hubs' commits deadlocked: once more.
        const state = sqlState(err);
        if (attempt === 1 && state === SQLSTATE.noPartition && isNoPartition(err)) this.partitions.forget();
        else if (attempt > 1 || (state !== SQLSTATE.deadlock && state !== SQLSTATE.serialization)) throw err;
      }
    }
  }

  private async commitIn(db: Queryable, batch: CommitBatch): Promise<StoredEvent[]> {
    await this.readings.insert(db, batch.readings);
    const stored = await this.events.insert(db, batch.events);
    await this.links.setRxCommitted(db, batch.linkStates);
    return stored;
  }

  /** A write to one board's rows, after the writes to them called before it. */
  private boardWrite<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.inOrder.run(`board:${id}`, () => this.write(fn));
  }

  private boardBookkeeping<T>(id: string, fn: () => Promise<T>, skipped: T): Promise<T> {
    return this.inOrder.run(`board:${id}`, () => this.bookkeeping(fn, skipped));
  }

  /** A write, refused at once while the store is full: what gets stored must not depend on which page still has room. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.health.full) return Promise.reject(this.health.error());
    return this.attempt(fn);
  }

  /** Runs fn; a storage fault makes the store full and rejects with storage_full, a server out of reach store_unavailable. */
  private async attempt<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await reach(fn);
    } catch (err) {
      const code = storageFaultCode(err);
      if (code === undefined) throw err;
      this.health.failed(code, (err as Error).message);
      throw this.health.error();
    }
  }

  /** A write worth skipping when the storage is full: resolves `skipped` instead of rejecting. */
  private async bookkeeping<T>(fn: () => Promise<T>, skipped: T): Promise<T> {
    try {
      return await this.write(fn);
    } catch (err) {
      if (isStorageFull(err)) return skipped;
      throw err;
    }
  }
}

/** 23514 is any check's violation; the partition's lack names no constraint. */
function isNoPartition(err: unknown): boolean {
  return (err as { constraint?: string }).constraint === undefined;
}
