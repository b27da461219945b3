// Whether the hub can write to its database. A write that fails because the disk is full, the
// file went read-only or the disk reports an I/O error puts the store in the `full` state: from
// then on writes are refused at once with storage_full (nothing is half-stored, nothing is
// acknowledged) until a probe write succeeds again (see storage-watch.ts).
import { HubError } from '../errors.js';

/** SQLite result codes (extended ones start with these) that say the disk, not the data, is at fault. */
const STORAGE_FAULTS = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY'] as const;

/**
 * The same for PostgreSQL: SQLSTATEs (a pg error's `code`) by their condition names: the
 * server's disk is full, failing, or the database takes no writes (a standby, or
 * default_transaction_read_only).
 */
const POSTGRES_STORAGE_FAULTS: Readonly<Record<string, string>> = {
  '53100': 'disk_full',
  '58030': 'io_error',
  '25006': 'read_only_sql_transaction',
};

/** The code of a write that failed for lack of a writable disk (SQLite's, or PostgreSQL's condition name); undefined for any other error. */
export function storageFaultCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(POSTGRES_STORAGE_FAULTS, code)) return POSTGRES_STORAGE_FAULTS[code];
  return STORAGE_FAULTS.some((fault) => code === fault || code.startsWith(`${fault}_`)) ? code : undefined;
}

export function isStorageFull(err: unknown): err is HubError {
  return err instanceof HubError && err.code === 'storage_full';
}

export interface StorageFault {
  /** The code of the write that failed first, e.g. SQLITE_FULL or disk_full. */
  code: string;
  message: string;
  /** Wall-clock ms of that failure. */
  since: number;
}

/**
 * What a store's probe writes (and deletes): more than a few pages, so that it needs room the
 * store does not have yet; a disk with room for a page or two is full for a burst of readings.
 */
export const PROBE_BYTES = 64 * 1024;

export class StorageHealth {
  private current: StorageFault | null = null;
  private readonly listeners = new Set<(fault: StorageFault | null) => void>();

  constructor(private readonly wallNow: () => number = Date.now) {}

  get full(): boolean {
    return this.current !== null;
  }

  /** What made the store full, or null while it is writable. */
  get fault(): StorageFault | null {
    return this.current;
  }

  /** A write failed with this storage fault; the first one since the store was last writable is kept. */
  failed(code: string, message: string): void {
    if (this.current !== null) return;
    this.current = { code, message, since: this.wallNow() };
    this.notify();
  }

  /** A write went through: the store is writable again. */
  recovered(): void {
    if (this.current === null) return;
    this.current = null;
    this.notify();
  }

  /**
   * A store's probe: runs `write` (which throws storage_full while there is no room); true, and
   * the store writable again, when it went through.
   */
  async probed(write: () => unknown): Promise<boolean> {
    try {
      await write();
    } catch (err) {
      if (isStorageFull(err)) return false;
      throw err;
    }
    this.recovered();
    return true;
  }

  /** Called with the fault when the store becomes full, and with null when it recovers. */
  onChange(listener: (fault: StorageFault | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The error a refused write throws. */
  error(): HubError {
    const fault = this.current;
    const cause = fault === null ? 'the disk refused a write' : `${fault.code}: ${fault.message}, since ${new Date(fault.since).toISOString()}`;
    return new HubError(
      'storage_full',
      `the hub cannot write to its database (${cause}); reads still work and writes resume by themselves once it can: free disk space in the hub's data folder, or bound the store with retention.max_mb`,
    );
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener(this.current);
  }
}
