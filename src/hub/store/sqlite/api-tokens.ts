// Named API tokens with a scope (read, control, admin). Like board tokens, only their SHA-256 is
// kept, so a copy of the database opens nothing; a token is shown once, when it is made. The
// table is read at every check, so a token revoked by `tether hub token revoke` in another
// process stops working at the next request.
import type Database from 'better-sqlite3';
import type { ApiIdentity, ApiScope } from '../../api-scope.js';
import { checkTokenName, tokenExists } from '../checks.js';
import type { ApiTokenStore, ApiTokenView } from '../port.js';
import { hashToken, newToken, tokenMatches } from '../tokens.js';

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

// Async without awaiting: a statement's throw becomes the rejection the port promises.
/* eslint-disable @typescript-eslint/require-await */
export class ApiTokens implements ApiTokenStore {
  private readonly sql: ReturnType<typeof statements>;

  constructor(db: Database.Database) {
    this.sql = statements(db);
  }

  async create(name: string, scope: ApiScope, now: number = Date.now()): Promise<{ token: string; view: ApiTokenView }> {
    checkTokenName(name);
    if (this.sql.exists.get(name) !== undefined) throw tokenExists(name);
    const token = newToken();
    this.sql.insert.run({ name, scope, hash: hashToken(token), createdAt: now });
    return { token, view: { name, scope, createdAt: now } };
  }

  async list(): Promise<ApiTokenView[]> {
    return this.sql.all.all().map((row) => ({ name: row.name, scope: row.scope, createdAt: row.created_at }));
  }

  async revoke(name: string): Promise<boolean> {
    return this.sql.remove.run(name).changes > 0;
  }

  /**
   * The entry `token` belongs to. Every stored hash is compared, in constant time and without
   * stopping at a match, so the time taken says nothing about which entry (if any) matched.
   */
  async verify(token: string): Promise<ApiIdentity | undefined> {
    let found: ApiIdentity | undefined;
    for (const row of this.sql.all.all()) {
      if (tokenMatches(token, row.token_hash) && found === undefined) found = { name: row.name, scope: row.scope };
    }
    return found;
  }
}
