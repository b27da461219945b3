// The hub's shared vocabulary: what its parts (link server, store, rules, API) pass to each
// other. Nothing here does I/O.
import type { JsonObject } from '../protocol/json.js';

/** A registered board as the store keeps it: what the hub last knew of it, linked now or not. */
export interface DeviceRecord {
  id: string;
  name: string;
  online: boolean;
  firmware: string;
  capabilities: string[];
  /** The board's current boot id (null before its first link). */
  bootId: string | null;
  /** Wall-clock ms (Date.now()) of the first and the latest link activity; null when never seen. */
  firstSeen: number | null;
  lastSeen: number | null;
  /** Where the hub dials it (pull mode), or null for a board that dials in. */
  address: string | null;
  /** WiFi signal strength in dBm as the board last reported it (get_info `rssi`), or null when it never did. */
  rssi: number | null;
}

/** A registered board as the API shows it: its record, with its link as it is now (docs/api.md#get-apidevices). */
export interface DeviceView extends DeviceRecord {
  /** Wall-clock ms when the board's current link came up (its latest `online` event); null while it is offline. */
  linkedSince: number | null;
  /**
   * Wall-clock ms when the board's current boot started: its reported uptime counted back from
   * when it reported it, on the hub's clock. Null while it is offline or before it reported one.
   */
  bootedAt: number | null;
}

/** One reading as stored: a single number of one sensor at one wall-clock time. */
export interface Reading {
  device: string;
  sensor: string;
  /** The key in the reading's `values`, e.g. "temperature". */
  quantity: string;
  /** Wall-clock ms (the board's own timestamp mapped onto the hub's clock). */
  ts: number;
  value: number;
  unit: string | null;
}

export interface ReadingsQuery {
  device: string;
  sensor?: string;
  quantity?: string;
  /** Wall-clock ms, inclusive from, exclusive to. */
  from: number;
  to: number;
  /** Downsampling bucket; absent or 0 means raw points. */
  bucketMs?: number;
  /** At most this many rows (raw) or buckets. */
  limit?: number;
}

/** A bucket of downsampled readings, or a raw point (min = max = avg, count 1). */
export interface ReadingBucket {
  sensor: string;
  quantity: string;
  /** Start of the bucket (or the point's ts). */
  ts: number;
  min: number;
  max: number;
  avg: number;
  count: number;
}

/** A sensor a board has reported readings for, with its latest value of one quantity. */
export interface SensorSummary {
  sensor: string;
  quantity: string;
  unit: string | null;
  /** Wall-clock ms of the latest reading. */
  lastTs: number;
  lastValue: number;
}

/** A SensorSummary with the board it belongs to, for lists of every board. */
export interface DeviceSensorSummary extends SensorSummary {
  device: string;
}

/** A stored event: something a board said (lease_expired, edge, …) or the hub noticed. */
export interface StoredEvent {
  id: number;
  device: string;
  ts: number;
  /** The event name: a board event (`lease_expired`, `edge`, …) or a hub one (`online`, `offline`, `rule_fired`, `rule_failed`, `command_reply`). */
  type: string;
  data: JsonObject;
}

export interface EventsQuery {
  device?: string;
  type?: string;
  /** Only events with a larger id (for paging forward). */
  afterId?: number;
  from?: number;
  to?: number;
  limit?: number;
}

/** Whether the hub can store what boards send (docs/hub.md, "When the disk fills"). */
export interface StorageStatus {
  /** `full`: a write failed for lack of a writable disk; nothing is stored or acknowledged until one goes through again. */
  state: 'ok' | 'full';
  /** Wall-clock ms of the failed write that made it full; null while ok. */
  since: number | null;
  /** What that write said, e.g. "SQLITE_FULL: database or disk is full"; null while ok. */
  error: string | null;
  /** What the database takes now: its pages in use and its WAL, in bytes. */
  bytes: number;
  /** retention.max_mb in bytes; null when the store has no size bound. */
  maxBytes: number | null;
}

/** What the hub tells live listeners (WebSocket, rules, dashboard). */
export type HubUpdate =
  | { type: 'device'; device: DeviceView }
  | { type: 'state'; device: string; state: JsonObject }
  | { type: 'reading'; device: string; sensor: string; ts: number; values: Record<string, number>; units: Record<string, string> }
  | { type: 'event'; device: string; event: StoredEvent }
  /** A board's part in a rollout changed (its progress, its result, or the rollout's state). */
  | { type: 'rollout'; device: string; rollout: RolloutSummary; board: RolloutBoardView };

