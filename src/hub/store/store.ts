// The hub's embedded database (SQLite through better-sqlite3): the board registry, each link's
// delivery state, the commands not yet acknowledged, and telemetry. Everything is synchronous:
// a call returns when its transaction committed.
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../protocol/codec.js';
import type { DeviceView, EventsQuery, Reading, ReadingBucket, ReadingsQuery, StoredEvent } from '../types.js';
import { DeviceRegistry, type LinkedInfo } from './devices.js';
import { EventStore, type NewEvent } from './events.js';
import { LinkStates, type LinkState } from './link-state.js';
import { CommandOutbox, type OutboxEntry } from './outbox.js';
import { ReadingStore } from './readings.js';
import type { DeviceSensorSummary, SensorSummary } from '../types.js';
import { openDatabase } from './schema.js';

export type { LinkedInfo, LinkState, NewEvent, OutboxEntry, SensorSummary };

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

export class HubStore {
  private readonly devices: DeviceRegistry;
  private readonly links: LinkStates;
  private readonly outbox: CommandOutbox;
  private readonly readings: ReadingStore;
  private readonly events: EventStore;
  private readonly commitTransaction: (batch: CommitBatch) => StoredEvent[];
  private readonly removeTransaction: (id: string) => boolean;
  private readonly outboxAddTransaction: (id: string, seq: number, body: JsonObject) => void;

  private constructor(private readonly db: Database.Database) {
    this.devices = new DeviceRegistry(db);
    this.links = new LinkStates(db);
    this.outbox = new CommandOutbox(db);
    this.readings = new ReadingStore(db);
    this.events = new EventStore(db);
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
  }

  /** Opens (creating if need be) the database: a file path, or ':memory:' for tests. */
  static open(path: string): HubStore {
    return new HubStore(openDatabase(path));
  }

  close(): void {
    this.db.close();
  }

  // ── Registry ──

  /** Registers a board and returns its token, which is stored only hashed: shown this once. */
  addDevice(id: string, options: { name?: string; address?: string } = {}): { token: string } {
    return this.devices.add(id, options);
  }

  rotateToken(id: string): string {
    return this.devices.rotateToken(id);
  }

  /** Forgets the board, its link state and its unsent commands; telemetry ages out as usual. */
  removeDevice(id: string): boolean {
    return this.removeTransaction(id);
  }

  verifyToken(id: string, token: string): boolean {
    return this.devices.verifyToken(id, token);
  }

  getDevice(id: string): DeviceView | undefined {
    return this.devices.get(id);
  }

  /** Sorted by id. */
  listDevices(): DeviceView[] {
    return this.devices.list();
  }

  /** Returns false when the id is not registered (the board was removed meanwhile). */
  markLinked(id: string, info: LinkedInfo): boolean {
    return this.devices.markLinked(id, info);
  }

  /** The WiFi signal strength (dBm) the board reported; false when the id is not registered. */
  setSignal(id: string, rssi: number): boolean {
    return this.devices.setSignal(id, rssi);
  }

  markOffline(id: string, now: number): boolean {
    return this.devices.markOffline(id, now);
  }

  touch(id: string, now: number): boolean {
    return this.devices.touch(id, now);
  }

  markAllOffline(): number {
    return this.devices.markAllOffline();
  }

  // ── Link state and the command outbox ──

  /** Throws not_found for an unregistered id. */
  getLinkState(id: string): LinkState {
    return this.links.get(id);
  }

  /**
   * Stores the fields given, keeping the others. rxCommitted is advanced by commit(); within
   * the same boot a save never moves it back (a stale copy cannot undo commits), so it resets
   * only together with a new bootId. Throws not_found for an unregistered id.
   */
  saveLinkState(id: string, state: Partial<LinkState>): LinkState {
    return this.links.save(id, state);
  }

  /**
   * Keeps a command for the board and records its number as the stream's last, in one
   * transaction: after a restart the hub numbers on from there even when every kept command
   * was acknowledged and deleted (the board would take a reused number for a duplicate).
   */
  outboxAdd(id: string, seq: number, body: JsonObject): void {
    this.outboxAddTransaction(id, seq, body);
  }

  /** Records that the hub subscribed the board to its sensors and inputs in this boot. */
  setSubscribedBoot(id: string, boot: string): void {
    this.links.save(id, { subscribedBoot: boot });
  }

  /** Drops the commands up to and including `ack` (serial arithmetic). Returns how many. */
  outboxAck(id: string, ack: number): number {
    return this.outbox.ack(id, ack);
  }

  outboxPending(id: string): OutboxEntry[] {
    return this.outbox.pending(id);
  }

  /** The board rebooted: commands not delivered are dropped; the caller fails them back. */
  outboxClear(id: string): number {
    return this.outbox.clear(id);
  }

  // ── Telemetry ──

  /**
   * Stores readings, events and how far each board's stream is committed in one transaction,
   * so that the hub never acknowledges what a crash could lose, nor stores anything twice.
   * Returns the events with their ids.
   */
  commit(batch: CommitBatch): StoredEvent[] {
    try {
      return this.commitTransaction(batch);
    } catch (err) {
      this.readings.forgetCachedSeries();
      throw err;
    }
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
        const deleted = pruneChunk(limit);
        result[table] += deleted;
        budget -= deleted;
        if (deleted < limit) break;
      }
    }
    return result;
  }
}
