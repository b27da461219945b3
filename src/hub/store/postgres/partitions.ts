// The readings table's partitions: one table per UTC day of ts (wall-clock ms), named
// readings_YYYYMMDD, made when a commit first holds a reading of that day and dropped whole by
// retention. There is no default partition: a day's table could not be made once a default
// partition held rows of that day, so every reading goes to its own day's table, and a reading
// outside the years 0000–9999 is refused (no board's clock is that far off).
//
// Making and dropping a partition runs in its own short transaction under an advisory lock, so
// that hubs sharing the database never race each other over the same day; never inside a
// commit, which would hold the lock on the whole readings table until it ended.
import pg from 'pg';
import { HubError } from '../../errors.js';
import { LOCKS, SQLSTATE, lock, sqlState, transaction, type Queryable } from './db.js';

export const DAY_MS = 86_400_000;
/** 0000-01-01 and 10000-01-01, UTC. */
const FIRST_TS = -62_167_219_200_000;
const END_TS = 253_402_300_800_000;
const NAME = /^readings_(\d{4})(\d{2})(\d{2})$/;
/** How long dropping a day waits for readers and commits on the readings table before it gives up for now. */
const DROP_LOCK_TIMEOUT = '5s';

export interface Partition {
  name: string;
  /** Its range of ts: [start, end). */
  start: number;
  end: number;
}

/** The day (days since 1970-01-01) of a reading's ts; bad_request outside the years 0000–9999. */
export function dayOf(ts: number): number {
  if (!(ts >= FIRST_TS && ts < END_TS)) throw new HubError('bad_request', `reading timestamp ${ts}: outside the years 0000–9999 the store keeps readings for; check the board's clock`);
  return Math.floor(ts / DAY_MS);
}

export function partitionOf(day: number): Partition {
  const start = day * DAY_MS;
  const date = new Date(start).toISOString().slice(0, 10).replaceAll('-', '');
  return { name: `readings_${date}`, start, end: start + DAY_MS };
}

export class Partitions {
  /** Days whose table this store made or saw; a commit that finds one gone forgets them all. */
  private readonly known = new Set<number>();

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Makes the tables of these days that do not exist yet, and the next day's after the newest:
   * the table boards write to after midnight is made the day before, so that a long read of the
   * readings (which the new table must wait for) does not hold up the first commit of a day.
   */
  async ensure(days: readonly number[]): Promise<void> {
    if (days.length === 0) return;
    const distinct = new Set(days);
    const ahead = [...distinct].reduce((a, b) => Math.max(a, b)) + 1;
    if ((ahead + 1) * DAY_MS <= END_TS) distinct.add(ahead);
    const missing = [...distinct].filter((day) => !this.known.has(day));
    if (missing.length === 0) return;
    await transaction(this.pool, async (db) => {
      await lock(db, LOCKS.partitions);
      for (const day of missing) {
        const p = partitionOf(day);
        await db.query(`CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(p.name)} PARTITION OF readings FOR VALUES FROM (${p.start}) TO (${p.end})`);
      }
    });
    for (const day of missing) this.known.add(day);
  }

  /** Another hub may have dropped a day this store knew. */
  forget(): void {
    this.known.clear();
  }

  /** Oldest first. */
  async list(db: Queryable): Promise<Partition[]> {
    const { rows } = await db.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass",
    );
    const days = rows.flatMap(({ name }) => {
      const m = NAME.exec(name);
      if (m === null) return [];
      const date = new Date(0);
      date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      return [Math.floor(date.getTime() / DAY_MS)];
    });
    return days.sort((a, b) => a - b).map(partitionOf);
  }

  /** Whether a day's table holds any reading. */
  async holdsRows(p: Partition): Promise<boolean> {
    const result = await gone(this.pool.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${pg.escapeIdentifier(p.name)}) AS any`));
    return result?.rows[0]?.any ?? false;
  }

  /** Drops a day's table; returns how many readings it held (counted just before). */
  async drop(p: Partition): Promise<number> {
    const table = pg.escapeIdentifier(p.name);
    const counted = await gone(this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`));
    if (counted === undefined) return 0;
    await transaction(this.pool, async (db) => {
      await lock(db, LOCKS.partitions);
      // Dropping a partition locks the whole table: while a long read holds it, wait a little,
      // then fail this pass (retention tries again) rather than stall every commit behind it.
      await db.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    });
    this.known.delete(p.start / DAY_MS);
    return counted.rows[0]?.n ?? 0;
  }

  /** Deletes up to `limit` of the oldest readings of one day's table older than `cutoff`. */
  async deleteOldest(p: Partition, cutoff: number, limit: number): Promise<number> {
    const table = pg.escapeIdentifier(p.name);
    const result = await gone(
      this.pool.query(`DELETE FROM ${table} WHERE ctid = ANY (ARRAY (SELECT ctid FROM ${table} WHERE ts < $1 ORDER BY ts LIMIT $2))`, [cutoff, limit]),
    );
    return result?.rowCount ?? 0;
  }
}

/** The query's result, or undefined when its table is gone (another hub dropped that day meanwhile). */
async function gone<T>(query: Promise<T>): Promise<T | undefined> {
  try {
    return await query;
  } catch (err) {
    if (sqlState(err) === SQLSTATE.undefinedTable) return undefined;
    throw err;
  }
}
