// The connection pool to the hub's PostgreSQL database, and transactions on one of its clients.
// Every statement is parameterised: values never become SQL text.
import pg from 'pg';
import { HubError } from '../../errors.js';

/** A pool or a client inside a transaction: what the table modules run their statements on. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Connections per hub: commits run one at a time (ingest.ts), so a few more serve the API's reads,
 * retention and the link's bookkeeping beside a commit without queueing behind it.
 */
const POOL_SIZE = 6;

/** How long a query waits for a connection to open before the store says it is unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

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
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    types,
    application_name: 'tether-hub',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A server that vanished without closing its connections (a cable, a crash) is noticed.
    keepAlive: true,
  });
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

/**
 * Errors that say the server cannot be reached, rather than that it refused a statement: no
 * connection (refused, timed out, dropped) or the server shutting down or still starting
 * (SQLSTATE class 08, and 57P01–57P03).
 */
const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

function unreachable(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03';
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  // node-postgres's own words for a connection that ended or never came up.
  return (code !== undefined && UNREACHABLE_ERRNOS.has(code)) || /^Connection terminated|^timeout exceeded when trying to connect/.test(err.message);
}

/** How a table module runs its statements through the store: reads and writes (the latter refused while the store is full). */
export interface Access {
  read<T>(fn: () => Promise<T>): Promise<T>;
  write<T>(fn: () => Promise<T>): Promise<T>;
}

/** Runs fn; a server out of reach rejects with store_unavailable, anything else as it came. */
export async function reach<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!unreachable(err)) throw err;
    throw new HubError(
      'store_unavailable',
      `the hub cannot reach its PostgreSQL database (${(err as Error).message}); it retries by itself: check that the server runs and that store.url names it`,
    );
  }
}

export const SQLSTATE = {
  uniqueViolation: '23505',
  /** "no partition of relation found for row": the day's partition was dropped meanwhile. */
  noPartition: '23514',
  undefinedTable: '42P01',
  deadlock: '40P01',
  serialization: '40001',
} as const;
