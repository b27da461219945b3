// Who gets a connection slot on a full board (protocol.md §1, fairness): a connection that has
// not proven itself (no scope on a board with tokens, no request yet on a board without) is
// closed 10 s after it opened, and gives way to a newcomer when the board is full. So idle or
// silent strangers never lock the owner out.
import type { Clock, Timer } from '../../common/clock.js';
import { ConnectionSlots } from '../../common/connection-slots.js';
import { LogTally } from '../../common/log-tally.js';
import type { Logger } from '../logger.js';

/** The auth timeout (protocol.md §1). */
export const AUTH_TIMEOUT_MS = 10_000;

/** What the listener knows of one connection. */
export interface Admittee {
  readonly peer: string;
  /** No scope yet on a board with tokens; no complete request yet on a board without. */
  readonly unproven: boolean;
  /** Drops the connection at once. */
  close(): void;
}

export interface AdmissionOptions {
  maxConnections: number;
  clock: Clock;
  logger: Logger;
  /** Whether the board has tokens: only for what the log says a connection failed to do. */
  tokens: boolean;
  authTimeoutMs?: number;
}

interface Entry {
  readonly key: string;
  readonly conn: Admittee;
  timer: Timer | undefined;
  readonly evictable: boolean;
}

export class Admission {
  private readonly slots: ConnectionSlots<Entry>;
  private readonly entries = new Map<Admittee, Entry>();
  private readonly tally: LogTally;
  private readonly timeoutMs: number;
  private readonly failed: string;

  constructor(private readonly options: AdmissionOptions) {
    this.slots = new ConnectionSlots({ total: options.maxConnections });
    this.timeoutMs = options.authTimeoutMs ?? AUTH_TIMEOUT_MS;
    this.failed = options.tokens ? 'had not authenticated' : 'had sent no request';
    const s = this.timeoutMs / 1000;
    const hint = options.tokens ? `clients must send auth within ${s} s of connecting` : `clients must send a request within ${s} s of connecting`;
    this.tally = new LogTally(options.clock, (key, count, last) => {
      if (key === 'refused') {
        options.logger.warn(
          `refused ${count} connection${count === 1 ? '' : 's'} in the last minute (last: ${last}): all ${options.maxConnections} connections are in use by clients that ${options.tokens ? 'authenticated' : 'sent requests'}; close idle clients (docs/protocol.md §1)`,
        );
      } else {
        options.logger.warn(`closed ${count} connection${count === 1 ? '' : 's'} in the last minute that ${this.failed} (last: ${last}); ${hint} (docs/protocol.md §1)`);
      }
    });
  }

  /** Takes a new connection, closing the oldest unproven one if the board is full; false: close the newcomer at once, unanswered. */
  admit(conn: Admittee): boolean {
    const entry: Entry = {
      key: '',
      conn,
      timer: undefined,
      get evictable() {
        return conn.unproven;
      },
    };
    const result = this.slots.admit(entry);
    if (!result.admitted) {
      this.options.logger.debug(`refused ${conn.peer}: all ${this.options.maxConnections} connections are proven`);
      this.tally.note('refused', conn.peer);
      return false;
    }
    if (result.evicted !== undefined) this.drop(result.evicted, `to make room for ${conn.peer}`);
    this.entries.set(conn, entry);
    entry.timer = this.options.clock.setTimer(this.timeoutMs, () => {
      entry.timer = undefined;
      if (conn.unproven && this.slots.release(entry)) this.drop(entry, `after ${this.timeoutMs / 1000} s`);
    });
    return true;
  }

  /** The connection closed. */
  release(conn: Admittee): void {
    const entry = this.entries.get(conn);
    if (entry === undefined) return;
    this.entries.delete(conn);
    if (entry.timer !== undefined) this.options.clock.clearTimer(entry.timer);
    this.slots.release(entry);
  }

  close(): void {
    for (const entry of this.entries.values()) if (entry.timer !== undefined) this.options.clock.clearTimer(entry.timer);
    this.entries.clear();
    this.tally.close();
  }

  private drop(entry: Entry, why: string): void {
    this.release(entry.conn);
    this.options.logger.debug(`closed ${entry.conn.peer} ${why}: it ${this.failed}`);
    this.tally.note('closed', entry.conn.peer);
    entry.conn.close();
  }
}
