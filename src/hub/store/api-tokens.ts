// Named API tokens with a scope (read, control, admin). Like board tokens, only their SHA-256 is
// kept, so a copy of the database opens nothing; a token is shown once, when it is made. The
// table is read at every check, so a token revoked by `tether hub token revoke` in another
// process stops working at the next request.
import type Database from 'better-sqlite3';
import { ADMIN_TOKEN_NAME, type ApiIdentity, type ApiScope } from '../api-scope.js';
import { HubError } from '../errors.js';
import { hashToken, newToken, tokenMatches } from './tokens.js';

/** Letters, digits, _ . and -, like a board id: a name that is safe in a URL path and a log line. */
export const API_TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ApiTokenView {
  name: string;
  scope: ApiScope;
  /** Wall-clock ms. */
  createdAt: number;
}

interface TokenRow {
  name: string;
  scope: ApiScope;
  token_hash: string;
  created_at: number;
}

function statements(db: Database.Database) {
  return {
    insert: db.prepare<{ name: string; scope: ApiScope; hash: string; createdAt: number }>(
      'INSERT INTO api_tokens (name, scope, token_hash, created_at) VALUES (@name, @scope, @hash, @createdAt)',
    ),
    exists: db.prepare<[string], { name: string }>('SELECT name FROM api_tokens WHERE name = ?'),
    all: db.prepare<[], TokenRow>('SELECT name, scope, token_hash, created_at FROM api_tokens ORDER BY name'),
    remove: db.prepare<[string]>('DELETE FROM api_tokens WHERE name = ?'),
  };
}

export class ApiTokens {
  private readonly sql: ReturnType<typeof statements>;

  constructor(db: Database.Database) {
    this.sql = statements(db);
  }

  /** Makes a token and returns it with its entry: the only time the token itself is seen. */
  create(name: string, scope: ApiScope, now: number = Date.now()): { token: string; view: ApiTokenView } {
    if (!API_TOKEN_NAME.test(name)) throw new HubError('bad_request', `token name ${JSON.stringify(name)}: use 1–64 letters, digits, _ . or -, e.g. kitchen-tablet`);
    if (name === ADMIN_TOKEN_NAME) throw new HubError('conflict', `${ADMIN_TOKEN_NAME} is the name of the admin token in <data>/api-token; pick another name`);
    if (this.sql.exists.get(name) !== undefined) {
      throw new HubError('conflict', `a token named ${JSON.stringify(name)} exists; revoke it first, or pick another name`);
    }
    const token = newToken();
    this.sql.insert.run({ name, scope, hash: hashToken(token), createdAt: now });
    return { token, view: { name, scope, createdAt: now } };
  }

  /** Sorted by name; never the tokens themselves, which the hub does not have. */
  list(): ApiTokenView[] {
    return this.sql.all.all().map((row) => ({ name: row.name, scope: row.scope, createdAt: row.created_at }));
  }

  /** False when no token has that name. */
  revoke(name: string): boolean {
    return this.sql.remove.run(name).changes > 0;
  }

  /**
   * The entry `token` belongs to. Every stored hash is compared, in constant time and without
   * stopping at a match, so the time taken says nothing about which entry (if any) matched.
   */
  verify(token: string): ApiIdentity | undefined {
    let found: ApiIdentity | undefined;
    for (const row of this.sql.all.all()) {
      if (tokenMatches(token, row.token_hash) && found === undefined) found = { name: row.name, scope: row.scope };
    }
    return found;
  }
}
