// Firmware rollouts and each board's part in one (the ota module runs them; docs/hub.md,
// "Rolling a release out"). A rollout that is `running` here is resumed when the hub starts, so
// every change of a board's state is written before it is published.
import type Database from 'better-sqlite3';
import type { RolloutState, RolloutSummary, RolloutView } from '../../types.js';
import type { BoardChange, RolloutStore as RolloutStorePort } from '../port.js';
import { boardInRollout } from '../checks.js';
import { boardChangeValues, ROLLOUT_BOARD_COLUMNS, ROLLOUT_COLUMNS, ROLLOUT_LIST_LIMIT, rolloutViewOf, type RolloutBoardRow, type RolloutRow } from '../rows.js';

function statements(db: Database.Database) {
  const SELECT_ROLLOUT = `SELECT ${ROLLOUT_COLUMNS} FROM rollouts`;
  return {
    insert: db.prepare<[string, number, string, number, string]>("INSERT INTO rollouts (version, wave_size, state, created_by, created_at, hub) VALUES (?, ?, 'running', ?, ?, ?)"),
    insertBoard: db.prepare<[number, number, string, number]>("INSERT INTO rollout_boards (rollout, position, device, wave, state) VALUES (?, ?, ?, ?, 'waiting')"),
    get: db.prepare<[number], RolloutRow>(`${SELECT_ROLLOUT} WHERE id = ?`),
    list: db.prepare<[number], RolloutRow>(`${SELECT_ROLLOUT} ORDER BY id DESC LIMIT ?`),
    running: db.prepare<[string], RolloutRow>(`${SELECT_ROLLOUT} WHERE state = 'running' AND (hub = ? OR hub IS NULL) ORDER BY id`),
    boards: db.prepare<[number], RolloutBoardRow>(
      `SELECT ${ROLLOUT_BOARD_COLUMNS} FROM rollout_boards WHERE rollout = ? ORDER BY position`,
    ),
    busy: db.prepare<[string], { id: number }>("SELECT r.id FROM rollouts r JOIN rollout_boards b ON b.rollout = r.id WHERE r.state = 'running' AND b.device = ? LIMIT 1"),
    usingVersion: db.prepare<[string], { id: number }>("SELECT id FROM rollouts WHERE state = 'running' AND version = ? ORDER BY id LIMIT 1"),
    end: db.prepare<[RolloutState, number, string | null, number]>("UPDATE rollouts SET state = ?, ended_at = ?, reason = ? WHERE id = ? AND state = 'running'"),
  };
}

// Async without awaiting: a statement's throw becomes the rejection the port promises.
/* eslint-disable @typescript-eslint/require-await */
export class RolloutStore implements RolloutStorePort {
  private readonly sql: ReturnType<typeof statements>;
  private readonly createTransaction: (version: string, waveSize: number, by: string, now: number, boards: readonly string[]) => number;
  private readonly boardUpdates = new Map<string, Database.Statement<Record<string, unknown>>>();

  constructor(
    private readonly db: Database.Database,
    private readonly hubId: string,
  ) {
    this.sql = statements(db);
    this.createTransaction = db.transaction((version: string, waveSize: number, by: string, now: number, boards: readonly string[]) => {
      for (const board of boards) {
        const other = this.sql.busy.get(board)?.id;
        if (other !== undefined) throw boardInRollout(board, other);
      }
      const id = Number(this.sql.insert.run(version, waveSize, by, now, this.hubId).lastInsertRowid);
      boards.forEach((device, i) => this.sql.insertBoard.run(id, i, device, i < waveSize ? 1 : 2));
      return id;
    });
  }

  async create(version: string, boards: readonly string[], waveSize: number, by: string, now: number): Promise<RolloutView> {
    const id = this.createTransaction(version, waveSize, by, now, boards);
    return (await this.get(id)) as RolloutView;
  }

  async get(id: number): Promise<RolloutView | undefined> {
    const row = this.sql.get.get(id);
    return row === undefined ? undefined : this.viewOf(row);
  }

  async list(): Promise<RolloutView[]> {
    return this.sql.list.all(ROLLOUT_LIST_LIMIT).map((row) => this.viewOf(row));
  }

  async running(): Promise<RolloutView[]> {
    return this.sql.running.all(this.hubId).map((row) => this.viewOf(row));
  }

  async rolloutOf(device: string): Promise<number | undefined> {
    return this.sql.busy.get(device)?.id;
  }

  async usingRelease(version: string): Promise<number | undefined> {
    return this.sql.usingVersion.get(version)?.id;
  }

  async end(id: number, state: Exclude<RolloutState, 'running'>, now: number, reason: RolloutSummary['reason']): Promise<boolean> {
    return this.sql.end.run(state, now, reason === null ? null : JSON.stringify(reason), id).changes > 0;
  }

  async updateBoard(id: number, device: string, change: BoardChange): Promise<void> {
    const set = boardChangeValues(change);
    if (set.length === 0) return;
    const shape = set.map((c) => c.key).join(',');
    let statement = this.boardUpdates.get(shape);
    if (statement === undefined) {
      statement = this.db.prepare(`UPDATE rollout_boards SET ${set.map((c) => `${c.column} = @${c.key}`).join(', ')} WHERE rollout = @id AND device = @device`);
      this.boardUpdates.set(shape, statement);
    }
    statement.run({ id, device, ...Object.fromEntries(set.map((c) => [c.key, c.value])) });
  }


  private viewOf(row: RolloutRow): RolloutView {
    return rolloutViewOf(row, this.sql.boards.all(row.id));
  }

}
