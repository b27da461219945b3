// The registry of boards: who may link (by board key, the token's hash) and what the hub last knew of each.
import type Database from 'better-sqlite3';
import type { DeviceRecord } from '../../types.js';
import { checkDeviceId, deviceExists, notFound } from '../checks.js';
import type { LinkedInfo } from '../port.js';
import { hashToken, keyOfHash, newToken } from '../tokens.js';
import { DEVICE_COLUMNS, deviceRecordOf, type DeviceRow } from '../rows.js';

function statements(db: Database.Database) {
  return {
    insert: db.prepare<{ id: string; name: string; hash: string; address: string | null }>(
      'INSERT INTO devices (id, name, token_hash, address) VALUES (@id, @name, @hash, @address)',
    ),
    setHash: db.prepare<[string, string]>('UPDATE devices SET token_hash = ? WHERE id = ?'),
    hashOf: db.prepare<[string], { token_hash: string }>('SELECT token_hash FROM devices WHERE id = ?'),
    get: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`),
    list: db.prepare<[], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`),
    remove: db.prepare<[string]>('DELETE FROM devices WHERE id = ?'),
    linked: db.prepare<{ id: string; firmware: string; capabilities: string; bootId: string; now: number; hub: string }>(
      `UPDATE devices SET online = 1, firmware = @firmware, capabilities = @capabilities, boot_id = @bootId,
         last_seen = @now, first_seen = coalesce(first_seen, @now), linked_hub = @hub WHERE id = @id`,
    ),
    offline: db.prepare<[number, string, string]>('UPDATE devices SET online = 0, last_seen = ? WHERE id = ? AND (linked_hub = ? OR linked_hub IS NULL)'),
    signal: db.prepare<[number, string]>('UPDATE devices SET rssi = ? WHERE id = ?'),
    touch: db.prepare<[number, string]>('UPDATE devices SET last_seen = ? WHERE id = ?'),
    holder: db.prepare<[string], { linked_hub: string | null }>('SELECT linked_hub FROM devices WHERE id = ? AND online = 1'),
    allOffline: db.prepare<[string]>('UPDATE devices SET online = 0 WHERE online = 1 AND (linked_hub = ? OR linked_hub IS NULL)'),
  };
}

export class DeviceRegistry {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    db: Database.Database,
    /** The hub whose links markLinked records and markOffline ends. */
    private readonly hubId: string,
  ) {
    this.sql = statements(db);
  }

  add(id: string, options: { name?: string; address?: string } = {}): { token: string } {
    checkDeviceId(id);
    if (this.sql.hashOf.get(id) !== undefined) throw deviceExists(id);
    const token = newToken();
    this.sql.insert.run({ id, name: options.name ?? id, hash: hashToken(token), address: options.address ?? null });
    return { token };
  }

  /** A new token for a registered board; the old one stops working at once. */
  rotateToken(id: string): string {
    const token = newToken();
    if (this.sql.setHash.run(hashToken(token), id).changes === 0) throw notFound(id);
    return token;
  }

  /** Forgets the board; its readings and events stay until retention removes them. */
  remove(id: string): boolean {
    return this.sql.remove.run(id).changes > 0;
  }

  /** The board key of a registered id (protocol.md §10.5); undefined for an unknown id. */
  keyOf(id: string): Buffer | undefined {
    const row = this.sql.hashOf.get(id);
    return row === undefined ? undefined : keyOfHash(row.token_hash);
  }

  get(id: string): DeviceRecord | undefined {
    const row = this.sql.get.get(id);
    return row && deviceRecordOf(row);
  }

  list(): DeviceRecord[] {
    return this.sql.list.all().map(deviceRecordOf);
  }

  /** The board linked (a welcome was sent). Returns false when the id is not registered. */
  markLinked(id: string, info: LinkedInfo): boolean {
    const { firmware, bootId, now } = info;
    return this.sql.linked.run({ id, firmware, capabilities: JSON.stringify(info.capabilities), bootId, now, hub: this.hubId }).changes > 0;
  }

  setSignal(id: string, rssi: number): boolean {
    return this.sql.signal.run(Math.round(rssi), id).changes > 0;
  }

  markOffline(id: string, now: number): boolean {
    return this.sql.offline.run(now, id, this.hubId).changes > 0;
  }

  /** The hub holding the board now; a board online before hubs were recorded is this hub's. */
  linkedHub(id: string): string | null {
    const row = this.sql.holder.get(id);
    return row === undefined ? null : (row.linked_hub ?? this.hubId);
  }

  touch(id: string, now: number): boolean {
    return this.sql.touch.run(now, id).changes > 0;
  }

  /** At hub start: no board is linked to this hub yet, whatever its last run left behind. */
  markAllOffline(): number {
    return this.sql.allOffline.run(this.hubId).changes;
  }
}

