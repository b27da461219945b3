// The hub's storage port: everything the hub keeps, behind one asynchronous interface with two
// implementations that pass the same contract suite (test/hub/store/contract.ts):
//
//   - sqlite/   the embedded default: one file in the data folder, no service to run;
//   - postgres/ for several hubs sharing one database (docs/scaling.md).
//
// Every method resolves once what it wrote has committed. A write the storage refuses for lack
// of room (a full disk, a read-only file system, a database out of space) rejects with
// storage_full and makes the store `full` (storage-health.ts): later writes are refused at once
// until probe() gets one through. Bookkeeping writes (a board's presence and signal, which
// commands it acknowledged) resolve with a "skipped" value instead: each is written again at the
// board's next link, and a full disk must not break a link or stop the hub over them.
import type { ApiIdentity, ApiScope } from '../api-scope.js';
import type { JsonObject } from '../../protocol/codec.js';
import type {
  DeviceRecord,
  DeviceSensorSummary,
  EventsQuery,
  Reading,
  ReadingBucket,
  ReadingsQuery,
  RolloutState,
  RolloutSummary,
  RolloutView,
  RolloutBoardView,
  SensorSummary,
  StoredEvent,
} from '../types.js';
import type { StorageHealth } from './storage-health.js';

export interface LinkedInfo {
  firmware: string;
  capabilities: string[];
  bootId: string;
  /** Wall-clock ms. */
  now: number;
}

export interface LinkState {
  bootId: string | null;
  /** Wall-clock ms at the board's uptime 0 in that boot. */
  bootEpoch: number | null;
  /** The last board message committed. */
  rxCommitted: number;
  /** The id of the hub's stream to this board. */
  txStream: string;
  /** The last number the hub gave a message to this board. */
  txLast: number;
  /** The boot the hub set up subscriptions for. */
  subscribedBoot: string | null;
}

export interface OutboxEntry {
  seq: number;
  body: JsonObject;
}

export type NewEvent = Omit<StoredEvent, 'id'>;

export interface StoredRule {
  name: string;
  definition: JsonObject;
  enabled: boolean;
  /** Wall-clock ms. */
  createdAt: number;
  updatedAt: number;
  /** The name of the API token that made the last change. */
  updatedBy: string;
}

export interface RuleDefinition {
  name: string;
  definition: JsonObject;
  enabled: boolean;
}

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

/** What the stored data takes, in bytes. */
export interface StoreSize {
  /** The data in use (for SQLite its pages in use: free pages are filled before the file grows). */
  used: number;
  /** A write-ahead log kept beside it (SQLite's WAL file); 0 where the server manages its own. */
  wal: number;
}

export interface ApiTokenView {
  name: string;
  scope: ApiScope;
  /** Wall-clock ms. */
  createdAt: number;
}

/** Named API tokens with their scopes (the admin token is the file <data>/api-token). */
export interface ApiTokenStore {
  /** Makes a token and returns it with its entry: the only time the token itself is seen. */
  create(name: string, scope: ApiScope, now?: number): Promise<{ token: string; view: ApiTokenView }>;
  /** Sorted by name; never the tokens themselves, which the hub does not have. */
  list(): Promise<ApiTokenView[]>;
  /** False when no token has that name. */
  revoke(name: string): Promise<boolean>;
  /** The entry `token` belongs to, compared in constant time against every stored hash. */
  verify(token: string): Promise<ApiIdentity | undefined>;
}

/** The fields of a board's part in a rollout that a change may set; the others keep their value. */
export type BoardChange = Partial<Omit<RolloutBoardView, 'device' | 'wave'>>;

/** Firmware rollouts and each board's part in one (the ota module's). */
export interface RolloutStore {
  /**
   * A new running rollout of this hub (the store's hubId) with every board waiting; the first
   * `waveSize` are wave 1. Rejects board_in_rollout when a board is in a running rollout already.
   */
  create(version: string, boards: readonly string[], waveSize: number, by: string, now: number): Promise<RolloutView>;
  get(id: number): Promise<RolloutView | undefined>;
  /** The newest first. */
  list(): Promise<RolloutView[]>;
  /** This hub's running rollouts, oldest first (to resume at its start); other hubs run theirs. */
  running(): Promise<RolloutView[]>;
  /** The running rollout the board is part of, if any. */
  rolloutOf(device: string): Promise<number | undefined>;
  /** A running rollout that sends this release, if any (a release in use is not removed). */
  usingRelease(version: string): Promise<number | undefined>;
  /** Ends a running rollout; false when it had ended already. */
  end(id: number, state: Exclude<RolloutState, 'running'>, now: number, reason: RolloutSummary['reason']): Promise<boolean>;
  updateBoard(id: number, device: string, change: BoardChange): Promise<void>;
}

export interface StoreOptions {
  /** Wall-clock ms, for when the store became full (default Date.now). */
  wallNow?: () => number;
  /** This hub's id (hub-id.ts), recorded with the boards it holds; hubs sharing a store differ. */
  hubId?: string;
}

export interface HubStore {
  /** Which implementation: reported by the hub and used where the two differ in what they can do. */
  readonly kind: 'sqlite' | 'postgres';
  /** Whether writes go through now; the hub reports it and refuses what it cannot store. */
  readonly health: StorageHealth;
  readonly apiTokens: ApiTokenStore;
  readonly rollouts: RolloutStore;

  close(): Promise<void>;

  // ── Registry ──