/** What the rules engine keeps of a running rule or binding. */
export interface RuleActivity {
  name: string;
  kind: 'rule' | 'binding';
  description: string;
  lastFired: number | null;
  fired: number;
  lastError: string | null;
}

/** A rule as the API lists it. */
export interface RuleView extends RuleActivity {
  /** `config`: the hub config file's, read-only through the API; `api`: made through the API and kept in the store. */
  source: 'config' | 'api';
  /** A disabled rule is kept but not run; a config file's rule is always enabled. */
  enabled: boolean;
  /** The rule as a hub config's rules[] (or bindings[]) entry, defaults filled in. */
  definition: JsonObject;
}

/** One time a dry run's rule would have acted: `device` is the board it would have written to (or that triggered an http rule). */
export interface DryRunFiring {
  ts: number;
  device: string;
  /** As in a `rule_fired` event: `{pin, value, lease_s, trigger}`, or `{http, trigger}`. */
  detail: JsonObject;
}

/** One command a dry run's rule would have sent (renewals included), or one http request. */
export interface DryRunWrite {
  ts: number;
  device: string;
  /** The protocol request (write_pin, pwm), or `{http: {method, url}}`. */
  request: JsonObject;
}

/** What a rule would have done over a time range of stored readings and edges. */
export interface DryRun {
  rule: string;
  /** Wall-clock ms, inclusive from, exclusive to. */
  from: number;
  to: number;
  /** How many stored readings and edges it was fed. */
  readings: number;
  edges: number;
  fired: DryRunFiring[];
  writes: DryRunWrite[];
  /** More happened than the lists hold (they keep the first DRY_RUN_MAX_ENTRIES). */
  truncated: boolean;
}

/** The rules the hub runs: the config file's, read-only, and the API's, kept in the store. */
export interface RuleBook {
  list(): RuleView[];
  /** Each change takes the name of the API token making it, for the `rule_changed` event. */
  create(definition: unknown, by: string): Promise<RuleView>;
  /** Replaces a rule made through the API; the definition may rename it. */
  update(name: string, definition: unknown, by: string): Promise<RuleView>;
  setEnabled(name: string, enabled: boolean, by: string): Promise<RuleView>;
  remove(name: string, by: string): Promise<void>;
  /** What a rule (a listed one by name, or a definition not saved) would have done over the last hour. */
  dryRun(rule: { name: string } | { definition: unknown }): Promise<DryRun>;
}

export interface CommandOptions {
  /** How long to wait for the reply (default 10 s). */
  timeoutMs?: number;
  /**
   * A lease write (a renewal above all) that must reach the board within this many ms or not at
   * all: queued through a link outage and sent later, it would switch the output on again after
   * its lease ended (docs/hub.md, "Leases held by the hub"). Late, it fails with `expired`.
   */
  deliverWithinMs?: number;
}

/** What rules and the API may ask of the hub: a command to a board, answered by its reply. */
export interface CommandSender {
  /**
   * Sends a protocol v1 request (without `id`; the hub numbers it) to a board and resolves with
   * the board's reply, `error` included when the board refused. Rejects with a HubError when the
   * board is unknown (`not_found`), offline (`device_offline`) or does not answer in time (`timeout`).
   */
  command(deviceId: string, request: JsonObject, options?: CommandOptions): Promise<JsonObject>;
}

/** The MQTT bridge's connection to its broker, as GET /api/hub and the dashboard show it. */
export interface MqttStatus {
  /** `connecting`: the first try or a retry under way; `down`: waiting to try again after `error`. */
  state: 'connecting' | 'connected' | 'down';
  /** The broker URL (never with credentials: the config refuses them in a URL). */
  url: string;
  /** Wall-clock ms the state began. */
  since: number;
  /** Why the last try failed or the connection dropped, e.g. "connection refused: not authorized"; null when none has. */
  error: string | null;
  /** Wall-clock ms of the next try while down; null otherwise. */
  retryAt: number | null;
}

/** The hub itself, as GET /api/hub shows it. */
export interface HubInfo {
  /** The stable id in <data>/hub-id (Home Assistant's unique_ids use it). */
  id: string;
  version: string;
  /** null when the hub config has no mqtt section. */
  mqtt: MqttStatus | null;
}

