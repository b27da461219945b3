// Board tokens. The hub keeps only their SHA-256, which is the board key of the link's
// challenge and response (protocol.md §10.5): the hub proves itself and checks the board with
// it, and a token is shown once, when it is made. A copy of the database is enough to pose as
// the hub or as a board until the token is rotated, but it does not reveal the token itself.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { keyOfToken } from '../../protocol/auth.js';

/** 32 random bytes, base64url: 43 characters that survive a shell, a URL and a YAML file. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the registry stores for a token: its board key as hex. */
export function hashToken(token: string): string {
  return keyOfToken(token).toString('hex');
}

const KEY_HEX = /^[0-9a-f]{64}$/;

/** The board key a stored hash holds; undefined for a malformed one, which no board can match. */
export function keyOfHash(hash: string): Buffer | undefined {
  return KEY_HEX.test(hash) ? Buffer.from(hash, 'hex') : undefined;
}

/** Whether `token` hashes to `hash` (an API token's row), compared in constant time. */
export function tokenMatches(token: string, hash: string): boolean {
  const stored = keyOfHash(hash);
  return stored !== undefined && timingSafeEqual(keyOfToken(token), stored);
}
