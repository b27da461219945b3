// Named API tokens with a scope, kept in PostgreSQL (the SQLite side and its reasons: ../api-tokens.ts).
// The table is read at every check, so a token revoked by any hub stops working at the next request.
import type { ApiIdentity, ApiScope } from '../../api-scope.js';
import { checkTokenName, tokenExists } from '../checks.js';
import type { ApiTokenStore, ApiTokenView } from '../port.js';
import { hashToken, newToken, tokenMatches } from '../tokens.js';
import { changed } from './devices.js';
import type { Access, Queryable } from './db.js';

interface TokenRow {
  name: string;
  scope: ApiScope;
  token_hash: string;
  created_at: number;
}

export class ApiTokens implements ApiTokenStore {
  /** `access.write` runs a write through the store's health checks, `access.read` a read (store_unavailable when out of reach). */
  constructor(
    private readonly db: Queryable,
    private readonly access: Access,
  ) {}

  async create(name: string, scope: ApiScope, now: number = Date.now()): Promise<{ token: string; view: ApiTokenView }> {
    checkTokenName(name);
    const token = newToken();
    const inserted = await this.access.write(() =>
      this.db.query('INSERT INTO api_tokens (name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING', [name, scope, hashToken(token), now]),
    );
    if (!changed(inserted)) throw tokenExists(name);
    return { token, view: { name, scope, createdAt: now } };
  }

  async list(): Promise<ApiTokenView[]> {
    const { rows } = await this.access.read(() => this.db.query<TokenRow>('SELECT name, scope, created_at FROM api_tokens ORDER BY name'));
    return rows.map((row) => ({ name: row.name, scope: row.scope, createdAt: row.created_at }));
  }

  async revoke(name: string): Promise<boolean> {
    return changed(await this.access.write(() => this.db.query('DELETE FROM api_tokens WHERE name = $1', [name])));
  }

  /**
   * The entry `token` belongs to. Every stored hash is compared, in constant time and without
   * stopping at a match, so the time taken says nothing about which entry (if any) matched.
   */
  async verify(token: string): Promise<ApiIdentity | undefined> {
    const { rows } = await this.access.read(() => this.db.query<TokenRow>('SELECT name, scope, token_hash FROM api_tokens'));
    let found: ApiIdentity | undefined;
    for (const row of rows) {
      if (tokenMatches(token, row.token_hash) && found === undefined) found = { name: row.name, scope: row.scope };
    }
    return found;
  }
}