/** What a board needs to link to the hub, each piece ready to copy (board-link-material.ts renders it). */
export interface BoardLinkMaterial {
  /** The firmware's config/hub.json, one line; it holds the token. */
  hubJson: string;
  /** Where hubJson goes on a Pico W or ESP32. */
  hubJsonPath: 'config/hub.json';
  /** The file the token goes in for `tether device` (and the line below), readable only by its owner. */
  tokenFile: string;
  /** `tether device …` for a Raspberry Pi or other Linux board; it reads the token from tokenFile. */
  deviceCommand: string;
  /**
   * `tether install …` for a board on USB of the machine the hub runs on, or undefined when the
   * hub's HTTP address is not known. It takes the token up from installTokenFile (docs/install.md).
   */
  installCommand?: string;
  /** The file the token goes in for the install line: tether install takes up a token kept there. */
  installTokenFile: string;
  /** What the user must fix by hand before the material works, each a sentence. */
  notes: string[];
}

/** A board's token and its link material, shown once: the hub keeps only the token's SHA-256. */
export interface NewBoardLink {
  device: DeviceView;
  token: string;
  link: BoardLinkMaterial;
}

/** A firmware rollout (docs/hub.md, "Rolling a release out"): `running` until it is `done`, `stopped` by a board's failure, or `cancelled`. */
export type RolloutState = 'running' | 'done' | 'stopped' | 'cancelled';

/**
 * One board's part in a rollout. `waiting`: not started; `updating`: under way (see `phase`);
 * `confirmed`: it runs the release and confirmed it healthy; `unchanged`: it held the release
 * already; `failed`: see `error`; `aborted`: a cancel or the hub stopping ended its update;
 * `skipped`: the rollout ended before its turn.
 */
export type RolloutBoardState = 'waiting' | 'updating' | 'confirmed' | 'unchanged' | 'failed' | 'aborted' | 'skipped';

export interface RolloutBoardView {
  device: string;
  /** 1 for the first wave, 2 for the rest. */
  wave: number;
  state: RolloutBoardState;
  /** While updating: `connecting`, `planned`, `uploading`, `committed` (restarting), `on_trial`; else null. */
  phase: string | null;
  /** The version it ran when its update began; null before. */
  fromVersion: string | null;
  /** The version it runs, as last heard during the rollout; null before. */
  version: string | null;
  /** Bytes of this update sent so far (a resumed upload counts what the board had), of totalBytes. */
  sentBytes: number;
  totalBytes: number;
  /** Why it failed or was aborted: an OtaError code (docs/firmware.md), a board's or the hub's code. */
  error: { code: string; message: string } | null;
  /** Wall-clock ms. */
  startedAt: number | null;
  endedAt: number | null;
}

export interface RolloutSummary {
  id: number;
  /** The release (`tether hub release list`). */
  version: string;
  /** How many boards the first wave has. */
  waveSize: number;
  state: RolloutState;
  /** The API token's name that started it. */
  createdBy: string;
  createdAt: number;
  endedAt: number | null;
  /** Why it stopped or who cancelled it: the board and its error code, or the token's name with code `cancelled`. */
  reason: { device: string | null; code: string; message: string } | null;
}

export interface RolloutView extends RolloutSummary {
  /** In the order given: the first `waveSize` are wave 1. */
  boards: RolloutBoardView[];
}

/** A firmware release the hub keeps (`tether hub release add`), as GET /api/releases lists it. */
export interface ReleaseView {
  version: string;
  /** Wall-clock ms when it was added. */
  addedAt: number;
  /** How many files a board takes from it. */
  files: number;
  /** Their bytes together: what a board that holds none of them is sent. */
  totalBytes: number;
  /** The SHA-256 over its manifest (store/releases.ts). */
  digest: string;
}

/** What the API asks of the hub's rollouts (the ota module). */
export interface RolloutControl {
  /** The releases a rollout may send, oldest first. */
  releases(): ReleaseView[];
  /** Newest first. */
  list(): Promise<RolloutView[]>;
  get(id: number): Promise<RolloutView | undefined>;
  /** Starts a rollout; rejects with a coded HubError (unknown_release, not_found, board_in_rollout, no_boards, bad_request). */
  start(request: { version: string; boards: string[]; waveSize: number }, by: string): Promise<RolloutView>;
  /** Ends a running rollout: no board starts, updates under way are aborted. */
  cancel(id: number, by: string): Promise<RolloutView>;
}
