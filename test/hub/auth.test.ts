// The hub API's token check, on light fake requests: the Authorization forms accepted and refused,
// the WebSocket-only sources (subprotocol bearer.<token>, ?token=), the refusals that say what to
// send, and the subprotocol the stream answers with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_TOKEN_NAME } from '../../src/hub/api-scope.js';
import { chooseSubprotocol, presentedToken, requireScope, tokenAuthority } from '../../src/hub/api/auth.js';
import { AuthFailureLimiter } from '../../src/hub/api/auth-limiter.js';
import { HubError } from '../../src/hub/errors.js';
import { nearMissTokens } from '../support/near-miss-token.js';

const TOKEN = 'hub-token-0123456789abcdef';

function request(headers: Record<string, string>, query?: Record<string, unknown>): FastifyRequest {
  return { headers, query, ip: '127.0.0.1', method: 'GET', url: '/api/devices', routeOptions: { url: '/api/devices' } } as unknown as FastifyRequest;
}

const NO_STORED_TOKENS = { verify: () => Promise.resolve(undefined) };

/** What the hook rejects with: undefined when the request may go on. */
async function check(req: FastifyRequest, websocket: boolean): Promise<Error | undefined> {
  const deps = { authority: tokenAuthority(TOKEN, NO_STORED_TOKENS), limiter: new AuthFailureLimiter(), now: () => 0 };
  try {
    await requireScope('read', websocket, deps)(req, { header: () => undefined } as unknown as FastifyReply);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof Error, 'the hook rejects with an Error');
    return err;
  }
}

const WHERE = 'with the token in <data>/api-token or one from tether hub token create';
const REST_HOW = `send Authorization: Bearer <token> ${WHERE}`;
const WS_HOW = `send Authorization: Bearer <token>, the query parameter token=<token>, or the subprotocol bearer.<token> ${WHERE}`;

