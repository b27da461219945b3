// The rows both stores keep, column by column, and what each becomes for the hub: SQLite and
// PostgreSQL name their columns alike, so a row read from either is turned into a record here,
// once. (SQLite gives booleans as 0/1, PostgreSQL as true/false.)
import type { DeviceRecord, RolloutBoardState, RolloutBoardView, RolloutState, RolloutSummary, RolloutView, SensorSummary, StoredEvent } from '../types.js';
import type { JsonObject } from '../../protocol/codec.js';
import type { BoardChange, LinkState } from './port.js';

export interface DeviceRow {
  id: string;
  name: string;
  firmware: string;
  capabilities: string;
  boot_id: string | null;
  first_seen: number | null;
  last_seen: number | null;
  online: number | boolean;
  address: string | null;
  rssi: number | null;
}

export const DEVICE_COLUMNS = 'id, name, firmware, capabilities, boot_id, first_seen, last_seen, online, address, rssi';

export function deviceRecordOf(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    name: row.name,
    online: row.online === true || row.online === 1,
    firmware: row.firmware,
    capabilities: JSON.parse(row.capabilities) as string[],
    bootId: row.boot_id,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    address: row.address,
    rssi: row.rssi,
  };
}

export interface LinkRow {
  boot_id: string | null;
  boot_epoch: number | null;
  rx_committed: number;
  tx_stream: string;
  tx_last: number;
  subscribed_boot: string | null;
}

export function linkStateOf(row: LinkRow): LinkState {
  return {
    bootId: row.boot_id,
    bootEpoch: row.boot_epoch,
    rxCommitted: row.rx_committed,
    txStream: row.tx_stream,
    txLast: row.tx_last,
    subscribedBoot: row.subscribed_boot,
  };
}

export function linkRowOf(device: string, s: LinkState): LinkRow & { device: string } {
  return {
    device,
    boot_id: s.bootId,
    boot_epoch: s.bootEpoch,
    rx_committed: s.rxCommitted,
    tx_stream: s.txStream,
    tx_last: s.txLast,
    subscribed_boot: s.subscribedBoot,
  };
}

export interface EventRow {
  id: number;
  device: string;
  ts: number;
  type: string;
  data: string;
}

export function storedEventOf(row: EventRow): StoredEvent {
  return { id: row.id, device: row.device, ts: row.ts, type: row.type, data: JSON.parse(row.data) as JsonObject };
}

export interface SeriesRow {
  device: string;
  sensor: string;
  quantity: string;
  unit: string | null;
  last_ts: number;
  last_value: number;
}

/** What names a series: one quantity of one sensor of one board. */
export interface SeriesName {
  device: string;
  sensor: string;
  quantity: string;
}

/** Length-prefixed, so that no two (device, sensor, quantity) triples share a key. */
export function seriesKey(r: SeriesName): string {
  return `${r.device.length}:${r.device}${r.sensor.length}:${r.sensor}${r.quantity}`;
}

/** Whether two readings are of one series: cheaper than their keys, and a message's readings mostly are. */
export function sameSeries(a: SeriesName, b: SeriesName): boolean {
  return a.quantity === b.quantity && a.sensor === b.sensor && a.device === b.device;
}

export function summaryOf(s: SeriesRow): SensorSummary {
  return { sensor: s.sensor, quantity: s.quantity, unit: s.unit, lastTs: s.last_ts, lastValue: s.last_value };
}

export interface RolloutRow {
  id: number;
  version: string;
  wave_size: number;
  state: RolloutState;
  created_by: string;
  created_at: number;
  ended_at: number | null;
  reason: string | null;
}

export const ROLLOUT_COLUMNS = 'id, version, wave_size, state, created_by, created_at, ended_at, reason';

export interface RolloutBoardRow {
  device: string;
  wave: number;
  state: RolloutBoardState;
  phase: string | null;
  from_version: string | null;
  version: string | null;
  sent_bytes: number;
  total_bytes: number;
  error: string | null;
  started_at: number | null;
  ended_at: number | null;
}

export const ROLLOUT_BOARD_COLUMNS = 'device, wave, state, phase, from_version, version, sent_bytes, total_bytes, error, started_at, ended_at';

/** How many rollouts GET /api/rollouts lists, newest first. */
export const ROLLOUT_LIST_LIMIT = 100;

/** The column of each field of a board's part that a change may set. */
export const BOARD_CHANGE_COLUMNS: Record<keyof BoardChange, string> = {
  state: 'state',
  phase: 'phase',
  fromVersion: 'from_version',
  version: 'version',
  sentBytes: 'sent_bytes',
  totalBytes: 'total_bytes',
  error: 'error',
  startedAt: 'started_at',
  endedAt: 'ended_at',
};

/** A change's fields that are set, each with its column value (the error as JSON text). */
export function boardChangeValues(change: BoardChange): Array<{ key: keyof BoardChange; column: string; value: unknown }> {
  return (Object.keys(change) as Array<keyof BoardChange>)
    .filter((k) => change[k] !== undefined)
    .sort()
    .map((key) => ({ key, column: BOARD_CHANGE_COLUMNS[key], value: key === 'error' ? (change.error === null ? null : JSON.stringify(change.error)) : change[key] }));
}

export function rolloutViewOf(row: RolloutRow, boards: readonly RolloutBoardRow[]): RolloutView {
  return {
    id: row.id,
    version: row.version,
    waveSize: row.wave_size,
    state: row.state,
    createdBy: row.created_by,
    createdAt: row.created_at,
    endedAt: row.ended_at,
    reason: row.reason === null ? null : (JSON.parse(row.reason) as RolloutSummary['reason']),
    boards: boards.map(
      (b): RolloutBoardView => ({
        device: b.device,
        wave: b.wave,
        state: b.state,
        phase: b.phase,
        fromVersion: b.from_version,
        version: b.version,
        sentBytes: b.sent_bytes,
        totalBytes: b.total_bytes,
        error: b.error === null ? null : (JSON.parse(b.error) as RolloutBoardView['error']),
        startedAt: b.started_at,
        endedAt: b.ended_at,
      }),
    ),
  };
}
