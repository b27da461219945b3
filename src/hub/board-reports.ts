// What a board reports without being asked (protocol.md §7, §10.4), the same whether it dialed
// the hub (hub mode) or the hub dialed it (pull mode): readings into the store, events into the
// log, and the hub's view of its state kept current.
import type { JsonObject } from '../protocol/codec.js';
import { isObject } from '../protocol/json.js';
import { isUptime, MAX_UPTIME_MS } from '../protocol/events.js';
import { parseBoardInfo, parseBoardState } from '../protocol/replies.js';
import type { IngestSink } from './device-link.js';
import { readingRows } from './readings.js';
import type { HubUpdate } from './types.js';

export interface BoardReportsDeps {
  ingest: IngestSink;
  publish(update: HubUpdate): void;
  wallNow(): number;
  /** Something changed the board's outputs (a lease ended): ask it for its state again. */
  stateStale(): void;
}

export class BoardReports {
  /** Wall-clock ms at the board's uptime 0, for this boot. */
  bootEpoch: number | null = null;
  private reported: JsonObject | null = null;
  /** Wall-clock ms when it was reported. */
  private reportedAt = 0;
  /** Readings waiting for their commit (one promise for a board's readings in one commit) to be published. */
  private unpublished: { committed: Promise<void>; readings: Array<{ body: JsonObject; ts: number }> } | undefined;

  constructor(
    private readonly device: string,
    private readonly deps: BoardReportsDeps,
  ) {}

  /** Wall-clock ms when the board's current link came up; null while it has none (the links keep it). */
  linkedSince: number | null = null;

  /** bootEpoch to the ms, as the API shows it; null before the board reported its uptime. */
  get bootedAt(): number | null {
    return this.bootEpoch === null ? null : Math.round(this.bootEpoch);
  }

  /**
   * The board's last reported state, with each lease's `expires_in_s` counted down to now: a view
   * read a while after the report (GET …/state) must not show a lease longer than the board has it.
   */
  get state(): JsonObject | null {
    return this.reported === null ? null : leasesCountedDown(this.reported, (this.deps.wallNow() - this.reportedAt) / 1000);
  }

  /** The board's state as it reported it (a `state` event or a `get_state` reply). */
  setState(state: JsonObject): void {
    this.reported = omit(state, 'event', 'ts', 'ok', 'action', 'id', 'seq');
    this.reportedAt = this.deps.wallNow();
    this.deps.publish({ type: 'state', device: this.device, state: this.reported });
  }

  /** Takes an event; resolves when what it stored committed (the link acknowledges it then). */
  take(body: JsonObject, seq: number): Promise<void> {
    const name = String(body['event']);
    const device = this.device;
    if (body['ts'] !== undefined && !isUptime(body['ts'])) {
      // Refused on this board's link alone: logged as an event, acknowledged, never stored as a
      // reading (a time no column holds would fail the commit of every board in its batch).
      const data = { code: 'bad_field', field: 'ts', event: name, value: JSON.stringify(body['ts']) ?? null, message: `ts must be the board's uptime in ms, 0 to ${MAX_UPTIME_MS}` };
      return this.deps.ingest.add({ device, seq, events: [{ device, ts: this.deps.wallNow(), type: 'refused', data }] });
    }
    const unstorable = nulField(name, body);
    if (unstorable !== undefined) {
      // No store keeps a NUL in its text (PostgreSQL refuses it): refused here, or every resend
      // of the message would fail its commit and stall the board's stream.
      const data = { code: 'bad_field', field: unstorable, event: name, message: `${unstorable} holds a NUL character, which the hub cannot store` };
      return this.deps.ingest.add({ device, seq, events: [{ device, ts: this.deps.wallNow(), type: 'refused', data }] });
    }
    const ts = typeof body['ts'] === 'number' ? this.wallTime(body['ts']) : this.deps.wallNow();
    switch (name) {
      case 'reading': {
        const committed = this.deps.ingest.add({ device, seq, readings: readingRows(device, body, ts) });
        this.publishOnCommit(committed, body, ts);
        return committed;
      }
      case 'state':
        this.setState(body);
        return this.deps.ingest.add({ device, seq });
      default: {
        if (name === 'edge') this.applyEdge(body);
        if (name === 'lease_expired') this.deps.stateStale();
        return this.deps.ingest.add({ device, seq, events: [{ device, ts, type: name, data: omit(body, 'event', 'ts', 'seq') }] });
      }
    }
  }

