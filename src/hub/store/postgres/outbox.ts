// Commands the hub sent to a board and the board has not acknowledged yet, kept in PostgreSQL so
// that a hub restart resends them instead of losing them (protocol.md §10.4).
import type { JsonObject } from '../../../protocol/codec.js';
import type { OutboxEntry } from '../port.js';
import type { Queryable } from './db.js';
import { ackedCount } from './port-checks.js';

export class CommandOutbox {
  async add(db: Queryable, device: string, seq: number, body: JsonObject): Promise<void> {
    await db.query('INSERT INTO link_outbox (device, seq, body) VALUES ($1, $2, $3)', [device, seq, JSON.stringify(body)]);
  }

  /** Drops the oldest entries the cumulative `ack` covers (serial arithmetic); how many. */
  async ack(db: Queryable, device: string, ack: number): Promise<number> {
    const { rows } = await db.query<{ pos: number; seq: number }>('SELECT pos, seq FROM link_outbox WHERE device = $1 ORDER BY pos', [device]);
    const count = ackedCount(
      rows.map((r) => r.seq),
      ack,
    );
    const last = rows[count - 1];
    if (last === undefined) return 0;
    const dropped = await db.query('DELETE FROM link_outbox WHERE device = $1 AND pos <= $2', [device, last.pos]);
    return dropped.rowCount ?? 0;
  }

  async pending(db: Queryable, device: string): Promise<OutboxEntry[]> {
    const { rows } = await db.query<{ seq: number; body: string }>('SELECT seq, body FROM link_outbox WHERE device = $1 ORDER BY pos', [device]);
    return rows.map((row) => ({ seq: row.seq, body: JSON.parse(row.body) as JsonObject }));
  }

  async clear(db: Queryable, device: string): Promise<number> {
    return (await db.query('DELETE FROM link_outbox WHERE device = $1', [device])).rowCount ?? 0;
  }
}
