// API tokens with scopes on a real hub (its store on disk, the API on a loopback socket): what
// each scope may do, revocation at once, tokens hashed at rest, and wrong tokens rate-limited.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AuthFailureLimiter } from '../../src/hub/api/auth-limiter.js';
import { buildApi } from '../../src/hub/api/server.js';
import type { HubFacade } from '../../src/hub/api/facade.js';
import type { Hub } from '../../src/hub/hub.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { nearMissTokens } from '../support/near-miss-token.js';
import { startTestHub } from '../support/test-hub.js';

interface Answer {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
  headers: Headers;
}

async function call(hub: Hub, method: string, route: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${hub.http.port}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Answer['body'], headers: res.headers };
}

/** Opens the stream with the token as a subprotocol; resolves with its first message, or rejects with the refusal. */
function firstStreamMessage(hub: Hub, token: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.http.port}/api/stream`, [`bearer.${token}`]);
    ws.once('message', (data: Buffer) => {
      resolve(JSON.parse(data.toString('utf8')));
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

const COMMAND = '/api/devices/pico/commands';

describe('security: API token scopes', { timeout: 60_000 }, () => {
  let hub: Hub & { data: string };
  let admin: string;
  const tokens: Record<'read' | 'control' | 'admin', string> = { read: '', control: '', admin: '' };
  before(async () => {
    hub = await startTestHub();
    admin = hub.apiToken.token;
    await hub.store.addDevice('pico');
    for (const scope of ['read', 'control', 'admin'] as const) tokens[scope] = (await hub.store.apiTokens.create(`${scope}-token`, scope)).token;
  });
  after(() => hub.close());

  it('security: whoami names each token and its scope; the admin file token is api-token with admin', async () => {
    assert.deepEqual((await call(hub, 'GET', '/api/whoami', admin)).body, { name: 'api-token', scope: 'admin' });
    for (const scope of ['read', 'control', 'admin'] as const) {
      assert.deepEqual((await call(hub, 'GET', '/api/whoami', tokens[scope])).body, { name: `${scope}-token`, scope });
    }
  });

  it('security: a read token reads boards, sensors, events, rules and the stream, and is refused commands and tokens with 403 naming the scope needed', async () => {
    for (const route of ['/api/health', '/api/hub', '/api/devices', '/api/devices/pico', '/api/sensors', '/api/events', '/api/rules']) {
      assert.equal((await call(hub, 'GET', route, tokens.read)).status, 200, route);
    }
    assert.equal((await firstStreamMessage(hub, tokens.read) as { type?: string }).type, 'hello', 'the stream lets a read token in');
    const command = await call(hub, 'POST', COMMAND, tokens.read, { action: 'write_pin', pin: 15, value: 1, timeout: 5 });
    assert.equal(command.status, 403);
    assert.equal(command.body.error?.code, 'forbidden');
    assert.match(command.body.error?.message ?? '', /"read-token" has the scope read; POST \/api\/devices\/:id\/commands needs control/);
    for (const [method, route, body] of [
      ['GET', '/api/tokens', undefined],
      ['POST', '/api/tokens', { name: 'sneaky', scope: 'admin' }],
      ['DELETE', '/api/tokens/control-token', undefined],
    ] as const) {
      const refused = await call(hub, method, route, tokens.read, body);
      assert.equal(refused.status, 403, `${method} ${route}`);
      assert.match(refused.body.error?.message ?? '', /needs admin/, `${method} ${route}`);
    }
    assert.deepEqual(
      (await hub.store.apiTokens.list()).map((t) => t.name),
      ['admin-token', 'control-token', 'read-token'],
      'nothing was made or revoked',
    );
  });

  it('security: a control token gets commands through to the hub (an offline board answers device_offline), but not the admin actions or tokens', async () => {
    const write = await call(hub, 'POST', COMMAND, tokens.control, { action: 'write_pin', pin: 15, value: 1, timeout: 5 });
    assert.equal(write.status, 409, JSON.stringify(write.body));
    assert.equal(write.body.error?.code, 'device_offline');
    for (const action of ['reset', 'update', 'sleep']) {
      const refused = await call(hub, 'POST', COMMAND, tokens.control, { action, op: 'status', time_ms: 10 });
      assert.equal(refused.status, 403, action);
      assert.match(refused.body.error?.message ?? '', new RegExp(`the action "${action}" needs admin`));
    }
    assert.equal((await call(hub, 'GET', '/api/tokens', tokens.control)).status, 403);
  });

  it('security: an admin token (stored or the file) sends the admin actions and manages tokens', async () => {
    for (const token of [tokens.admin, admin]) {
      const reset = await call(hub, 'POST', COMMAND, token, { action: 'reset' });
      assert.equal(reset.body.error?.code, 'device_offline', 'past the scope check to the board link');
      assert.equal((await call(hub, 'GET', '/api/tokens', token)).status, 200);
    }
    const made = await call(hub, 'POST', '/api/tokens', tokens.admin, { name: 'tablet', scope: 'read' });
    assert.equal(made.status, 201);
    assert.equal(made.body['name'], 'tablet');
    assert.match(String(made.body['token']), /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await call(hub, 'GET', '/api/whoami', String(made.body['token']))).body['scope'], 'read');
    const listed = (await call(hub, 'GET', '/api/tokens', admin)).body['tokens'] as Array<Record<string, unknown>>;
    const tablet = listed.find((t) => t['name'] === 'tablet') ?? assert.fail('tablet is listed');
    assert.deepEqual(Object.keys(tablet).sort(), ['createdAt', 'name', 'scope'], 'listed without the token');
    assert.equal(tablet['scope'], 'read');
    assert.equal((await call(hub, 'POST', '/api/tokens', admin, { name: 'tablet', scope: 'admin' })).body.error?.code, 'conflict');
    assert.equal((await call(hub, 'POST', '/api/tokens', admin, { name: 'api-token', scope: 'read' })).body.error?.code, 'conflict');
    assert.equal((await call(hub, 'POST', '/api/tokens', admin, { name: 'x', scope: 'root' })).body.error?.code, 'bad_request');
    assert.equal((await call(hub, 'DELETE', '/api/tokens/nobody', admin)).body.error?.code, 'not_found');
  });

  it('security: a token one character off a stored one is unknown (401), not its scope', async () => {
    for (const { what, token } of nearMissTokens(tokens.control)) {
      const res = await call(hub, 'GET', '/api/whoami', token);
      assert.equal(res.status, 401, what);
      assert.equal(res.body.error?.code, 'unauthenticated', what);
    }
  });

  it('security: a revoked token is refused at its next request, revoked through the API or in the store (as tether hub token revoke does)', async () => {
    const viaApi = (await hub.store.apiTokens.create('short-lived', 'control')).token;
    assert.equal((await call(hub, 'GET', '/api/devices', viaApi)).status, 200);
    assert.deepEqual((await call(hub, 'DELETE', '/api/tokens/short-lived', admin)).body, { revoked: 'short-lived' });
    assert.equal((await call(hub, 'GET', '/api/devices', viaApi)).status, 401);
    await assert.rejects(firstStreamMessage(hub, viaApi), /HTTP 401/);

    const viaCli = (await hub.store.apiTokens.create('cli-revoked', 'read')).token;
    assert.equal((await call(hub, 'GET', '/api/devices', viaCli)).status, 200);
    const other = SqliteStore.open(path.join(hub.data, 'tether.db'));
    try {
      assert.equal(await other.apiTokens.revoke('cli-revoked'), true);
    } finally {
      await other.close();
    }
    assert.equal((await call(hub, 'GET', '/api/devices', viaCli)).status, 401);
  });

  it('security: API tokens are hashed at rest: no file of the database holds a token', async () => {
    const made = (await call(hub, 'POST', '/api/tokens', admin, { name: 'at-rest', scope: 'admin' })).body;
    const token = String(made['token']);
    const files = fs.readdirSync(hub.data).filter((f) => f.startsWith('tether.db'));
    assert.ok(files.includes('tether.db'));
    for (const file of files) {
      const bytes = fs.readFileSync(path.join(hub.data, file));
      for (const secret of [token, tokens.read, tokens.control, tokens.admin]) assert.equal(bytes.includes(secret), false, `${file} holds a token`);
    }
    assert.equal((await call(hub, 'GET', '/api/whoami', token)).body['name'], 'at-rest', 'the token works from its hash alone');
  });
});

describe('security: API tokens in the store', { timeout: 30_000 }, () => {
  it('security: names are 1–64 of letters, digits, _ . and -, unique, and never api-token; each refusal says what to do', async () => {
    const store = SqliteStore.open(':memory:');
    try {
      const tokens = store.apiTokens;
      for (const name of ['', 'bad name', 'tablet!', 'x'.repeat(65), '../etc']) {
        await assert.rejects(tokens.create(name, 'read'), { code: 'bad_request', message: `token name ${JSON.stringify(name)}: use 1–64 letters, digits, _ . or -, e.g. kitchen-tablet` }, JSON.stringify(name));
      }
      assert.equal((await tokens.create('x'.repeat(64), 'read')).view.name.length, 64);
      await assert.rejects(tokens.create('api-token', 'read'), { code: 'conflict', message: 'api-token is the name of the admin token in <data>/api-token; pick another name' });
      await tokens.create('tablet', 'read', 5);
      await assert.rejects(tokens.create('tablet', 'admin'), { code: 'conflict', message: 'a token named "tablet" exists; revoke it first, or pick another name' });
      assert.deepEqual(await tokens.list(), [
        { name: 'tablet', scope: 'read', createdAt: 5 },
        { name: 'x'.repeat(64), scope: 'read', createdAt: (await tokens.list())[1]?.createdAt },
      ]);
      assert.equal(await tokens.revoke('tablet'), true);
      assert.equal(await tokens.revoke('tablet'), false);
    } finally {
      await store.close();
    }
  });
});

/** A facade the rate-limit tests never reach: refused requests stop at the token check. */
const facade = { devices: () => [] } as unknown as HubFacade;

describe('security: wrong API tokens are rate-limited per address', { timeout: 60_000 }, () => {
  const TOKEN = 'rate-limit-admin-token-0123456789abcdef';

  it('security: the 11th wrong token in a minute is 429 rate_limited with Retry-After, even with the right token, until the lockout ends; the next lockout is twice as long', async () => {
    let now = 1_000_000;
    const store = SqliteStore.open(':memory:');
    const app = await buildApi({ facade, apiToken: TOKEN, tokens: store.apiTokens, now: () => now });
    try {
      const get = (token: string) => app.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Bearer ${token}` } });
      const wrong = nearMissTokens(TOKEN)[0]?.token ?? assert.fail('a near miss');
      for (let i = 1; i <= 10; i++) {
        const res = await get(wrong);
        assert.equal(res.statusCode, 401, `wrong token ${i}`);
        now += 1000;
      }
      const locked = await get(TOKEN);
      assert.equal(locked.statusCode, 429, 'locked out, even with the right token');
      assert.equal(locked.json<{ error: { code: string } }>().error.code, 'rate_limited');
      assert.equal(locked.headers['retry-after'], '59', '60 s from the 10th wrong token, 1 s ago');
      assert.match(locked.json<{ error: { message: string } }>().error.message, /try again in 59 s/);
      now += 58_000;
      assert.equal((await get(TOKEN)).statusCode, 429, 'still locked 1 s before the end');
      now += 1000;
      assert.equal((await get(TOKEN)).statusCode, 200, 'back once the lockout ended');
      for (let i = 0; i < 10; i++) await get(wrong);
      assert.equal((await get(TOKEN)).headers['retry-after'], '120', 'the second lockout is twice as long');
      // A missing or malformed token is no guess: it is refused, never counted.
      now += 120_000;
      for (const headers of [{}, { authorization: `Basic ${wrong}` }, { authorization: 'Bearer' }]) {
        for (let i = 0; i < 10; i++) assert.equal((await app.inject({ method: 'GET', url: '/api/devices', headers })).statusCode, 401);
      }
      assert.equal((await get(TOKEN)).statusCode, 200);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('security: nine wrong tokens in any minute never lock an address out; ten at once do, and only that address', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter();
    for (let i = 0; i < 30; i++) {
      assert.equal(limiter.failed('192.0.2.1', now), 0, `wrong token ${i}`);
      now += 6_700; // 9 in each 60 s
    }
    assert.equal(limiter.lockedFor('192.0.2.1', now), 0);
    for (let i = 0; i < 10; i++) limiter.failed('192.0.2.2', 0);
    assert.equal(limiter.lockedFor('192.0.2.2', 0), 60_000, 'ten at once lock the address out');
    assert.equal(limiter.lockedFor('192.0.2.1', 0), 0, 'and only that address');
  });

  it('security: the log gets one line per address per period with the counts, not one per request', async () => {
    const warnings: string[] = [];
    const store = SqliteStore.open(':memory:');
    const app = await buildApi({ facade, apiToken: TOKEN, tokens: store.apiTokens, authReportMs: 1000, logger: { warn: (m) => void warnings.push(m), error: () => undefined } });
    try {
      for (let i = 0; i < 25; i++) await app.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Bearer wrong-${i}` } });
      const counted = () => {
        let wrong = 0;
        let refused = 0;
        for (const line of warnings) {
          const m = /^API: (\d+) wrong API tokens? from 127\.0\.0\.1 in the last 1 s(?:, (\d+) requests? refused while locked out)?(?:; locked out for \d+ s more \(lockout 1\))?$/.exec(line);
          assert.ok(m, line);
          wrong += Number(m[1]);
          refused += Number(m[2] ?? 0);
        }
        return { wrong, refused };
      };
      const deadline = Date.now() + 10_000;
      while (counted().wrong + counted().refused < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1200)); // one more period: nothing new to say
      assert.deepEqual(counted(), { wrong: 10, refused: 15 }, warnings.join('\n'));
      assert.ok(warnings.length <= 2, `at most one line a period, not one per request:\n${warnings.join('\n')}`);
      assert.ok(!warnings.some((w) => w.includes('wrong-')), 'no token in the log');
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('security: a wrong token exactly a window after the first does not count it: nine in the window, no lockout', () => {
    const limiter = new AuthFailureLimiter();
    for (let t = 0; t < 9; t++) limiter.failed('192.0.2.3', t);
    assert.equal(limiter.failed('192.0.2.3', 60_000), 0, 'the wrong token at 0 is a full window old');
    assert.equal(limiter.failed('192.0.2.3', 60_000), 60_000, 'ten within the window: the lockout');
  });

  it('security: the report is one line per address with its counts, then nothing until more come; a lockout shows its time left', () => {
    const limiter = new AuthFailureLimiter();
    limiter.failed('192.0.2.1', 0);
    for (let i = 0; i < 10; i++) limiter.failed('192.0.2.2', 1000);
    for (let i = 0; i < 3; i++) limiter.refused('192.0.2.2');
    limiter.refused('192.0.2.9'); // never failed: nothing to count
    assert.deepEqual(limiter.report(4000, 60_000), [
      'API: 1 wrong API token from 192.0.2.1 in the last minute',
      'API: 10 wrong API tokens from 192.0.2.2 in the last minute, 3 requests refused while locked out; locked out for 57 s more (lockout 1)',
    ]);
    assert.deepEqual(limiter.report(5000, 60_000), [], 'nothing new');
    limiter.refused('192.0.2.2');
    assert.deepEqual(limiter.report(6000, 120_000), ['API: 0 wrong API tokens from 192.0.2.2 in the last 2 minutes, 1 request refused while locked out; locked out for 55 s more (lockout 1)']);
    limiter.failed('192.0.2.1', 7000);
    assert.deepEqual(limiter.report(7000, 1000), ['API: 1 wrong API token from 192.0.2.1 in the last 1 s']);
    limiter.failed('192.0.2.1', 8000);
    assert.deepEqual(limiter.report(8000, 100), ['API: 1 wrong API token from 192.0.2.1 in the last 100 ms']);
  });

  it('security: an address quiet for an hour is forgotten, and starts again from the first lockout; a locked one is kept', () => {
    const limits = { maxFailures: 10, windowMs: 60_000, lockoutMs: 60_000, maxLockoutMs: 3_600_000, forgetAfterMs: 3_600_000, maxAddresses: 100, maxChecking: 32 };
    const limiter = new AuthFailureLimiter(limits);
    for (let i = 0; i < 10; i++) limiter.failed('a', 0);
    for (let i = 0; i < 10; i++) limiter.failed('a', 60_000);
    assert.equal(limiter.lockedFor('a', 60_000), 120_000, 'the second lockout is twice the first');
    limiter.report(60_000, 60_000);
    limiter.report(3_660_000, 60_000);
    assert.equal(limiter.size, 1, 'an hour after its last wrong token, but not longer: kept');
    let last = 0;
    for (let i = 0; i < 10; i++) last = limiter.failed('a', 3_660_001);
    assert.equal(last, 60_000, 'more than an hour quiet: the first lockout again');
    const other = new AuthFailureLimiter(limits);
    other.failed('b', 0);
    other.report(0, 60_000);
    other.report(3_600_001, 60_000);
    assert.equal(other.size, 0, 'forgotten');
    const longLocked = new AuthFailureLimiter({ ...limits, lockoutMs: 7_200_000, maxLockoutMs: 7_200_000 });
    for (let i = 0; i < 10; i++) longLocked.failed('c', 0);
    longLocked.report(0, 60_000);
    longLocked.report(3_600_001, 60_000);
    assert.equal(longLocked.size, 1, 'still locked out: kept');
    assert.equal(longLocked.lockedFor('c', 3_600_001), 3_599_999);
  });

  it('security: the limiter forgets the address that failed longest ago once it holds its maximum', () => {
    const limiter = new AuthFailureLimiter({ maxFailures: 10, windowMs: 60_000, lockoutMs: 60_000, maxLockoutMs: 3_600_000, forgetAfterMs: 3_600_000, maxAddresses: 3, maxChecking: 32 });
    for (const address of ['a', 'b', 'c', 'd']) limiter.failed(address, 0);
    assert.equal(limiter.size, 3);
  });
});
