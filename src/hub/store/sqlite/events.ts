// Events: what boards said (lease_expired, edge, …) and what the hub noticed (online, …).
import type Database from 'better-sqlite3';
import type { EventsQuery, StoredEvent } from '../../types.js';
import { checkTime, EVENT_ROWS, rowLimit } from '../limits.js';
import type { NewEvent } from '../port.js';
import { storedEventOf, type EventRow } from '../rows.js';

type Params = Record<string, string | number>;

function statements(db: Database.Database) {
  return {
    insert: db.prepare<[string, number, string, string]>('INSERT INTO events (device, ts, type, data) VALUES (?, ?, ?, ?)'),
    pruneChunk: db.prepare<[number, number]>('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? ORDER BY ts LIMIT ?)'),
  };
}

export class EventStore {
  private readonly sql: ReturnType<typeof statements>;
  /** One statement per combination of filters, so that each can use its index. */
  private readonly queries = new Map<string, Database.Statement<[Params], EventRow>>();

  constructor(private readonly db: Database.Database) {
    this.sql = statements(db);
  }

  /** Stores events; runs inside the caller's transaction. Returns them with their ids. */
  insert(events: readonly NewEvent[]): StoredEvent[] {
    return events.map((e) => {
      const ts = Math.round(e.ts);
      const id = Number(this.sql.insert.run(e.device, ts, e.type, JSON.stringify(e.data)).lastInsertRowid);
      return { id, device: e.device, ts, type: e.type, data: e.data };
    });
  }

  /** Newest first; with afterId, the oldest after it first (paging forward). */
  query(q: EventsQuery): StoredEvent[] {
    checkTime('from', q.from);
    checkTime('to', q.to);
    const where: string[] = [];
    const params: Params = { limit: rowLimit(q.limit, EVENT_ROWS) };
    const filter = (value: string | number | undefined, name: string, condition: string) => {
      if (value === undefined) return;
      where.push(condition);
      params[name] = value;
    };
    filter(q.device, 'device', 'device = @device');
    filter(q.type, 'type', 'type = @type');
    filter(q.afterId, 'afterId', 'id > @afterId');
    filter(q.from, 'from', 'ts >= @from');
    filter(q.to, 'to', 'ts < @to');
    const order = q.afterId === undefined ? 'DESC' : 'ASC';
    const sql = `SELECT id, device, ts, type, data FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT @limit`;
    return this.statement(sql)
      .all(params)
      .map(storedEventOf);
  }

  /** Deletes up to `limit` events older than `cutoff`, oldest first, in a transaction of its own. */
  pruneChunk(cutoff: number, limit: number): number {
    return this.sql.pruneChunk.run(cutoff, limit).changes;
  }

  private statement(sql: string): Database.Statement<[Params], EventRow> {
    let stmt = this.queries.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<[Params], EventRow>(sql);
      this.queries.set(sql, stmt);
    }
    return stmt;
  }
}
