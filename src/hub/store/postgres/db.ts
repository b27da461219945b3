// The connection pool to the hub's PostgreSQL database, and transactions on one of its clients.
// Every statement is parameterised: values never become SQL text.
import pg from 'pg';

/** A pool or a client inside a transaction: what the table modules run their statements on. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Connections per hub: commits run one at a time (ingest.ts), so a few more serve the API's reads,
 * retention and the link's bookkeeping beside a commit without queueing behind it.
 */
const POOL_SIZE = 6;

/** The hub's advisory locks (pg_advisory_xact_lock(TETHER, n)): held until the transaction ends. */
const TETHER = 0x54455448; // "TETH"
export const LOCKS = {
  /** Migrating the schema: several hubs starting at once migrate once. */
  migrate: 1,
  /** Creating or dropping a day's readings partition. */
  partitions: 2,
  /** Inserting events: ids are taken in commit order, so paging after an id misses none. */
  events: 3,
} as const;

// int8 (counts, timestamps, sequence numbers) comes as a string by default; every int8 the hub
// stores is a safe integer (ms timestamps, 32-bit sequence numbers, row ids).
const INT8_OID = 20;
const types = new pg.TypeOverrides();
types.setTypeParser(INT8_OID, 'text', (value: string) => Number(value));

export function openPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, types, application_name: 'tether-hub' });
  // A connection that breaks while idle (the server restarted) is dropped from the pool and the
  // next query opens another; without a listener the pool's error would end the process.
  pool.on('error', () => undefined);
  return pool;
}

export async function lock(db: Queryable, which: number): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1, $2)', [TETHER, which]);
}

/** Runs fn inside BEGIN … COMMIT on one client of the pool; any error rolls it back. */
export async function transaction<T>(pool: pg.Pool, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is gone: the pool must not hand it out again
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The SQLSTATE of a PostgreSQL error (docs: "PostgreSQL Error Codes"), if it is one. */
export function sqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

export const SQLSTATE = {
  uniqueViolation: '23505',
  /** "no partition of relation found for row": the day's partition was dropped meanwhile. */
  noPartition: '23514',
  undefinedTable: '42P01',
  deadlock: '40P01',
  serialization: '40001',
} as const;
