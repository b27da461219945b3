// Who gets a connection slot on a full board (protocol.md §1, fairness): a connection that has
// not proven itself (no scope on a board with tokens, no request yet on a board without) is
// closed 10 s after it opened, and gives way to a newcomer when the board is full. So idle or
// silent strangers never lock the owner out.
import type { Clock } from '../../common/clock.js';
import { TimedSlots } from '../../common/connection-slots.js';
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

export class Admission {
  private readonly slots: TimedSlots<Admittee>;
  private readonly tally: LogTally;
  private readonly timeoutMs: number;
  private readonly failed: string;

  constructor(private readonly options: AdmissionOptions) {
    this.slots = new TimedSlots({ total: options.maxConnections }, options.clock);
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
    const result = this.slots.admit(conn, '', () => conn.unproven, this.timeoutMs, () => {
      if (conn.unproven) this.drop(conn, `after ${this.timeoutMs / 1000} s`);
    });
    if (!result.admitted) {
      this.options.logger.debug(`refused ${conn.peer}: all ${this.options.maxConnections} connections are proven`);
      this.tally.note('refused', conn.peer);
      return false;
    }
    if (result.evicted !== undefined) this.drop(result.evicted, `to make room for ${conn.peer}`);
    return true;
  }

  /** The connection closed. */
  release(conn: Admittee): void {
    this.slots.release(conn);
  }

  close(): void {
    this.slots.close();
    this.tally.close();
  }

  private drop(conn: Admittee, why: string): void {
    this.slots.release(conn);
    this.options.logger.debug(`closed ${conn.peer} ${why}: it ${this.failed}`);
    this.tally.note('closed', conn.peer);
    conn.close();
  }
}
