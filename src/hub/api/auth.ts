// Bearer-token checks. REST calls carry `Authorization: Bearer <token>`. Browsers cannot set
// headers on a WebSocket, so the stream also takes `?token=` or the subprotocol `bearer.<token>`;
// REST routes do not, because a token in a URL ends up in proxy logs and shell history. Each
// route needs a scope (route-spec.ts); a known token below it is 403 forbidden, an unknown one
// 401 unauthenticated, and wrong tokens are rate-limited per address (auth-limiter.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_TOKEN_NAME, scopeCovers, type ApiIdentity, type ApiScope } from '../api-scope.js';
import { tokenEquals } from '../api-token.js';
import { HubError } from '../errors.js';
import type { AuthFailureLimiter } from './auth-limiter.js';

export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * The token the request presents: undefined when none, '' for an Authorization header that is
 * not `Bearer <token>`. The first source present wins.
 */
export function presentedToken(request: FastifyRequest, websocket: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] ?? '';
  if (!websocket) return undefined;
  const offered = subprotocols(request.headers['sec-websocket-protocol']);
  const bearer = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (bearer !== undefined) return bearer.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  const query = (request.query as { token?: unknown } | undefined)?.token;
  return typeof query === 'string' ? query : undefined;
}

function subprotocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** Who holds a token: the admin token's identity, a stored token's, or undefined. */
export type TokenAuthority = (token: string) => Promise<ApiIdentity | undefined>;

/**
 * The admin token (the file <data>/api-token) and the stored ones. Both are always checked, so
 * the time taken does not say which kind a token is.
 */
export function tokenAuthority(adminToken: string, stored: { verify(token: string): Promise<ApiIdentity | undefined> }): TokenAuthority {
  return async (token) => {
    const admin = tokenEquals(token, adminToken);
    // The admin token still opens the API while the store cannot be read (GET /api/health says why).
    const found = await stored.verify(token).catch((err: unknown) => {
      if (admin) return undefined;
      throw err;
    });
    return admin ? { name: ADMIN_TOKEN_NAME, scope: 'admin' } : found;
  };
}

export interface AuthDeps {
  authority: TokenAuthority;
  limiter: AuthFailureLimiter;
  /** Wall-clock ms. */
  now: () => number;
}

const identities = new WeakMap<FastifyRequest, ApiIdentity>();

/** The identity requireScope let through; only for routes that need a token. */
export function identityOf(request: FastifyRequest): ApiIdentity {
  const identity = identities.get(request);
  if (identity === undefined) throw new Error(`${request.routeOptions.url ?? 'this route'}: no identity; the route must need a token`);
  return identity;
}

/** Throws forbidden unless the request's token covers `needed`; `what` names what needs it. */
export function demandScope(request: FastifyRequest, needed: ApiScope, what: string): void {
  const identity = identityOf(request);
  if (!scopeCovers(identity.scope, needed)) throw forbidden(identity, needed, what);
}

function forbidden(identity: ApiIdentity, needed: ApiScope, what: string): HubError {
  return new HubError(
    'forbidden',
    `the token ${JSON.stringify(identity.name)} has the scope ${identity.scope}; ${what} needs ${needed}. An admin makes such a token with: tether hub token create NAME --scope ${needed}`,
  );
}

/**
 * An onRequest hook that lets a request through only with a token whose scope covers `needed`.
 * An address that sent too many wrong tokens is refused before its token is looked at.
 */
export function requireScope(needed: ApiScope, websocket: boolean, deps: AuthDeps) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const address = request.ip;
    const locked = deps.limiter.lockedFor(address, deps.now());
    if (locked > 0) {
      deps.limiter.refused(address);
      const seconds = Math.ceil(locked / 1000);
      reply.header('Retry-After', String(seconds));
      throw new HubError('rate_limited', `too many wrong API tokens came from ${address}; try again in ${seconds} s, with the right token`);
    }
    const token = presentedToken(request, websocket);
    let identity: ApiIdentity | undefined;
    if (token !== undefined && token !== '') {
      const end = deps.limiter.begin(address);
      if (end === undefined) {
        deps.limiter.refused(address);
        reply.header('Retry-After', '1');
        throw new HubError('rate_limited', `too many API tokens from ${address} are being checked at once; try again in a second`);
      }
      try {
        identity = await deps.authority(token);
      } finally {
        end();
      }
    }
    if (identity === undefined) {
      if (token !== undefined && token !== '') deps.limiter.failed(address, deps.now());
      const how = websocket
        ? 'send Authorization: Bearer <token>, the query parameter token=<token>, or the subprotocol bearer.<token>'
        : 'send Authorization: Bearer <token>';
      const what = token === undefined ? 'no API token' : token === '' ? 'the Authorization header is not "Bearer <token>"' : 'the API token is wrong';
      throw new HubError('unauthenticated', `${what}; ${how} with the token in <data>/api-token or one from tether hub token create`);
    }
    if (!scopeCovers(identity.scope, needed)) {
      throw forbidden(identity, needed, `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0] ?? ''}`);
    }
    identities.set(request, identity);
  };
}

/**
 * Picks the subprotocol the stream answers with. A browser fails the handshake unless the server
 * names one it offered, so a client that offers only `bearer.<token>` gets that back; one that
 * also offers a real protocol name gets the name instead of its token.
 */
export function chooseSubprotocol(offered: Set<string>): string | false {
  const list = [...offered];
  return list.find((p) => !p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) ?? list[0] ?? false;
}
