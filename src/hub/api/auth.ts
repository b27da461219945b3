// Bearer-token checks. REST calls carry `Authorization: Bearer <token>`. Browsers cannot set
// headers on a WebSocket, so the stream also takes `?token=` or the subprotocol `bearer.<token>`;
// REST routes do not, because a token in a URL ends up in proxy logs and shell history.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { tokenEquals } from '../api-token.js';
import { HubError } from '../errors.js';

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

/** An onRequest hook that lets a request through only with the API token. */
export function requireToken(apiToken: string, websocket: boolean) {
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const token = presentedToken(request, websocket);
    if (token !== undefined && token !== '' && tokenEquals(token, apiToken)) return done();
    const how = websocket
      ? 'send Authorization: Bearer <token>, the query parameter token=<token>, or the subprotocol bearer.<token>'
      : 'send Authorization: Bearer <token>';
    const what = token === undefined ? 'no API token' : token === '' ? 'the Authorization header is not "Bearer <token>"' : 'the API token is wrong';
    done(new HubError('unauthenticated', `${what}; ${how} with the token in <data>/api-token`));
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
