// Wrong API tokens, counted per address. A token is 256 random bits, so guessing is hopeless,
// but a client that keeps trying (a script with an old token, or someone probing) must cost the
// hub little and must not flood its log: after too many wrong tokens in a window the address is
// locked out for a while, longer each time, and the log gets one line per address per report
// period with the counts, never one line per request.

export interface AuthLimits {
  /** This many wrong tokens from one address within windowMs lock it out. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** The first lockout; each next one doubles, up to maxLockoutMs. */
  readonly lockoutMs: number;
  readonly maxLockoutMs: number;
  /** An address quiet this long after its last wrong token starts again from the first lockout. */
  readonly forgetAfterMs: number;
  /** At most this many addresses are remembered; past it the longest quiet one is forgotten. */
  readonly maxAddresses: number;
  /**
   * Tokens from one address checked at once, at most: each check reads the store, and all could
   * be wrong. Above maxFailures, so that a dashboard's burst of requests (several tabs) passes.
   */
  readonly maxChecking: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  maxFailures: 10,
  windowMs: 60_000,
  lockoutMs: 60_000,
  maxLockoutMs: 3_600_000,
  forgetAfterMs: 3_600_000,
  maxAddresses: 10_000,
  maxChecking: 32,
};

interface AddressRecord {
  /** Times of the wrong tokens in the current window (at most maxFailures). */
  failures: number[];
  lockouts: number;
  lockedUntil: number;
  lastFailure: number;
  /** Since the last report: wrong tokens, and requests refused while locked out. */
  wrong: number;
  refused: number;
}

export class AuthFailureLimiter {
  private readonly addresses = new Map<string, AddressRecord>();
  /** Tokens being checked per address (the check reads the store): each may yet be a failure. */
  private readonly checking = new Map<string, number>();

  constructor(readonly limits: AuthLimits = DEFAULT_AUTH_LIMITS) {}

  /** How long the address must still wait, in ms; 0 when it may try. */
  lockedFor(address: string, now: number): number {
    const record = this.addresses.get(address);
    return record === undefined ? 0 : Math.max(0, record.lockedUntil - now);
  }

  /**
   * A token from the address is to be checked. Undefined when maxChecking checks from it are under
   * way already: they could all be wrong, so no more start until they are counted. Otherwise a
   * function to call once this check ended.
   */
  begin(address: string): (() => void) | undefined {
    const now = this.checking.get(address) ?? 0;
    if (now >= this.limits.maxChecking) return undefined;
    this.checking.set(address, now + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.checking.get(address) ?? 1) - 1;
      if (left > 0) this.checking.set(address, left);
      else this.checking.delete(address);
    };
  }

  /** A request refused because the address is locked out (counted for the report only). */
  refused(address: string): void {
    const record = this.addresses.get(address);
    if (record !== undefined) record.refused++;
  }

  /** A wrong token from the address; returns the lockout it started, in ms, or 0. */
  failed(address: string, now: number): number {
    let record = this.addresses.get(address);
    if (record !== undefined && now - record.lastFailure > this.limits.forgetAfterMs && record.lockedUntil <= now) record = undefined;
    record ??= { failures: [], lockouts: 0, lockedUntil: 0, lastFailure: now, wrong: 0, refused: 0 };
    // Re-inserted so that the map's order is least recently failed first (see forgetOldest).
    this.addresses.delete(address);
    this.addresses.set(address, record);
    this.forgetOldest();
    record.lastFailure = now;
    record.wrong++;
    record.failures = record.failures.filter((t) => now - t < this.limits.windowMs);
    record.failures.push(now);
    if (record.failures.length < this.limits.maxFailures) return 0;
    record.failures = [];
    const lockout = Math.min(this.limits.lockoutMs * 2 ** record.lockouts, this.limits.maxLockoutMs);
    record.lockouts++;
    record.lockedUntil = now + lockout;
    return lockout;
  }

  /**
   * One line per address that had wrong tokens since the last report, and forgets addresses
   * quiet for forgetAfterMs. The caller logs the lines, once per report period.
   */
  report(now: number, periodMs: number): string[] {
    const lines: string[] = [];
    for (const [address, record] of this.addresses) {
      if (record.wrong > 0 || record.refused > 0) {
        const locked = Math.max(0, record.lockedUntil - now);
        lines.push(
          `API: ${record.wrong} wrong API token${record.wrong === 1 ? '' : 's'} from ${address} in the last ${duration(periodMs)}` +
            (record.refused > 0 ? `, ${record.refused} request${record.refused === 1 ? '' : 's'} refused while locked out` : '') +
            (locked > 0 ? `; locked out for ${Math.ceil(locked / 1000)} s more (lockout ${record.lockouts})` : ''),
        );
        record.wrong = 0;
        record.refused = 0;
      } else if (now - record.lastFailure > this.limits.forgetAfterMs && record.lockedUntil <= now) {
        this.addresses.delete(address);
      }
    }
    return lines;
  }

  /** How many addresses are remembered. */
  get size(): number {
    return this.addresses.size;
  }

  private forgetOldest(): void {
    for (const address of this.addresses.keys()) {
      if (this.addresses.size <= this.limits.maxAddresses) return;
      this.addresses.delete(address);
    }
  }
}

function duration(ms: number): string {
  return ms % 60_000 === 0 ? (ms === 60_000 ? 'minute' : `${ms / 60_000} minutes`) : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
