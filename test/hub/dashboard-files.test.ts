// The hub serving the built dashboard: the page and its hashed assets, gzip, caching, the
// security headers, and a clear page when the dashboard was never built.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BUILT_DASHBOARD_DIR } from '../../src/hub/api/dashboard.js';
import type { HubFacade } from '../../src/hub/api/facade.js';
import { buildApi } from '../../src/hub/api/server.js';

const TOKEN = 'dashboard-test-token-0123456789abcdef';

/** Nothing stored: these routes serve files only. */
const tokens = { verify: () => Promise.resolve(undefined), create: () => assert.fail('no token is made'), list: () => Promise.resolve([]), revoke: () => Promise.resolve(false) };

/** A facade nobody calls: these routes serve files only. */
const facade = new Proxy({} as HubFacade, {
  get: (_t, name) => () => {
    throw new Error(`the dashboard routes called facade.${String(name)}`);
  },
});

describe('hub: the dashboard files', { timeout: 30_000 }, () => {
  let dir: string;
  let app: FastifyInstance;
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-web-'));
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-ABC.js"></script>');
    fs.writeFileSync(path.join(dir, 'assets', 'app-ABC.js'), script);
    app = await buildApi({ facade, apiToken: TOKEN, tokens, dashboardDir: dir });
  });
  after(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('/ is the page, without a token, revalidated on every load, under a strict content policy', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /app-ABC\.js/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.match(String(res.headers['content-security-policy']), /connect-src 'self'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
  });

  test('assets are gzipped for clients that take it, cached for good, and answered 304 by etag', async () => {
    const plain = await app.inject({ method: 'GET', url: '/assets/app-ABC.js' });
    assert.equal(plain.body, script);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(String(plain.headers['cache-control']), /immutable/);
    const zipped = await app.inject({ method: 'GET', url: '/assets/app-ABC.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(zipped.rawPayload).toString(), script);
    assert.ok(zipped.rawPayload.length < script.length / 10);
    const again = await app.inject({ method: 'GET', url: '/assets/app-ABC.js', headers: { 'if-none-match': String(plain.headers['etag']) } });
    assert.equal(again.statusCode, 304);
    assert.equal((await app.inject({ method: 'GET', url: '/assets/nope.js' })).statusCode, 404);
  });

  test('the API is unchanged beside it, and the OpenAPI document does not list the pages', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/api/devices' })).statusCode, 401);
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    assert.ok(Object.keys(doc.paths).every((p) => p.startsWith('/api/')));
  });

  test('a hub whose dashboard was never built says so, and how to build it', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-web-none-'));
    const bare = await buildApi({ facade, apiToken: TOKEN, tokens, dashboardDir: empty });
    try {
      const res = await bare.inject({ method: 'GET', url: '/' });
      assert.equal(res.statusCode, 503);
      assert.match(res.body, /dashboard is not built/);
      assert.match(res.body, /npm run build/);
    } finally {
      await bare.close();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  test('npm run build put the real dashboard where the hub looks for it', () => {
    const page = fs.readFileSync(path.join(BUILT_DASHBOARD_DIR, 'index.html'), 'utf8');
    const entry = [...page.matchAll(/\/assets\/(app-[A-Z0-9]+\.(?:js|css))/g)].map((m) => m[1] ?? '');
    assert.equal(entry.length, 2, `the entry script and the stylesheet: ${page}`);
    // The entry's chunks are fetched with it (modulepreload); every file the page names is there.
    const named = [...page.matchAll(/"\/assets\/([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(named.some((a) => a.startsWith('chunk-')), `the chunks the entry imports are preloaded: ${page}`);
    for (const asset of named) assert.ok(fs.existsSync(path.join(BUILT_DASHBOARD_DIR, 'assets', asset)), asset);
  });
});