void describe('the Authorization header', { timeout: 30_000 }, () => {
  void it('accepts Bearer in any case, then spaces or tabs, the token, and trailing spaces or tabs', async () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer   ${TOKEN}`, `Bearer\t${TOKEN}`, `Bearer ${TOKEN} `, `Bearer ${TOKEN}\t\t`]) {
      assert.equal(presentedToken(request({ authorization: header }), false), TOKEN, JSON.stringify(header));
      assert.equal(await check(request({ authorization: header }), false), undefined, JSON.stringify(header));
    }
  });

  void it('refuses anything else as malformed: no scheme, another scheme, junk before or after, no token', async () => {
    for (const header of [TOKEN, `Basic ${TOKEN}`, ` Bearer ${TOKEN}`, `xBearer ${TOKEN}`, `Bearer ${TOKEN} junk`, `Bearer${TOKEN}`, 'Bearer', 'Bearer ', '']) {
      assert.equal(presentedToken(request({ authorization: header }), false), '', JSON.stringify(header));
      const err = await check(request({ authorization: header }), false);
      assert.ok(err instanceof HubError, JSON.stringify(header));
      assert.equal(err.code, 'unauthenticated');
      assert.equal(err.message, `the Authorization header is not "Bearer <token>"; ${REST_HOW}`);
    }
  });

  void it('refuses a wrong token, however near, saying it is wrong', async () => {
    for (const { what, token } of [...nearMissTokens(TOKEN), { what: 'another token', token: 'x' }]) {
      const err = await check(request({ authorization: `Bearer ${token}` }), false);
      assert.ok(err instanceof HubError, what);
      assert.equal(err.message, `the API token is wrong; ${REST_HOW}`, what);
    }
  });

  void it('wins over the WebSocket sources, even when it is malformed', async () => {
    const req = request({ authorization: 'Basic abc', 'sec-websocket-protocol': `bearer.${TOKEN}` }, { token: TOKEN });
    assert.equal(presentedToken(req, true), '');
    assert.equal((await check(req, true))?.message, `the Authorization header is not "Bearer <token>"; ${WS_HOW}`);
  });
});

void describe('the WebSocket-only sources', { timeout: 30_000 }, () => {
  void it('REST never takes the token from ?token= or a bearer. subprotocol', async () => {
    const req = request({ 'sec-websocket-protocol': `bearer.${TOKEN}` }, { token: TOKEN });
    assert.equal(presentedToken(req, false), undefined);
    const err = await check(req, false);
    assert.ok(err instanceof HubError);
    assert.equal(err.code, 'unauthenticated');
    assert.equal(err.message, `no API token; ${REST_HOW}`);
  });

  void it('the stream takes the subprotocol bearer.<token>, among others and with spaces around it', async () => {
    for (const header of [`bearer.${TOKEN}`, `tether, bearer.${TOKEN}`, `tether,bearer.${TOKEN} ,other`, ` bearer.${TOKEN}`]) {
      assert.equal(presentedToken(request({ 'sec-websocket-protocol': header }), true), TOKEN, JSON.stringify(header));
      assert.equal(await check(request({ 'sec-websocket-protocol': header }), true), undefined, JSON.stringify(header));
    }
  });

  void it('the subprotocol comes before ?token=', () => {
    assert.equal(presentedToken(request({ 'sec-websocket-protocol': 'tether, bearer.from-protocol' }, { token: 'from-query' }), true), 'from-protocol');
    assert.equal(presentedToken(request({ 'sec-websocket-protocol': 'tether' }, { token: 'from-query' }), true), 'from-query');
  });

  void it('the stream takes ?token= only as a string', async () => {
    assert.equal(presentedToken(request({}, { token: TOKEN }), true), TOKEN);
    assert.equal(await check(request({}, { token: TOKEN }), true), undefined);
    assert.equal(presentedToken(request({}, { token: [TOKEN, TOKEN] }), true), undefined);
    assert.equal(presentedToken(request({}, { token: 42 }), true), undefined);
    assert.equal(presentedToken(request({}, {}), true), undefined);
    assert.equal(presentedToken(request({}), true), undefined, 'a request without a query object');
  });

  void it('refuses the stream with the three ways to send a token', async () => {
    assert.equal((await check(request({}), true))?.message, `no API token; ${WS_HOW}`);
    assert.equal((await check(request({}, { token: 'wrong' }), true))?.message, `the API token is wrong; ${WS_HOW}`);
  });
});

void describe('chooseSubprotocol', { timeout: 30_000 }, () => {
  void it('answers with a real protocol name over the token, with the token when that is all, and with none when none was offered', () => {
    assert.equal(chooseSubprotocol(new Set([`bearer.${TOKEN}`, 'tether'])), 'tether');
    assert.equal(chooseSubprotocol(new Set(['tether', `bearer.${TOKEN}`])), 'tether');
    assert.equal(chooseSubprotocol(new Set([`bearer.${TOKEN}`])), `bearer.${TOKEN}`);
    assert.equal(chooseSubprotocol(new Set(['x.bearer.', `bearer.${TOKEN}`])), 'x.bearer.');
    assert.equal(chooseSubprotocol(new Set()), false);
  });
});

void describe('wrong tokens checked at once', { timeout: 30_000 }, () => {
  void it('security: no more tokens from one address are checked at once than maxChecking, so a burst slips at most that many guesses past the limit', async () => {
    let checked = 0;
    const waiting: Array<() => void> = [];
    // Each check waits for the store, as a PostgreSQL one does.
    const authority = (): Promise<undefined> => {
      checked++;
      return new Promise((resolve) => waiting.push(() => resolve(undefined)));
    };
    const limiter = new AuthFailureLimiter();
    const hook = requireScope('read', false, { authority, limiter, now: () => 0 });
    const burst = limiter.limits.maxChecking + 5;
    const attempts = Array.from({ length: burst }, (_, i) =>
      hook(request({ authorization: `Bearer wrong-token-${i}` }), { header: () => undefined } as unknown as FastifyReply).then(
        () => 'let in',
        (err: HubError) => err.code,
      ),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(checked, limiter.limits.maxChecking, 'the store is asked for at most maxChecking at once');
    for (const release of waiting) release();
    const codes = await Promise.all(attempts);
    assert.equal(codes.filter((c) => c === 'rate_limited').length, burst - limiter.limits.maxChecking);
    assert.equal(codes.filter((c) => c === 'unauthenticated').length, limiter.limits.maxChecking);
    assert.ok(limiter.lockedFor('127.0.0.1', 0) > 0, 'and those that were checked locked the address out');
  });
});

void describe('tokenAuthority', { timeout: 30_000 }, () => {
  void it('knows the admin token as api-token with the admin scope, a stored one by its entry, and nothing else', async () => {
    const stored = { verify: (t: string) => Promise.resolve(t === 'stored-token-0123456789' ? { name: 'tablet', scope: 'read' as const } : undefined) };
    const authority = tokenAuthority(TOKEN, stored);
    assert.deepEqual(await authority(TOKEN), { name: ADMIN_TOKEN_NAME, scope: 'admin' });
    assert.deepEqual(await authority('stored-token-0123456789'), { name: 'tablet', scope: 'read' });
    for (const { what, token } of nearMissTokens(TOKEN)) assert.equal(await authority(token), undefined, what);
  });

  void it('lets the admin token in while the store cannot be read, and no other token', async () => {
    const down = new HubError('store_unavailable', 'the database cannot be reached');
    const authority = tokenAuthority(TOKEN, { verify: () => Promise.reject(down) });
    assert.deepEqual(await authority(TOKEN), { name: ADMIN_TOKEN_NAME, scope: 'admin' });
    await assert.rejects(authority('stored-token-0123456789'), (err) => err === down);
  });
});
