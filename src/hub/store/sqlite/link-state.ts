// What the hub must remember of each board's link across its own restarts (protocol.md §10.4):
// where both message streams stand, so that nothing is delivered twice or lost.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { seqDelta } from '../../../protocol/link/seq.js';
import { notFound } from '../checks.js';
import type { LinkState } from '../port.js';
import { linkRowOf, linkStateOf, type LinkRow } from '../rows.js';

type Bound = LinkRow & { device: string };

function statements(db: Database.Database) {
  return {
    get: db.prepare<[string], LinkRow>(
      'SELECT boot_id, boot_epoch, rx_committed, tx_stream, tx_last, subscribed_boot FROM link_state WHERE device = ?',
    ),
    // Rows are made only for a registered board, so that a link or a commit racing
    // removeDevice leaves no orphan behind.
    create: db.prepare<Bound>(
      `INSERT INTO link_state (device, boot_id, boot_epoch, rx_committed, tx_stream, tx_last, subscribed_boot)
       SELECT @device, @boot_id, @boot_epoch, @rx_committed, @tx_stream, @tx_last, @subscribed_boot
       WHERE EXISTS (SELECT 1 FROM devices WHERE id = @device)`,
    ),
    update: db.prepare<Bound>(
      `UPDATE link_state SET boot_id = @boot_id, boot_epoch = @boot_epoch, rx_committed = @rx_committed,
         tx_stream = @tx_stream, tx_last = @tx_last, subscribed_boot = @subscribed_boot WHERE device = @device`,
    ),
    setRx: db.prepare<{ device: string; rx: number; stream: string }>(
      `INSERT INTO link_state (device, rx_committed, tx_stream, tx_last)
       SELECT @device, @rx, @stream, 0 WHERE EXISTS (SELECT 1 FROM devices WHERE id = @device)
       ON CONFLICT (device) DO UPDATE SET rx_committed = excluded.rx_committed`,
    ),
    remove: db.prepare<[string]>('DELETE FROM link_state WHERE device = ?'),
  };
}

export class LinkStates {
  private readonly sql: ReturnType<typeof statements>;

  constructor(db: Database.Database) {
    this.sql = statements(db);
  }

  /** The board's state; one never linked gets a fresh stream, stored at once. Throws not_found. */
  get(device: string): LinkState {
    const row = this.sql.get.get(device);
    if (row !== undefined) return linkStateOf(row);
    const fresh: LinkState = { bootId: null, bootEpoch: null, rxCommitted: 0, txStream: randomUUID(), txLast: 0, subscribedBoot: null };
    if (this.sql.create.run(linkRowOf(device, fresh)).changes === 0) throw notFound(device);
    return fresh;
  }

  /**
   * Stores the fields given and keeps the others. Returns the state now stored.
   *
   * Commits advance rxCommitted while a link may hold a copy of the state read earlier; saving
   * that copy must not take the commits back, or after a hub crash the board's resent messages
   * would be stored twice. Within one boot the board's stream only moves forward, so rxCommitted
   * never goes back unless the boot changes too (a new boot starts at 0).
   */
  save(device: string, change: Partial<LinkState>): LinkState {
    const current = this.get(device);
    const given = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as Partial<LinkState>;
    const next = { ...current, ...given };
    if (next.bootId === current.bootId && seqDelta(current.rxCommitted, next.rxCommitted) < 0) next.rxCommitted = current.rxCommitted;
    this.sql.update.run(linkRowOf(device, next));
    return next;
  }

  /** Part of a commit: the board's messages up to `rx` are stored. */
  setRxCommitted(device: string, rx: number): void {
    this.sql.setRx.run({ device, rx, stream: randomUUID() });
  }

  remove(device: string): void {
    this.sql.remove.run(device);
  }
}

