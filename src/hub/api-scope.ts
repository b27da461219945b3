// API token scopes, shared by the hub and the web dashboard (which must not load Node modules,
// so this file imports nothing).

/**
 * What a token may do, each scope including the ones before it: `read` the dashboards, graphs
 * and the stream; `control` boards with commands (and leases); `admin` everything, tokens too.
 */
export const API_SCOPES = ['read', 'control', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function isApiScope(value: unknown): value is ApiScope {
  return typeof value === 'string' && (API_SCOPES as readonly string[]).includes(value);
}

/** Whether a token of scope `held` may use what needs `needed`. */
export function scopeCovers(held: ApiScope, needed: ApiScope): boolean {
  return API_SCOPES.indexOf(held) >= API_SCOPES.indexOf(needed);
}

/** Who a request is, once its token is known. */
export interface ApiIdentity {
  /** The token's name; ADMIN_TOKEN_NAME for the token in <data>/api-token. */
  readonly name: string;
  readonly scope: ApiScope;
}

/** The name the token in <data>/api-token goes by; no stored token may take it. */
export const ADMIN_TOKEN_NAME = 'api-token';
