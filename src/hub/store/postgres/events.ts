// Events in PostgreSQL: what boards said (lease_expired, edge, …) and what the hub noticed.
// Readers page forward by id (afterId), so ids must grow in the order events become visible:
// a sequence alone hands ids out at insert time, and a commit that took a smaller id but ended
// later would be missed by a reader who paged past it meanwhile. Inserting events therefore
// takes an advisory lock held until commit: commits that store events (rarer than readings)
// take turns, across every hub sharing the database.
import type { EventsQuery, StoredEvent } from '../../types.js';
import { HubError } from '../../errors.js';
import { checkTime, EVENT_ROWS, rowLimit } from '../limits.js';
import type { NewEvent } from '../port.js';
import { LOCKS, lock, type Queryable } from './db.js';
import { msBound } from './readings.js';
import { storedEventOf, type EventRow } from '../rows.js';

export class EventStore {
  /** Stores events inside the caller's transaction. Returns them with their ids, in the order given. */
  async insert(db: Queryable, events: readonly NewEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    await lock(db, LOCKS.events);
    const ts = events.map((e) => Math.round(e.ts));
    // Sorted by ordinality below the insert, so that the ids are taken in the order given.
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO events (device, ts, type, data)
       SELECT device, ts, type, data FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS e (device, ts, type, data, n)
       ORDER BY n RETURNING id`,
      [events.map((e) => e.device), ts, events.map((e) => e.type), events.map((e) => JSON.stringify(e.data))],
    );
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    return events.map((e, i) => ({ id: ids[i] as number, device: e.device, ts: ts[i] as number, type: e.type, data: e.data }));
  }

  /** Newest first; with afterId, the oldest after it first (paging forward). */
  async query(db: Queryable, q: EventsQuery): Promise<StoredEvent[]> {
    checkTime('from', q.from);
    checkTime('to', q.to);
    if (q.afterId !== undefined && !Number.isFinite(q.afterId)) throw new HubError('bad_request', `afterId: expected an event id, got ${q.afterId}`);
    const where: string[] = [];
    const params: Array<string | number> = [];
    const filter = (value: string | number | undefined, condition: (param: string) => string) => {
      if (value === undefined) return;
      params.push(value);
      where.push(condition(`$${params.length}`));
    };
    filter(q.device, (p) => `device = ${p}`);
    filter(q.type, (p) => `type = ${p}`);
    // id > x holds for the same integer ids as id > ⌊x⌋, i.e. id ≥ ⌊x⌋ + 1.
    filter(q.afterId === undefined ? undefined : msBound(Math.floor(q.afterId)), (p) => `id > ${p}`);
    filter(q.from === undefined ? undefined : msBound(q.from), (p) => `ts >= ${p}`);
    filter(q.to === undefined ? undefined : msBound(q.to), (p) => `ts < ${p}`);
    params.push(rowLimit(q.limit, EVENT_ROWS));
    const order = q.afterId === undefined ? 'DESC' : 'ASC';
    const { rows } = await db.query<EventRow>(
      `SELECT id, device, ts, type, data FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT $${params.length}`,
      params,
    );
    return rows.map(storedEventOf);
  }

  /** Deletes up to `limit` events older than `cutoff` (all when null), oldest first. */
  async deleteOldest(db: Queryable, cutoff: number | null, limit: number): Promise<number> {
    const result = await db.query('DELETE FROM events WHERE id = ANY (ARRAY (SELECT id FROM events WHERE $1::bigint IS NULL OR ts < $1 ORDER BY ts, id LIMIT $2))', [
      cutoff,
      limit,
    ]);
    return result.rowCount ?? 0;
  }
}
