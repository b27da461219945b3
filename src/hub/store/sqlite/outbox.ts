// Commands the hub sent to a board and the board has not acknowledged yet, kept on disk so that
// a hub restart resends them instead of losing them (protocol.md §10.4).
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../../protocol/codec.js';
import { seqDelta } from '../../../protocol/link/seq.js';
import type { OutboxEntry } from '../port.js';

function statements(db: Database.Database) {
  return {
    add: db.prepare<[string, number, string]>('INSERT INTO link_outbox (device, seq, body) VALUES (?, ?, ?)'),
    pending: db.prepare<[string], { pos: number; seq: number; body: string }>(
      'SELECT pos, seq, body FROM link_outbox WHERE device = ? ORDER BY pos',
    ),
    dropThrough: db.prepare<[string, number]>('DELETE FROM link_outbox WHERE device = ? AND pos <= ?'),
    clear: db.prepare<[string]>('DELETE FROM link_outbox WHERE device = ?'),
  };
}

export class CommandOutbox {
  private readonly sql: ReturnType<typeof statements>;

  constructor(db: Database.Database) {
    this.sql = statements(db);
  }

  add(device: string, seq: number, body: JsonObject): void {
    this.sql.add.run(device, seq, JSON.stringify(body));
  }

  /**
   * A cumulative acknowledgement: drops the oldest entries while their seq is at or before
   * `ack`. Numbers wrap at 2^32, so "before" is serial arithmetic, which SQL cannot do on the raw
   * column; the outbox is one window long, so reading it here costs little. Returns how many.
   */
  ack(device: string, ack: number): number {
    let last: number | undefined;
    let count = 0;
    for (const row of this.sql.pending.iterate(device)) {
      if (seqDelta(row.seq, ack) < 0) break;
      last = row.pos;
      count++;
    }
    if (last !== undefined) this.sql.dropThrough.run(device, last);
    return count;
  }

  /** Oldest first: the order to send them again in. */
  pending(device: string): OutboxEntry[] {
    return this.sql.pending.all(device).map((row) => ({ seq: row.seq, body: JSON.parse(row.body) as JsonObject }));
  }

  clear(device: string): number {
    return this.sql.clear.run(device).changes;
  }
}
