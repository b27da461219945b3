// The hub API's bearer tokens. The admin token is one secret in <data>/api-token, made on the
// first start, readable only by the hub's user: anyone who can read the file can drive every
// board, so it is never logged and never compared in a way that leaks how much of a guess was
// right. Further tokens, each with a scope (api-scope.ts), are named and kept hashed in the
// store (store/api-tokens.ts).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const API_TOKEN_FILE = 'api-token';


export interface ApiToken {
  token: string;
  /** True when this call made the file (the caller says where it is, once). */
  created: boolean;
  path: string;
}

export function ensureApiToken(dataDir: string): ApiToken {
  const file = path.join(dataDir, API_TOKEN_FILE);
  const existing = readToken(file);
  if (existing !== undefined) {
    narrowToOwner(file);
    return { token: existing, created: false, path: file };
  }

  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  try {
    fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another hub process on the same data folder won the race: use its token, not a second one.
    if (isErrno(err, 'EEXIST')) {
      const theirs = readToken(file);
      if (theirs !== undefined) return { token: theirs, created: false, path: file };
    }
    throw err;
  }
  // The mode given to open() is filtered through the umask; a umask never widens it, but an
  // unusual one (or a file system that ignores it) must not leave the secret readable.
  fs.chmodSync(file, 0o600);
  return { token, created: true, path: file };
}

/** A token file written by hand (often 0644) is narrowed to 0600 like the one the hub makes. */
function narrowToOwner(file: string): void {
  if ((fs.statSync(file).mode & 0o077) === 0) return;
  try {
    fs.chmodSync(file, 0o600);
  } catch (err) {
    if (!isErrno(err, 'EPERM')) throw err;
  }
}

function readToken(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) {
    // Replacing it silently would lock out every client that holds the old one.
    throw new Error(`${file} must hold one token on one line; delete the file to have the hub make a new one`);
  }
  return token;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/**
 * Constant-time equality of two tokens. Both are hashed first so that neither a length
 * difference nor the position of the first differing byte shows in the time taken.
 */
export function tokenEquals(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
