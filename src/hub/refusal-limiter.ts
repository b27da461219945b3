// Hellos refused as `unauthorized` (an unknown device id, a wrong token or proof: what guessing
// looks like) are counted per address (protocol.md §10.8): after 5 in a minute the next hellos
// from that address are answered `rate_limited` at once, without a look at their device id or
// proof, for 30 s, then twice as long each time it happens again, up to 5 minutes. A malformed
// hello or an unsupported version is not a guess and keeps its own answer, so an outdated board
// keeps saying what to fix. Every refusal is logged, once a minute per address with the count.
import type { Clock } from '../common/clock.js';
import { LogTally } from '../common/log-tally.js';
import type { Logger } from '../device/logger.js';
import type { ErrorCode } from '../protocol/errors.js';

export const REFUSAL_LIMITS = { refusals: 5, windowMs: 60_000, firstBackoffMs: 30_000, maxBackoffMs: 5 * 60_000 } as const;

/** A hello or proof the hub refused, as its `reject` said. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

export interface RefusalLimiterOptions {
  clock: Clock;
  logger: Logger;
  /** Addresses remembered at once; the oldest is forgotten beyond. */
  maxAddresses?: number;
}

interface AddressRecord {
  /** Refusals counted since `since`. */
  count: number;
  since: number;
  /** Answered `rate_limited` until then. */
  until: number;
  /** The next block's length. */
  backoffMs: number;
  lastAt: number;
}

export class RefusalLimiter {
  private readonly records = new Map<string, AddressRecord>();
  private readonly tally: LogTally;
  private readonly maxAddresses: number;

  constructor(private readonly options: RefusalLimiterOptions) {
    this.maxAddresses = options.maxAddresses ?? 4096;
    this.tally = new LogTally(options.clock, (address, count, last) => {
      const wait = this.limited(address);
      options.logger.warn(
        `link: refused ${count} hello${count === 1 ? '' : 's'} from ${address} in the last minute (last: ${last})${wait === undefined ? '' : `; its hellos get rate_limited for ${Math.ceil(wait / 1000)} s more`}`,
      );
    });
  }

  /**
   * The milliseconds left while hellos from `address` are answered `rate_limited`, or undefined
   * when its next hello is to be looked at.
   */
  limited(address: string | undefined): number | undefined {
    const record = this.records.get(address ?? '?');
    const left = record === undefined ? 0 : record.until - this.options.clock.now();
    return left > 0 ? left : undefined;
  }

  /** The `reject` message for a hello from an address that is limited now. */
  rejection(address: string | undefined): Refusal | undefined {
    const left = this.limited(address);
    if (left === undefined) return undefined;
    return { code: 'rate_limited', message: `too many refused hellos from ${address ?? 'this address'} lately; try again in ${Math.ceil(left / 1000)} s` };
  }

  /** The hub refused a hello or a proof from `address`; only `unauthorized` counts towards a block. */
  refused(address: string | undefined, refusal: Refusal): void {
    const key = address ?? '?';
    const now = this.options.clock.now();
    this.tally.note(key, `${refusal.code}: ${refusal.message}`);
    if (refusal.code !== 'unauthorized') return;
    let record: AddressRecord | undefined = this.records.get(key);
    if (record !== undefined && record.until <= now && now - record.lastAt > REFUSAL_LIMITS.maxBackoffMs) {
      // Quiet for longer than the longest block: a fresh start.
      this.records.delete(key);
      record = undefined;
    }
    if (record === undefined) {
      record = { count: 0, since: now, until: 0, backoffMs: REFUSAL_LIMITS.firstBackoffMs, lastAt: now };
      this.remember(key, record);
    }
    record.lastAt = now;
    if (record.until > now) return;
    if (now - record.since >= REFUSAL_LIMITS.windowMs) {
      record.count = 0;
      record.since = now;
    }
    if (++record.count < REFUSAL_LIMITS.refusals) return;
    record.until = now + record.backoffMs;
    record.backoffMs = Math.min(record.backoffMs * 2, REFUSAL_LIMITS.maxBackoffMs);
    record.count = 0;
    record.since = record.until;
  }

  close(): void {
    this.tally.close();
    this.records.clear();
  }

  private remember(key: string, record: AddressRecord): void {
    if (this.records.size >= this.maxAddresses) {
      const now = this.options.clock.now();
      for (const [k, r] of this.records) if (r.until <= now && now - r.lastAt > REFUSAL_LIMITS.windowMs) this.records.delete(k);
      const oldest = this.records.keys().next();
      if (this.records.size >= this.maxAddresses && oldest.done !== true) this.records.delete(oldest.value);
    }
    this.records.set(key, record);
  }
}
