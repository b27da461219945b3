// Board tokens. The hub keeps only their SHA-256, so a copy of its database does not let anyone
// link as a board; a token is shown once, when it is made.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: 43 characters that survive a shell, a URL and a YAML file. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `token` hashes to `hash`, compared in constant time. */
export function tokenMatches(token: string, hash: string): boolean {
  const given = Buffer.from(hashToken(token), 'hex');
  const stored = Buffer.from(hash, 'hex');
  // A malformed stored hash has another length, and timingSafeEqual throws on that.
  return given.length === stored.length && timingSafeEqual(given, stored);
}
