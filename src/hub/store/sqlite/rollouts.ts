// Firmware rollouts and each board's part in one (the ota module runs them; docs/hub.md,
// "Rolling a release out"). A rollout that is `running` here is resumed when the hub starts, so
// every change of a board's state is written before it is published.
import type Database from 'better-sqlite3';
import type { RolloutBoardState, RolloutState, RolloutSummary, RolloutView } from '../../types.js';
import type { BoardChange, RolloutStore as RolloutStorePort } from '../port.js';

interface RolloutRow {
  id: number;
  version: string;
  wave_size: number;
  state: RolloutState;
  created_by: string;
  created_at: number;
  ended_at: number | null;
  reason: string | null;
}

interface BoardRow {
  device: string;
  wave: number;
  state: RolloutBoardState;
  phase: string | null;
  from_version: string | null;
  version: string | null;
  sent_bytes: number;
  total_bytes: number;
  error: string | null;
  started_at: number | null;
  ended_at: number | null;
}


/** How many rollouts GET /api/rollouts lists, newest first. */
const LIST_LIMIT = 100;

const BOARD_COLUMNS: Record<keyof BoardChange, string> = {
  state: 'state',
  phase: 'phase',
  fromVersion: 'from_version',
  version: 'version',
  sentBytes: 'sent_bytes',
  totalBytes: 'total_bytes',
  error: 'error',
  startedAt: 'started_at',
  endedAt: 'ended_at',
};

function statements(db: Database.Database) {
  const SELECT_ROLLOUT = 'SELECT id, version, wave_size, state, created_by, created_at, ended_at, reason FROM rollouts';
  return {
    insert: db.prepare<[string, number, string, number]>("INSERT INTO rollouts (version, wave_size, state, created_by, created_at) VALUES (?, ?, 'running', ?, ?)"),
    insertBoard: db.prepare<[number, number, string, number]>("INSERT INTO rollout_boards (rollout, position, device, wave, state) VALUES (?, ?, ?, ?, 'waiting')"),
    get: db.prepare<[number], RolloutRow>(`${SELECT_ROLLOUT} WHERE id = ?`),
    list: db.prepare<[number], RolloutRow>(`${SELECT_ROLLOUT} ORDER BY id DESC LIMIT ?`),
    running: db.prepare<[], RolloutRow>(`${SELECT_ROLLOUT} WHERE state = 'running' ORDER BY id`),
    boards: db.prepare<[number], BoardRow>(
      'SELECT device, wave, state, phase, from_version, version, sent_bytes, total_bytes, error, started_at, ended_at FROM rollout_boards WHERE rollout = ? ORDER BY position',
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

  constructor(private readonly db: Database.Database) {
    this.sql = statements(db);
    this.createTransaction = db.transaction((version: string, waveSize: number, by: string, now: number, boards: readonly string[]) => {
      const id = Number(this.sql.insert.run(version, waveSize, by, now).lastInsertRowid);
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
    return this.sql.list.all(LIST_LIMIT).map((row) => this.viewOf(row));
  }

  async running(): Promise<RolloutView[]> {
    return this.sql.running.all().map((row) => this.viewOf(row));
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
    const keys = (Object.keys(change) as Array<keyof BoardChange>).filter((k) => change[k] !== undefined).sort();
    if (keys.length === 0) return;
    const shape = keys.join(',');
    let statement = this.boardUpdates.get(shape);
    if (statement === undefined) {
      const sets = keys.map((k) => `${BOARD_COLUMNS[k]} = @${k}`).join(', ');
      statement = this.db.prepare(`UPDATE rollout_boards SET ${sets} WHERE rollout = @id AND device = @device`);
      this.boardUpdates.set(shape, statement);
    }
    const params: Record<string, unknown> = { id, device };
    for (const k of keys) params[k] = k === 'error' ? (change.error === null ? null : JSON.stringify(change.error)) : change[k];
    statement.run(params);
  }

  private viewOf(row: RolloutRow): RolloutView {
    return {
      id: row.id,
      version: row.version,
      waveSize: row.wave_size,
      state: row.state,
      createdBy: row.created_by,
      createdAt: row.created_at,
      endedAt: row.ended_at,
      reason: row.reason === null ? null : (JSON.parse(row.reason) as RolloutSummary['reason']),
      boards: this.sql.boards.all(row.id).map((b) => ({
        device: b.device,
        wave: b.wave,
        state: b.state,
        phase: b.phase,
        fromVersion: b.from_version,
        version: b.version,
        sentBytes: b.sent_bytes,
        totalBytes: b.total_bytes,
        error: b.error === null ? null : (JSON.parse(b.error) as RolloutView['boards'][number]['error']),
        startedAt: b.started_at,
        endedAt: b.ended_at,
      })),
    };
  }
}