  /** The board's uptime `ts` on the hub's wall clock: readings sent after an outage keep their time. */
  private wallTime(ts: number): number {
    const now = this.deps.wallNow();
    // Without a known boot time, the smallest lag seen so far is the best guess of it.
    if (this.bootEpoch === null || now - ts < this.bootEpoch) this.bootEpoch = now - ts;
    return Math.round(this.bootEpoch + ts);
  }

  /** Publishes the reading once it committed, with the others of its commit. */
  private publishOnCommit(committed: Promise<void>, body: JsonObject, ts: number): void {
    if (this.unpublished?.committed !== committed) {
      const waiting = { committed, readings: [] as Array<{ body: JsonObject; ts: number }> };
      this.unpublished = waiting;
      void committed.then(
        () => {
          if (this.unpublished === waiting) this.unpublished = undefined;
          for (const r of waiting.readings) this.publishReading(r.body, r.ts);
        },
        () => {
          if (this.unpublished === waiting) this.unpublished = undefined;
        },
      );
    }
    this.unpublished.readings.push({ body, ts });
  }

  private publishReading(body: JsonObject, ts: number): void {
    const values = (body['values'] ?? {}) as Record<string, number>;
    const units = (body['units'] ?? {}) as Record<string, string>;
    this.deps.publish({ type: 'reading', device: this.device, sensor: String(body['sensor']), ts, values, units });
  }

  private applyEdge(body: JsonObject): void {
    const pins = this.reported?.['pins'];
    if (!Array.isArray(pins)) return;
    const slot = (pins as JsonObject[]).find((p) => p['pin'] === body['pin']);
    if (slot === undefined) return;
    slot['value'] = body['value'];
    this.deps.publish({ type: 'state', device: this.device, state: this.reported as JsonObject });
  }
}

/** The subscriptions that make a board report everything: each sensor, and each input's edges. */
export function reportSubscriptions(reply: JsonObject, intervalMs: number): JsonObject[] {
  const state = parseBoardState(reply);
  const sensors = state.sensors;
  const inputs = state.pins.filter((p) => p.mode === 'input').map((p) => p.pin);
  return [...sensors.map((sensor) => ({ action: 'subscribe', sensor, interval_ms: intervalMs })), ...inputs.map((pin) => ({ action: 'subscribe', pin, edge: 'both' }))];
}

/** The WiFi signal strength (dBm) in a get_info reply; undefined for a board without WiFi (or one that does not say). */
export function signalOf(reply: JsonObject): number | undefined {
  return parseBoardInfo(reply)?.rssi ?? undefined;
}

/** Replies after which the hub asks for the board's state again, so its view shows the change. */
const CHANGES_STATE = new Set(['write_pin', 'pwm', 'setup_pin', 'reset']);

export function changesState(reply: JsonObject): boolean {
  return reply['ok'] === true && CHANGES_STATE.has(String(reply['action']));
}

export function omit(body: JsonObject, ...keys: string[]): JsonObject {
  const copy = { ...body };
  for (const key of keys) delete copy[key];
  return copy;
}

/** The state with every lease's time left (pins[].lease and leases[]) less `elapsedS`, never below 0. */
export function leasesCountedDown(state: JsonObject, elapsedS: number): JsonObject {
  if (elapsedS <= 0) return state;
  const less = (lease: unknown): unknown => {
    if (typeof lease !== 'object' || lease === null || Array.isArray(lease)) return lease;
    const left = (lease as JsonObject)['expires_in_s'];
    return typeof left === 'number' ? { ...lease, expires_in_s: Math.max(0, Math.round((left - elapsedS) * 1000) / 1000) } : lease;
  };
  const out: JsonObject = { ...state };
  const pins: unknown = state['pins'];
  if (Array.isArray(pins)) out['pins'] = pins.map((p: unknown) => (isObject(p) && 'lease' in p ? { ...p, lease: less(p['lease']) } : p));
  if (Array.isArray(state['leases'])) out['leases'] = state['leases'].map(less);
  return out;
}

/**
 * The field of a board's event whose text a store could not hold, or undefined: the event's name,
 * and a reading's sensor, quantities and units, go into text columns as they are (the rest of an
 * event is stored as JSON, where a NUL is escaped).
 */
function nulField(name: string, body: JsonObject): string | undefined {
  const hasNul = (text: unknown) => typeof text === 'string' && text.includes('\u0000');
  if (hasNul(name)) return 'event';
  if (name !== 'reading') return undefined;
  if (hasNul(body['sensor'])) return 'sensor';
  for (const field of ['values', 'units'] as const) {
    const map = body[field];
    if (typeof map !== 'object' || map === null) continue;
    for (const [key, value] of Object.entries(map)) if (hasNul(key) || (field === 'units' && hasNul(value))) return field;
  }
  return undefined;
}