  /** Registers a board and returns its token, which is stored only hashed: shown this once. */
  addDevice(id: string, options?: { name?: string; address?: string }): Promise<{ token: string }>;
  /** A new token for a registered board; the old one stops working at once. Rejects not_found. */
  rotateToken(id: string): Promise<string>;
  /** Forgets the board, its link state and its unsent commands; telemetry ages out as usual. */
  removeDevice(id: string): Promise<boolean>;
  /**
   * Calls the listener with a board's id after a registry write through this store object
   * committed (registered, a new token, removed), until the returned function is called.
   */
  onRegistryWrite(listener: (id: string) => void): () => void;
  /** The board key the link checks a board with (the token's SHA-256); undefined for an unknown id. */
  keyOf(id: string): Promise<Buffer | undefined>;
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  /** Sorted by id. */
  listDevices(): Promise<DeviceRecord[]>;
  /**
   * The board linked to this hub (the store's hubId): it is online and this hub holds it. False
   * when the id is not registered (the board was removed meanwhile) or the store is full.
   */
  markLinked(id: string, info: LinkedInfo): Promise<boolean>;
  /** The WiFi signal strength (dBm) the board reported; false when unknown or the store is full. */
  setSignal(id: string, rssi: number): Promise<boolean>;
  /**
   * The board's link to this hub ended. Only the hub holding it marks it offline: when a board
   * moved to another hub sharing the store, the old hub's late goodbye changes nothing (false).
   */
  markOffline(id: string, now: number): Promise<boolean>;
  /** The id of the hub holding the board's link now; null while it is offline (or unknown). */
  linkedHub(id: string): Promise<string | null>;
  touch(id: string, now: number): Promise<boolean>;
  /**
   * At hub start: the boards this hub held are offline (boards other hubs hold stay online). 0
   * when the store is full (the API shows liveness from the links, not this flag).
   */
  markAllOffline(): Promise<number>;

  // ── Rules made through the API ──

  /** In the order they were made. */
  storedRules(): Promise<StoredRule[]>;
  /** Rejects conflict when a rule has that name. */
  addRule(rule: RuleDefinition, at: number, by: string): Promise<void>;
  /** Replaces the rule named `old` (the new one may have another name); false when there is none. */
  replaceRule(old: string, rule: RuleDefinition, at: number, by: string): Promise<boolean>;
  removeRule(name: string): Promise<boolean>;

  // ── Link state and the command outbox ──

  /** The board's state; one never linked gets a fresh stream, stored at once. Rejects not_found. */
  getLinkState(id: string): Promise<LinkState>;
  /**
   * Stores the fields given, keeping the others. rxCommitted is advanced by commit(); within the
   * same boot a save never moves it back (a stale copy cannot undo commits), so it resets only
   * together with a new bootId. Rejects not_found for an unregistered id.
   */
  saveLinkState(id: string, state: Partial<LinkState>): Promise<LinkState>;
  /**
   * Keeps a command for the board and records its number as the stream's last, in one
   * transaction: after a restart the hub numbers on from there even when every kept command was
   * acknowledged and deleted (the board would take a reused number for a duplicate).
   */
  outboxAdd(id: string, seq: number, body: JsonObject): Promise<void>;
  /** The hub subscribed the board to its sensors and inputs in this boot (skipped when full). */
  setSubscribedBoot(id: string, boot: string): Promise<void>;
  /** Drops the commands up to and including `ack` (serial arithmetic); how many (0 when full). */
  outboxAck(id: string, ack: number): Promise<number>;
  /** Oldest first: the order to send them again in. */
  outboxPending(id: string): Promise<OutboxEntry[]>;
  /** The board rebooted: commands not delivered are dropped; the caller fails them back. */
  outboxClear(id: string): Promise<number>;

  // ── Telemetry ──

  /**
   * Stores readings, events and how far each board's stream is committed in one transaction, so
   * that the hub never acknowledges what a crash could lose, nor stores anything twice. Returns
   * the events with their ids.
   */
  commit(batch: CommitBatch): Promise<StoredEvent[]>;
  /** Raw points, or min/max/avg/count per bucketMs (aligned to its multiples); by sensor, quantity, ts. */
  queryReadings(q: ReadingsQuery): Promise<ReadingBucket[]>;
  /** The board's series with their latest point, by sensor and quantity. */
  sensorsOf(device: string): Promise<SensorSummary[]>;
  /** Every board's series with their latest point, by device, sensor and quantity. */
  latestSensors(): Promise<DeviceSensorSummary[]>;
  /** Newest first; with afterId, the oldest after it first (paging forward). */
  queryEvents(q: EventsQuery): Promise<StoredEvent[]>;

  // ── Storage ──

  /** Writes (and deletes) a little, even while full: true when that went through and the store is writable again. */
  probe(): Promise<boolean>;
  /** What the stored data takes now (retention.max_mb bounds it). */
  size(): Promise<StoreSize>;
  /** Folds a write-ahead log into the data where the store keeps one; false when it could not finish now. */
  checkpoint(): Promise<boolean>;
  /**
   * Deletes readings and events older than nowMs - retentionMs, oldest first, in steps that keep
   * other writers waiting only briefly. At most maxRows per call: while `more` says rows are
   * left, call again on a later turn of the event loop.
   */
  prune(nowMs: number, retentionMs: number, options?: { maxRows?: number }): Promise<PruneResult>;
  /** Deletes about maxRows of the oldest readings, or once none are left the oldest events: retention by size. */
  pruneOldest(maxRows: number): Promise<PruneResult>;
}
