// The registry of boards in PostgreSQL: who may link (by board key, the token's hash), what the
// hub last knew of each, and which hub holds it now (linked_hub): hubs sharing the database
// each mark only their own boards offline.
import type { DeviceRecord } from '../../types.js';
import type { LinkedInfo } from '../port.js';
import { hashToken, keyOfHash, newToken } from '../tokens.js';
import type { Queryable } from './db.js';
import { checkDeviceId, deviceExists, notFound } from '../checks.js';
import { DEVICE_COLUMNS, deviceRecordOf, type DeviceRow } from '../rows.js';

/** The board is held by the hub in that parameter (one whose hub is not recorded is taken for any hub's own, as in SQLite). */
const heldBy = (hub: string) => `(linked_hub = ${hub} OR linked_hub IS NULL)`;

export class DeviceRegistry {
  /** `hub`: this hub's id. */
  constructor(private readonly hub: string) {}

  /** Inside the caller's transaction, which also clears what a removed board of that id left. */
  async add(db: Queryable, id: string, options: { name?: string; address?: string }): Promise<{ token: string }> {
    checkDeviceId(id);
    const token = newToken();
    const inserted = await db.query('INSERT INTO devices (id, name, token_hash, address) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [
      id,
      options.name ?? id,
      hashToken(token),
      options.address ?? null,
    ]);
    if (inserted.rowCount === 0) throw deviceExists(id);
    return { token };
  }

  async rotateToken(db: Queryable, id: string): Promise<string> {
    const token = newToken();
    const updated = await db.query('UPDATE devices SET token_hash = $1 WHERE id = $2', [hashToken(token), id]);
    if (updated.rowCount === 0) throw notFound(id);
    return token;
  }

  async remove(db: Queryable, id: string): Promise<boolean> {
    return changed(await db.query('DELETE FROM devices WHERE id = $1', [id]));
  }

  async keyOf(db: Queryable, id: string): Promise<Buffer | undefined> {
    const { rows } = await db.query<{ token_hash: string }>('SELECT token_hash FROM devices WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : keyOfHash(rows[0].token_hash);
  }

  async get(db: Queryable, id: string): Promise<DeviceRecord | undefined> {
    const { rows } = await db.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = $1`, [id]);
    return rows[0] && deviceRecordOf(rows[0]);
  }

  async list(db: Queryable): Promise<DeviceRecord[]> {
    const { rows } = await db.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`);
    return rows.map(deviceRecordOf);
  }

  async markLinked(db: Queryable, id: string, info: LinkedInfo): Promise<boolean> {
    const result = await db.query(
      `UPDATE devices SET online = true, firmware = $2, capabilities = $3, boot_id = $4, last_seen = $5,
         first_seen = coalesce(first_seen, $5), linked_hub = $6 WHERE id = $1`,
      [id, info.firmware, JSON.stringify(info.capabilities), info.bootId, info.now, this.hub],
    );
    return changed(result);
  }

  async setSignal(db: Queryable, id: string, rssi: number): Promise<boolean> {
    return changed(await db.query('UPDATE devices SET rssi = $1 WHERE id = $2', [Math.round(rssi), id]));
  }

  /** Only while this hub holds the board: a late goodbye after it moved to another hub changes nothing. */
  async markOffline(db: Queryable, id: string, now: number): Promise<boolean> {
    return changed(await db.query(`UPDATE devices SET online = false, last_seen = $1 WHERE id = $2 AND ${heldBy('$3')}`, [now, id, this.hub]));
  }

  /** The hub holding the board's link now; null while it is offline or unknown. */
  async linkedHub(db: Queryable, id: string): Promise<string | null> {
    const { rows } = await db.query<{ linked_hub: string | null }>('SELECT linked_hub FROM devices WHERE id = $1 AND online', [id]);
    return rows[0] === undefined ? null : (rows[0].linked_hub ?? this.hub);
  }

  async touch(db: Queryable, id: string, now: number): Promise<boolean> {
    return changed(await db.query('UPDATE devices SET last_seen = $1 WHERE id = $2', [now, id]));
  }

  /** At hub start: the boards this hub held are offline; other hubs' boards stay as they are. */
  async markAllOffline(db: Queryable): Promise<number> {
    const result = await db.query(`UPDATE devices SET online = false WHERE online AND ${heldBy('$1')}`, [this.hub]);
    return result.rowCount ?? 0;
  }
}

export function changed(result: { rowCount: number | null }): boolean {
  return (result.rowCount ?? 0) > 0;
}

