// What the hub must remember of each board's link across its own restarts (protocol.md §10.4),
// in PostgreSQL: where both message streams stand, so that nothing is delivered twice or lost.
import { randomUUID } from 'node:crypto';
import { notFound } from '../checks.js';
import type { LinkState } from '../port.js';
import type { Queryable } from './db.js';
import { mergeLinkState } from './port-checks.js';
import { linkStateOf, type LinkRow } from '../rows.js';

const SELECT = 'SELECT boot_id, boot_epoch, rx_committed, tx_stream, tx_last, subscribed_boot FROM link_state WHERE device = $1';

export class LinkStates {
  /**
   * The board's state; one never linked gets a fresh stream, stored at once. Rejects not_found.
   * `forUpdate` locks the row to the caller's transaction, for a read-modify-write.
   */
  async get(db: Queryable, device: string, forUpdate = false): Promise<LinkState> {
    const select = forUpdate ? `${SELECT} FOR UPDATE` : SELECT;
    const found = await db.query<LinkRow>(select, [device]);
    if (found.rows[0] !== undefined) return linkStateOf(found.rows[0]);
    // Rows are made only for a registered board, so that a link or a commit racing
    // removeDevice leaves no orphan behind; another hub may make the same row meanwhile.
    await db.query(
      `INSERT INTO link_state (device, rx_committed, tx_stream, tx_last)
       SELECT $1, 0, $2, 0 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $1) ON CONFLICT (device) DO NOTHING`,
      [device, randomUUID()],
    );
    const made = await db.query<LinkRow>(select, [device]);
    if (made.rows[0] === undefined) throw notFound(device);
    return linkStateOf(made.rows[0]);
  }

  /** Stores the fields given and keeps the others (mergeLinkState); inside the caller's transaction. */
  async save(db: Queryable, device: string, change: Partial<LinkState>): Promise<LinkState> {
    const next = mergeLinkState(await this.get(db, device, true), change);
    await db.query(
      `UPDATE link_state SET boot_id = $2, boot_epoch = $3, rx_committed = $4, tx_stream = $5, tx_last = $6, subscribed_boot = $7
       WHERE device = $1`,
      [device, next.bootId, next.bootEpoch, next.rxCommitted, next.txStream, next.txLast, next.subscribedBoot],
    );
    return next;
  }

  /** Part of a commit: each board's messages up to its rxCommitted are stored (one entry per board). */
  async setRxCommitted(db: Queryable, states: ReadonlyArray<{ device: string; rxCommitted: number }>): Promise<void> {
    if (states.length === 0) return;
    // ON CONFLICT may touch a row once per statement: the last entry of a board wins.
    const last = new Map(states.map((s) => [s.device, s.rxCommitted]));
    await db.query(
      `INSERT INTO link_state (device, rx_committed, tx_stream, tx_last)
       SELECT v.device, v.rx, v.stream, 0 FROM unnest($1::text[], $2::bigint[], $3::text[]) AS v (device, rx, stream)
       WHERE EXISTS (SELECT 1 FROM devices WHERE id = v.device)
       ON CONFLICT (device) DO UPDATE SET rx_committed = excluded.rx_committed`,
      [[...last.keys()], [...last.values()], [...last.keys()].map(() => randomUUID())],
    );
  }

  async remove(db: Queryable, device: string): Promise<void> {
    await db.query('DELETE FROM link_state WHERE device = $1', [device]);
  }
}

