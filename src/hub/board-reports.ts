// What a board reports without being asked (protocol.md §7, §10.4), the same whether it dialed
// the hub (hub mode) or the hub dialed it (pull mode): readings into the store, events into the
// log, and the hub's view of its state kept current.
import type { JsonObject } from '../protocol/codec.js';
import { isObject } from '../protocol/json.js';
import { isUptime, MAX_UPTIME_MS } from '../protocol/events.js';
import { BATCH_EVENTS } from '../protocol/link/messages.js';
import { parseBoardInfo, parseBoardState } from '../protocol/replies.js';
import type { IngestSink } from './device-link.js';
import { readingRows } from './readings.js';
import type { NewEvent } from './store/port.js';
import type { HubUpdate, Reading } from './types.js';

/** A reading event and its time on the hub's clock, published once it committed. */
interface Published {
  body: JsonObject;
  ts: number;
}

/** What one message from the board stores, and the readings to publish once that committed. */
interface Collected {
  readings: Reading[];
  events: NewEvent[];
  published: Published[];
}

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
  private unpublished: { committed: Promise<void>; readings: Published[] } | undefined;

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

  /**
   * Takes an event, or a batch of them (protocol.md §10.4); resolves when what it stored
   * committed (the link acknowledges it then). A batch is one message: its events commit together.
   */
  take(body: JsonObject, seq: number): Promise<void> {
    const out: Collected = { readings: [], events: [], published: [] };
    if (body['event'] === 'batch') this.collectBatch(body, out);
    else this.collect(body, out, '');
    const committed = this.deps.ingest.add({ device: this.device, seq, readings: out.readings, events: out.events });
    if (out.published.length > 0) this.publishOnCommit(committed, out.published);
    return committed;
  }

  /** A batch's events in order, each as if it came alone; a malformed member is refused on its own. */
  private collectBatch(body: JsonObject, out: Collected): void {
    const events = body['events'];
    if (!Array.isArray(events) || events.length === 0 || events.length > BATCH_EVENTS.max) {
      this.refuse(out, { code: 'bad_field', field: 'events', event: 'batch', message: `events must be a list of 1 to ${BATCH_EVENTS.max} events` });
      return;
    }
    for (let i = 0; i < events.length; i++) {
      const member: unknown = events[i];
      if (!isObject(member) || typeof member['event'] !== 'string' || member['event'] === 'batch') {
        this.refuse(out, { code: 'bad_field', field: `events.${i}`, event: 'batch', message: 'each member of a batch must be one event (an object with a string `event`), not a batch' });
        continue;
      }
      this.collect(member, out, `events.${i}.`);
    }
  }

  /** One event's rows into `out`; what it changes in the hub's view of the board, at once. */
  private collect(body: JsonObject, out: Collected, at: string): void {
    const name = String(body['event']);
    if (body['ts'] !== undefined && !isUptime(body['ts'])) {
      // Refused on this board's link alone: logged as an event, acknowledged, never stored as a
      // reading (a time no column holds would fail the commit of every board in its batch).
      this.refuse(out, { code: 'bad_field', field: `${at}ts`, event: name, value: JSON.stringify(body['ts']) ?? null, message: `ts must be the board's uptime in ms, 0 to ${MAX_UPTIME_MS}` });
      return;
    }
    const unstorable = nulField(name, body);
    if (unstorable !== undefined) {
      // No store keeps a NUL in its text (PostgreSQL refuses it): refused here, or every resend
      // of the message would fail its commit and stall the board's stream.
      this.refuse(out, { code: 'bad_field', field: `${at}${unstorable}`, event: name, message: `${unstorable} holds a NUL character, which the hub cannot store` });
      return;
    }
    const ts = typeof body['ts'] === 'number' ? this.wallTime(body['ts']) : this.deps.wallNow();
    switch (name) {
      case 'reading':
        for (const row of readingRows(this.device, body, ts)) out.readings.push(row);
        out.published.push({ body, ts });
        return;
      case 'state':
        this.setState(body);
        return;
      default:
        if (name === 'edge') this.applyEdge(body);
        if (name === 'lease_expired') this.deps.stateStale();
        out.events.push({ device: this.device, ts, type: name, data: omit(body, 'event', 'ts', 'seq') });
    }
  }

  private refuse(out: Collected, data: JsonObject): void {
    out.events.push({ device: this.device, ts: this.deps.wallNow(), type: 'refused', data });
  }

  /** The board's uptime `ts` on the hub's wall clock: readings sent after an outage keep their time. */
  private wallTime(ts: number): number {
    const now = this.deps.wallNow();
    // Without a known boot time, the smallest lag seen so far is the best guess of it.
    if (this.bootEpoch === null || now - ts < this.bootEpoch) this.bootEpoch = now - ts;
    return Math.round(this.bootEpoch + ts);
  }

  /** Publishes the readings once they committed, with the others of their commit. */
  private publishOnCommit(committed: Promise<void>, readings: readonly Published[]): void {
    if (this.unpublished?.committed !== committed) {
      const waiting = { committed, readings: [] as Published[] };
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
    for (const r of readings) this.unpublished.readings.push(r);
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
  if (hasNul(name)) return 'event';
  if (name !== 'reading') return undefined;
  if (hasNul(body['sensor'])) return 'sensor';
  // for…in rather than Object.entries: this runs for every reading, and makes no arrays.
  const values = body['values'];
  if (typeof values === 'object' && values !== null) {
    for (const key in values) if (hasNul(key)) return 'values';
  }
  const units = body['units'];
  if (typeof units === 'object' && units !== null) {
    for (const key in units) if (hasNul(key) || hasNul((units as JsonObject)[key])) return 'units';
  }
  return undefined;
}

function hasNul(text: unknown): boolean {
  return typeof text === 'string' && text.includes('\u0000');
}
