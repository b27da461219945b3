// Firmware rollouts and each board's part in one, kept in PostgreSQL (the SQLite side and what a
// rollout is: ../rollouts.ts).
import type { RolloutState, RolloutSummary, RolloutView } from '../../types.js';
import type { BoardChange, RolloutStore } from '../port.js';
import { boardChangeValues, ROLLOUT_BOARD_COLUMNS, ROLLOUT_COLUMNS, ROLLOUT_LIST_LIMIT, rolloutViewOf, type RolloutBoardRow, type RolloutRow } from '../rows.js';
import { boardInRollout } from '../checks.js';
import { changed } from './devices.js';
import { transaction, type Access, type Queryable } from './db.js';
import type pg from 'pg';

const SELECT_ROLLOUT = `SELECT ${ROLLOUT_COLUMNS} FROM rollouts`;

export class PostgresRollouts implements RolloutStore {
  /** `access.write` runs a write through the store's health checks, `access.read` a read (store_unavailable when out of reach). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly access: Access,
    /** This hub: its rollouts are the ones it resumes. */
    private readonly hubId: string,
  ) {}

  async create(version: string, boards: readonly string[], waveSize: number, by: string, now: number): Promise<RolloutView> {
    const id = await this.access.write(() =>
      transaction(this.pool, async (db) => {
        // One rollout made at a time, across hubs: a board is never put in two running ones.
        await db.query("SELECT pg_advisory_xact_lock(hashtext('tether_rollouts_create'))");
        const busy = await db.query<{ id: number; device: string }>(
          "SELECT r.id, b.device FROM rollouts r JOIN rollout_boards b ON b.rollout = r.id WHERE r.state = 'running' AND b.device = ANY ($1::text[]) ORDER BY r.id LIMIT 1",
          [boards],
        );
        const clash = busy.rows[0];
        if (clash !== undefined) throw boardInRollout(clash.device, clash.id);
        const { rows } = await db.query<{ id: number }>(
          "INSERT INTO rollouts (version, wave_size, state, created_by, created_at, hub) VALUES ($1, $2, 'running', $3, $4, $5) RETURNING id",
          [version, waveSize, by, now, this.hubId],
        );
        const id = (rows[0] as { id: number }).id;
        await db.query(
          `INSERT INTO rollout_boards (rollout, position, device, wave, state)
           SELECT $1, b.n - 1, b.device, CASE WHEN b.n <= $3 THEN 1 ELSE 2 END, 'waiting' FROM unnest($2::text[]) WITH ORDINALITY AS b (device, n)`,
          [id, boards, waveSize],
        );
        return id;
      }),
    );
    return (await this.get(id)) as RolloutView;
  }

  async get(id: number): Promise<RolloutView | undefined> {
    return (await this.views(`${SELECT_ROLLOUT} WHERE id = $1`, [id]))[0];
  }

  list(): Promise<RolloutView[]> {
    return this.views(`${SELECT_ROLLOUT} ORDER BY id DESC LIMIT $1`, [ROLLOUT_LIST_LIMIT]);
  }

  running(): Promise<RolloutView[]> {
    return this.views(`${SELECT_ROLLOUT} WHERE state = 'running' AND (hub = $1 OR hub IS NULL) ORDER BY id`, [this.hubId]);
  }

  rolloutOf(device: string): Promise<number | undefined> {
    return this.id("SELECT r.id FROM rollouts r JOIN rollout_boards b ON b.rollout = r.id WHERE r.state = 'running' AND b.device = $1 ORDER BY r.id LIMIT 1", device);
  }

  usingRelease(version: string): Promise<number | undefined> {
    return this.id("SELECT id FROM rollouts WHERE state = 'running' AND version = $1 ORDER BY id LIMIT 1", version);
  }

  async end(id: number, state: Exclude<RolloutState, 'running'>, now: number, reason: RolloutSummary['reason']): Promise<boolean> {
    const result = await this.access.write(() =>
      this.pool.query("UPDATE rollouts SET state = $1, ended_at = $2, reason = $3 WHERE id = $4 AND state = 'running'", [
        state,
        now,
        reason === null ? null : JSON.stringify(reason),
        id,
      ]),
    );
    return changed(result);
  }

  async updateBoard(id: number, device: string, change: BoardChange): Promise<void> {
    const set = boardChangeValues(change);
    if (set.length === 0) return;
    // Column names come from the shared column list only; every value is a parameter.
    const sets = set.map((c, i) => `${c.column} = $${i + 3}`).join(', ');
    await this.access.write(() => this.pool.query(`UPDATE rollout_boards SET ${sets} WHERE rollout = $1 AND device = $2`, [id, device, ...set.map((c) => c.value)]));
  }


  private views(select: string, params: unknown[]): Promise<RolloutView[]> {
    return this.access.read(async () => this.viewsOf(this.pool, (await this.pool.query<RolloutRow>(select, params)).rows));
  }

  private async id(select: string, param: string): Promise<number | undefined> {
    const { rows } = await this.access.read(() => this.pool.query<{ id: number }>(select, [param]));
    return rows[0]?.id;
  }

  /** The rollouts with their boards, read in one query. */
  private async viewsOf(db: Queryable, rollouts: readonly RolloutRow[]): Promise<RolloutView[]> {
    if (rollouts.length === 0) return [];
    const { rows } = await db.query<RolloutBoardRow & { rollout: number }>(
      `SELECT rollout, ${ROLLOUT_BOARD_COLUMNS} FROM rollout_boards WHERE rollout = ANY ($1::integer[]) ORDER BY rollout, position`,
      [rollouts.map((r) => r.id)],
    );
    const boards = new Map<number, RolloutBoardRow[]>();
    for (const b of rows) {
      let list = boards.get(b.rollout);
      if (list === undefined) boards.set(b.rollout, (list = []));
      list.push(b);
    }
    return rollouts.map((row) => rolloutViewOf(row, boards.get(row.id) ?? []));
  }

}
