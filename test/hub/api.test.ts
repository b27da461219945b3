// The hub's HTTP API against a fake hub: auth on every route, the error envelope, commands,
// query parsing, the OpenAPI document, and the WebSocket stream over a real socket.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import WebSocket from 'ws';
import type { JsonObject } from '../../src/protocol/codec.js';
import type { HubFacade, SensorSummary } from '../../src/hub/api/facade.js';
import type { AuthLimits } from '../../src/hub/api/auth-limiter.js';
import { buildApi } from '../../src/hub/api/server.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { HUB_ERROR_CATALOGUE, HubError } from '../../src/hub/errors.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';
import type { DeviceSensorSummary, DeviceView, EventsQuery, HubInfo, HubUpdate, ReadingBucket, ReadingsQuery, RolloutControl, RolloutView, RuleBook, RuleView, StorageStatus, StoredEvent } from '../../src/hub/types.js';
import { nearMissTokens } from '../support/near-miss-token.js';

const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuv';
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const VERSION = '9.9.9-test';

function deviceView(id: string, online: boolean): DeviceView {
  return { id, name: id, online, firmware: 'tether 0.1.0', capabilities: ['gpio'], bootId: online ? 'b1' : null, firstSeen: 1, lastSeen: 2, address: null, rssi: online ? -58 : null, linkedSince: online ? 1 : null, bootedAt: online ? 1 : null };
}

function sensorsOf(id: string): SensorSummary[] {
  return id === 'pico-1' ? [{ sensor: 'air', quantity: 'temperature', unit: '°C', lastTs: NOW - 1000, lastValue: 21.5 }] : [];
}

class FakeHub implements HubFacade {
  readonly list = [deviceView('pico-1', true), deviceView('esp-2', false)];
  readonly readingsQueries: ReadingsQuery[] = [];
  readonly eventsQueries: EventsQuery[] = [];
  readonly commands: Array<{ device: string; request: JsonObject; timeoutMs: number | undefined }> = [];
  readonly listeners = new Set<(u: HubUpdate) => void>();
  /** What command() does; by default the board echoes the request with ok. */
  answer: (request: JsonObject) => Promise<JsonObject> = (request) => Promise.resolve({ ...request, ok: true });

  devices(): DeviceView[] {
    return this.list;
  }
  device(id: string): DeviceView | undefined {
    return this.list.find((d) => d.id === id);
  }
  state(id: string): JsonObject | null {
    return id === 'pico-1' ? { pins: { '15': { mode: 'output', value: 0 } }, leases: {}, boot_id: 'b1', uptime_s: 12 } : null;
  }
  sensors(id: string): Promise<SensorSummary[]> {
    return Promise.resolve(sensorsOf(id));
  }
  latestSensors(): Promise<DeviceSensorSummary[]> {
    return Promise.resolve(this.list.flatMap((d) => sensorsOf(d.id).map((s) => ({ device: d.id, ...s }))));
  }
  readings(q: ReadingsQuery): Promise<ReadingBucket[]> {
    this.readingsQueries.push(q);
    return Promise.resolve([{ sensor: 'air', quantity: 'temperature', ts: q.from, min: 20, max: 22, avg: 21, count: 3 }]);
  }
  events(q: EventsQuery): Promise<StoredEvent[]> {
    this.eventsQueries.push(q);
    return Promise.resolve([{ id: 7, device: q.device ?? 'pico-1', ts: NOW, type: 'lease_expired', data: { pin: 15 } }]);
  }
  rules(): RuleView[] {
    return [{ name: 'fan', kind: 'rule', description: 'fan on above 25 °C', lastFired: null, fired: 0, lastError: null, source: 'api', enabled: true, definition: { name: 'fan' } }];
  }
  /** Takes every change: the rules' own checks are test/hub/rules-api.test.ts's, against a real hub. */
  ruleBook(): RuleBook {
    const [view] = this.rules();
    if (view === undefined) throw new Error('the fake lists a rule');
    return {
      list: () => this.rules(),
      create: () => Promise.resolve(view),
      update: () => Promise.resolve(view),
      setEnabled: () => Promise.resolve(view),
      remove: () => Promise.resolve(),
      dryRun: () => Promise.resolve({ rule: 'fan', from: NOW - 3_600_000, to: NOW, readings: 0, edges: 0, fired: [], writes: [], truncated: false }),
    };
  }
  storage(): Promise<StorageStatus> {
    return Promise.resolve({ state: 'ok', since: null, error: null, bytes: 4096, maxBytes: null });
  }
  hub(): HubInfo {
    return { id: 'a1b2c3d4e5f6', version: VERSION, mqtt: { state: 'down', url: 'mqtt://127.0.0.1:1883', since: NOW - 60_000, error: 'connect ECONNREFUSED 127.0.0.1:1883', retryAt: NOW + 5000 } };
  }
  command(device: string, request: JsonObject, options?: { timeoutMs?: number }): Promise<JsonObject> {
    this.commands.push({ device, request, timeoutMs: options?.timeoutMs });
    if (this.device(device) === undefined) return Promise.reject(new HubError('not_found', `no board ${device}`));
    return this.answer(request);
  }
  rollouts(): RolloutControl {
    const rollout: RolloutView = { id: 1, version: '0.1.1', waveSize: 1, state: 'running', createdBy: 'api-token', createdAt: NOW, endedAt: null, reason: null, boards: [] };
    return {
      releases: () => [{ version: '0.1.1', addedAt: NOW, files: 12, totalBytes: 48_000, digest: 'ab'.repeat(32) }],
      list: () => Promise.resolve([rollout]),
      get: (id) => Promise.resolve(id === 1 ? rollout : undefined),
      start: () => Promise.resolve(rollout),
      cancel: () => Promise.resolve({ ...rollout, state: 'cancelled' }),
    };
  }
  onUpdate(listener: (u: HubUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(update: HubUpdate): void {
    for (const listener of [...this.listeners]) listener(update);
  }
}

async function startApi(options: { streamPingMs?: number; authLimits?: Partial<AuthLimits> } = {}): Promise<{ app: FastifyInstance; hub: FakeHub }> {
  const hub = new FakeHub();
  const store = SqliteStore.open(':memory:');
  const app = await buildApi({ facade: hub, apiToken: TOKEN, tokens: store.apiTokens, version: VERSION, now: () => NOW, ...options });
  app.addHook('onClose', () => store.close());
  return { app, hub };
}

const AUTH = { authorization: `Bearer ${TOKEN}` };

interface ErrorReply {
  error: { code: string; message: string };
}

/** Asserts the API's error envelope, its code and status, and that nothing internal leaked. */
function assertError(res: { statusCode: number; body: string; json(): unknown }, status: number, code: string, message?: RegExp): ErrorReply {
  const body = res.json() as ErrorReply;
  assert.equal(res.statusCode, status, res.body);
  assert.deepEqual(Object.keys(body), ['error'], res.body);
  assert.equal(body.error.code, code, res.body);
  assert.equal(typeof body.error.message, 'string');
  assert.doesNotMatch(res.body, /\bat .*\.(js|ts):\d+/, 'a stack trace leaked');
  if (message) assert.match(body.error.message, message);
  return body;
}

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }>; schemas: Record<string, JsonObject> };
}

const EXPECTED_ROUTES = [
  'GET /api/devices',
  'GET /api/devices/{id}',
  'GET /api/devices/{id}/state',
  'POST /api/devices/{id}/commands',
  'GET /api/devices/{id}/readings',
  'GET /api/devices/{id}/events',
  'GET /api/events',
  'GET /api/sensors',
  'GET /api/rules',
  'POST /api/rules',
  'PUT /api/rules/{name}',
  'DELETE /api/rules/{name}',
  'POST /api/rules/{name}/enable',
  'POST /api/rules/{name}/disable',
  'GET /api/rules/{name}/dry-run',
  'POST /api/rules/dry-run',
  'GET /api/health',
  'GET /api/hub',
  'GET /api/whoami',
  'GET /api/tokens',
  'POST /api/tokens',
  'DELETE /api/tokens/{name}',
  'GET /api/releases',
  'GET /api/rollouts',
  'POST /api/rollouts',
  'GET /api/rollouts/{id}',
  'POST /api/rollouts/{id}/cancel',
  'GET /api/stream',
  'GET /api/openapi.json',
];

function operations(doc: OpenApiDoc): Array<{ method: string; path: string; open: boolean }> {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, open: Array.isArray(op.security) && op.security.length === 0 })),
  );
}

/** A concrete URL for a documented path, naming a registered board and a token made by the test. */
const concrete = (path: string) => path.replace('{id}', path.startsWith('/api/rollouts/') ? '1' : 'pico-1').replace('{name}', 'doomed');

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

let tokenNumber = 0;

/** A body each POST and PUT route accepts. */
function examplePayload(method: string, path: string): { payload?: JsonObject } {
  if (method !== 'POST' && method !== 'PUT') return {};
  if (path === '/api/tokens') return { payload: { name: `token-${++tokenNumber}`, scope: 'read' } };
  if (path.startsWith('/api/rules')) return path.endsWith('/enable') || path.endsWith('/disable') ? {} : { payload: { name: 'fan' } };
  if (path === '/api/rollouts') return { payload: { version: '0.1.1', boards: ['pico-1'] } };
  if (path === '/api/rollouts/{id}/cancel') return {};
  return { payload: { action: 'ping' } };
}

void describe('hub API: OpenAPI document and authentication', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  let hub: FakeHub;
  let doc: OpenApiDoc;
  before(async () => {
    // Every route is tried with three wrong tokens here, more than an address may send before it is locked out.
    ({ app, hub } = await startApi({ authLimits: { maxFailures: 1000 } }));
    const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    assert.equal(res.statusCode, 200, 'openapi.json needs no token');
    doc = res.json();
  });
  after(() => app.close());

  void it('is OpenAPI 3.1 with the bearer scheme and lists exactly the served routes', { timeout: 30_000 }, () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.components.securitySchemes.bearer?.scheme, 'bearer');
    const listed = operations(doc).map((o) => `${o.method} ${o.path}`);
    assert.deepEqual([...listed].sort(), [...EXPECTED_ROUTES].sort());
    for (const { method, path } of operations(doc)) {
      const url = path.replace('{id}', 'x');
      assert.ok(app.hasRoute({ method, url: path.replace(/{(\w+)}/g, ':$1') }), `${method} ${url} is documented but not served`);
    }
  });

  void it("lists every error code in the error schema and documents each route's parameters", { timeout: 30_000 }, () => {
    const detail = doc.components.schemas.ErrorDetail as { properties: { code: { enum: string[] } } };
    for (const code of [...Object.keys(HUB_ERROR_CATALOGUE), ...ERROR_CODES]) {
      assert.ok(detail.properties.code.enum.includes(code), code);
    }
    const readings = doc.paths['/api/devices/{id}/readings']?.get;
    assert.deepEqual(readings?.parameters?.map((p) => `${p.in}:${p.name}`), ['path:id', 'query:sensor', 'query:quantity', 'query:from', 'query:to', 'query:bucket_ms', 'query:limit']);
    assert.ok(doc.paths['/api/devices/{id}/commands']?.post?.responses['409'], 'commands documents 409');
    assert.ok(doc.paths['/api/devices/{id}/commands']?.post?.responses['504'], 'commands documents 504');
  });

  void it('security: each operation names the scope it needs: read for reading and the stream, control for commands, admin for tokens', { timeout: 30_000 }, () => {
    const scopes = Object.fromEntries(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, (op as { 'x-scope'?: string })['x-scope'] ?? 'none'])),
    );
    const expected: Record<string, string> = Object.fromEntries(EXPECTED_ROUTES.map((r) => [r, r.startsWith('GET ') ? 'read' : 'admin']));
    expected['GET /api/openapi.json'] = 'none';
    expected['POST /api/devices/{id}/commands'] = 'control';
    expected['GET /api/tokens'] = 'admin';
    expected['POST /api/rules/dry-run'] = 'read';
    assert.deepEqual(scopes, expected);
    assert.ok(doc.paths['/api/devices/{id}/commands']?.post?.responses['403'], 'commands documents forbidden');
    assert.ok(doc.paths['/api/devices']?.get?.responses['429'], 'every guarded route documents rate_limited');
    assert.equal(doc.paths['/api/devices']?.get?.responses['403'], undefined, 'a read route cannot be forbidden: every token reads');
  });

  void it('refuses a route registered without an ApiRoute, so the document cannot miss one', { timeout: 30_000 }, async () => {
    const { app: fresh } = await startApi();
    try {
      assert.throws(() => fresh.get('/api/undocumented', () => 'x'), /OpenAPI document/);
    } finally {
      await fresh.close();
    }
  });

  void it('only openapi.json is open; every other route needs the token (no token, a wrong one of another or the same length, wrong scheme)', { timeout: 30_000 }, async () => {
    const guarded = operations(doc).filter((o) => !o.open);
    assert.equal(guarded.length, EXPECTED_ROUTES.length - 1);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token' },
      // As long as the token and sharing all but one of its characters: only a full comparison refuses these.
      ...nearMissTokens(TOKEN).map((miss) => ({ authorization: `Bearer ${miss.token}` })),
      { authorization: `Basic ${TOKEN}` },
      { authorization: 'Bearer' },
    ];
    const letIn: string[] = [];
    for (const { method, path } of guarded) {
      for (const headers of attempts) {
        const res = await app.inject({ method: method as Method, url: concrete(path), headers, ...examplePayload(method, path) });
        if (res.statusCode !== 401) {
          letIn.push(`${method} ${path} ${JSON.stringify(headers)}: ${res.statusCode}`);
          continue;
        }
        assertError(res, 401, 'unauthenticated', /api-token/);
        assert.match(String(res.headers['www-authenticate']), /^Bearer\b/, `${method} ${path} with ${JSON.stringify(headers)}`);
      }
    }
    assert.deepEqual(letIn, [], 'the hub let these in');
    assert.equal(hub.commands.length, 0, 'no command reached the hub without a token');
  });

  void it('with the admin token every route answers (the stream asks for a WebSocket)', { timeout: 30_000 }, async () => {
    const made = await app.inject({ method: 'POST', url: '/api/tokens', headers: AUTH, payload: { name: 'doomed', scope: 'read' } });
    assert.equal(made.statusCode, 201, made.body);
    for (const { method, path } of operations(doc)) {
      const res = await app.inject({ method: method as Method, url: concrete(path), headers: AUTH, ...examplePayload(method, path) });
      if (path === '/api/stream') assertError(res, 400, 'bad_request', /WebSocket/);
      else assert.equal(res.statusCode, method === 'POST' && (path === '/api/tokens' || path === '/api/rules' || path === '/api/rollouts') ? 201 : 200, `${method} ${path}: ${res.body}`);
    }
  });

  void it('REST routes do not take the token from the query string', { timeout: 30_000 }, async () => {
    assertError(await app.inject({ method: 'GET', url: `/api/devices?token=${TOKEN}` }), 401, 'unauthenticated');
  });

  void it('an unknown route is not_found in the error envelope, with or without a token', { timeout: 30_000 }, async () => {
    assertError(await app.inject({ method: 'GET', url: '/api/nothing-here', headers: AUTH }), 404, 'not_found', /GET \/api\/nothing-here/);
    assertError(await app.inject({ method: 'DELETE', url: '/api/devices' }), 404, 'not_found');
  });
});

void describe('hub API: devices, health, rules', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  before(async () => ({ app } = await startApi()));
  after(() => app.close());
  const get = (url: string) => app.inject({ method: 'GET', url, headers: AUTH });

  void it('GET /api/devices lists every board with id and online', { timeout: 30_000 }, async () => {
    const res = await get('/api/devices');
    assert.equal(res.statusCode, 200);
    const { devices } = res.json<{ devices: DeviceView[] }>();
    assert.deepEqual(
      devices.map((d) => [d.id, d.online]),
      [
        ['pico-1', true],
        ['esp-2', false],
      ],
    );
  });

  void it('GET /api/devices shows each board’s signal strength, null for one that never reported it', { timeout: 30_000 }, async () => {
    const { devices } = (await get('/api/devices')).json<{ devices: DeviceView[] }>();
    assert.deepEqual(
      devices.map((d) => d.rssi),
      [-58, null],
    );
  });

  void it('GET /api/sensors answers every board’s latest sensor values with their device', { timeout: 30_000 }, async () => {
    const res = await get('/api/sensors');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { sensors: [{ device: 'pico-1', sensor: 'air', quantity: 'temperature', unit: '°C', lastTs: NOW - 1000, lastValue: 21.5 }] });
  });

  void it('GET /api/devices/:id answers the device, its state and its sensors; state is null before a report', { timeout: 30_000 }, async () => {
    const one = (await get('/api/devices/pico-1')).json<{ device: DeviceView; state: JsonObject | null; sensors: SensorSummary[] }>();
    assert.equal(one.device.id, 'pico-1');
    assert.equal(one.state?.boot_id, 'b1');
    assert.equal(one.sensors[0]?.lastValue, 21.5);
    const other = (await get('/api/devices/esp-2')).json<{ state: unknown; sensors: unknown[] }>();
    assert.equal(other.state, null);
    assert.deepEqual(other.sensors, []);
    assert.deepEqual((await get('/api/devices/esp-2/state')).json(), { state: null });
    assert.equal((await get('/api/devices/pico-1/state')).json<{ state: JsonObject }>().state.uptime_s, 12);
  });

  void it('an unknown device is 404 not_found on every per-device route', { timeout: 30_000 }, async () => {
    for (const suffix of ['', '/state', '/readings', '/events']) {
      assertError(await get(`/api/devices/nope${suffix}`), 404, 'not_found', /"nope"/);
    }
    assertError(await app.inject({ method: 'POST', url: '/api/devices/nope/commands', headers: AUTH, payload: { action: 'ping' } }), 404, 'not_found');
  });

  void it("GET /api/hub answers the hub's id, version and MQTT bridge state as the facade reports them", { timeout: 30_000 }, async () => {
    const res = await get('/api/hub');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      id: 'a1b2c3d4e5f6',
      version: VERSION,
      mqtt: { state: 'down', url: 'mqtt://127.0.0.1:1883', since: NOW - 60_000, error: 'connect ECONNREFUSED 127.0.0.1:1883', retryAt: NOW + 5000 },
    });
  });

  void it('GET /api/health counts boards and online boards; GET /api/rules lists the rules', { timeout: 30_000 }, async () => {
    assert.deepEqual((await get('/api/health')).json(), { ok: true, version: VERSION, devices: 2, online: 1, storage: { state: 'ok', since: null, error: null, bytes: 4096, maxBytes: null } });
    assert.deepEqual(
      (await get('/api/rules')).json<{ rules: RuleView[] }>().rules.map((r) => r.name),
      ['fan'],
    );
  });
});

void describe('hub API: POST /api/devices/:id/commands', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  let hub: FakeHub;
  before(async () => ({ app, hub } = await startApi()));
  after(() => app.close());
  const post = (payload: InjectOptions['payload'], extra: Partial<InjectOptions> = {}) =>
    app.inject({ method: 'POST', url: '/api/devices/pico-1/commands', headers: AUTH, payload, ...extra });

  void it("relays the request and answers the board's reply with 200, waiting 10 s unless told", { timeout: 30_000 }, async () => {
    hub.commands.length = 0;
    const res = await post({ action: 'write_pin', pin: 15, value: 1, timeout: 5 });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { action: 'write_pin', pin: 15, value: 1, timeout: 5, ok: true });
    assert.deepEqual(hub.commands, [{ device: 'pico-1', request: { action: 'write_pin', pin: 15, value: 1, timeout: 5 }, timeoutMs: 10_000 }]);
    await app.inject({ method: 'POST', url: '/api/devices/pico-1/commands?timeout_ms=2500', headers: AUTH, payload: { action: 'ping' } });
    assert.equal(hub.commands[1]?.timeoutMs, 2500);
  });

  void it('refuses timeout_ms out of range, naming it', { timeout: 30_000 }, async () => {
    for (const bad of ['0', '60001', 'soon']) {
      const res = await app.inject({ method: 'POST', url: `/api/devices/pico-1/commands?timeout_ms=${bad}`, headers: AUTH, payload: { action: 'ping' } });
      assertError(res, 400, 'bad_request', /timeout_ms/);
    }
  });

  const badBodies: Array<[string, Partial<InjectOptions>, RegExp]> = [
    ['not JSON', { payload: '{"action": ping}', headers: { ...AUTH, 'content-type': 'application/json' } }, /body: not valid JSON/],
    ['empty JSON', { payload: '', headers: { ...AUTH, 'content-type': 'application/json' } }, /body: empty/],
    ['an array', { payload: '[{"action":"ping"}]', headers: { ...AUTH, 'content-type': 'application/json' } }, /got an array/],
    ['a string', { payload: '"ping"', headers: { ...AUTH, 'content-type': 'application/json' } }, /got a string/],
    ['null', { payload: 'null', headers: { ...AUTH, 'content-type': 'application/json' } }, /got null/],
    ['no action', { payload: { pin: 15 } }, /action: required/],
    ['a numeric action', { payload: { action: 5 } }, /action: expected a string, got number/],
    ['a null action', { payload: { action: null } }, /action: expected a string, got null/],
    ['an id', { payload: { action: 'ping', id: 1 } }, /id: leave it out/],
    ['too large', { payload: { action: 'ping', pad: 'x'.repeat(70 * 1024) } }, /body: larger than 65536 bytes/],
    ['form-encoded', { payload: 'action=ping', headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' } }, /Content-Type: .*application\/json/],
    ['a prototype key', { payload: '{"action":"ping","__proto__":{"x":1}}', headers: { ...AUTH, 'content-type': 'application/json' } }, /__proto__/],
    ['text', { payload: 'ping', headers: { ...AUTH, 'content-type': 'text/plain' } }, /Content-Type/],
  ];
  for (const [name, options, message] of badBodies) {
    void it(`a body that is ${name} is 400 bad_request and reaches no board`, { timeout: 30_000 }, async () => {
      hub.commands.length = 0;
      assertError(await post(options.payload, options), 400, 'bad_request', message);
      assert.equal(hub.commands.length, 0);
    });
  }

  void it("a board's error reply is relayed with its code's HTTP status", { timeout: 30_000 }, async () => {
    const cases: Array<[string, number]> = [
      ['pin_conflict', 409],
      ['lease_too_long', 400],
      ['sensor_error', 502],
      ['unauthorized', 401],
      ['no_such_code', 500],
    ];
    try {
      for (const [code, status] of cases) {
        hub.answer = (request) => Promise.resolve({ ...request, ok: false, error: { code, message: `board says ${code}` } });
        const res = await post({ action: 'write_pin', pin: 15, value: 1, timeout: 5 });
        assert.equal(res.statusCode, status, code);
        assert.deepEqual(res.json(), { action: 'write_pin', pin: 15, value: 1, timeout: 5, ok: false, error: { code, message: `board says ${code}` } });
      }
    } finally {
      hub.answer = (request) => Promise.resolve({ ...request, ok: true });
    }
  });

  void it("the hub's own refusals keep their catalogue status; anything else is internal without details", { timeout: 30_000 }, async () => {
    const cases: Array<[Error, number, string]> = [
      [new HubError('device_offline', 'pico-1 is offline'), 409, 'device_offline'],
      [new HubError('timeout', 'no reply in 10000 ms'), 504, 'timeout'],
      [new HubError('board_restarted', 'pico-1 restarted before the command reached it'), 409, 'board_restarted'],
      [new HubError('shutting_down', 'stopping'), 503, 'shutting_down'],
      [new Error('secret detail of a bug'), 500, 'internal'],
      [Object.assign(new Error('secret with a status'), { statusCode: 404 }), 500, 'internal'],
    ];
    try {
      for (const [err, status, code] of cases) {
        hub.answer = () => Promise.reject(err);
        const body = assertError(await post({ action: 'ping' }), status, code);
        if (code === 'internal') assert.doesNotMatch(body.error.message, /secret/);
        else assert.equal(body.error.message, err.message);
      }
    } finally {
      hub.answer = (request) => Promise.resolve({ ...request, ok: true });
    }
  });
});

void describe('hub API: readings and events queries', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  let hub: FakeHub;
  before(async () => ({ app, hub } = await startApi()));
  after(() => app.close());
  const get = (url: string) => app.inject({ method: 'GET', url, headers: AUTH });
  const lastReadings = () => hub.readingsQueries.at(-1);

  void it('defaults to the last hour, raw, at most 10000 points', { timeout: 30_000 }, async () => {
    const res = await get('/api/devices/pico-1/readings');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ readings: ReadingBucket[] }>().readings.length, 1);
    assert.deepEqual(lastReadings(), { device: 'pico-1', sensor: undefined, quantity: undefined, from: NOW - 3_600_000, to: NOW, bucketMs: 0, limit: 10_000 });
  });

  void it('takes from/to as milliseconds or ISO-8601, and the filters as given', { timeout: 30_000 }, async () => {
    await get('/api/devices/pico-1/readings?sensor=air&quantity=temperature&from=1714561200000&to=2024-05-01T12:00:00Z&bucket_ms=60000&limit=50');
    assert.deepEqual(lastReadings(), { device: 'pico-1', sensor: 'air', quantity: 'temperature', from: 1714561200000, to: 1714564800000, bucketMs: 60_000, limit: 50 });
    await get('/api/devices/pico-1/readings?from=2024-05-01T13:00:00%2B02:00&to=2024-05-02');
    assert.deepEqual([lastReadings()?.from, lastReadings()?.to], [Date.UTC(2024, 4, 1, 11), Date.UTC(2024, 4, 2)]);
    await get('/api/devices/pico-1/readings?to=1714560000000');
    assert.deepEqual([lastReadings()?.from, lastReadings()?.to], [1714560000000 - 3_600_000, 1714560000000], 'from defaults to an hour before to');
  });

  const badQueries: Array<[string, RegExp]> = [
    ['from=yesterday', /^from: expected milliseconds/],
    ['from=2024-05-01T10:00', /^from: .*no time zone/],
    ['to=2024-02-30', /^to: /],
    ['from=1.5', /^from: /],
    ['from=2024-05-01T12:00:00Z&to=2024-05-01T11:00:00Z', /^from: must be before to/],
    ['from=1714564800000', /^from: must be before to/],
    ['bucket_ms=-1', /bucket_ms/],
    ['bucket_ms=fast', /bucket_ms/],
    ['limit=0', /limit/],
    ['limit=10001', /limit/],
    ['bucket=60000', /bucket: unknown/],
  ];
  for (const [query, message] of badQueries) {
    void it(`readings?${query} is 400 bad_request naming the field`, { timeout: 30_000 }, async () => {
      const before = hub.readingsQueries.length;
      assertError(await get(`/api/devices/pico-1/readings?${query}`), 400, 'bad_request', message);
      assert.equal(hub.readingsQueries.length, before, 'the store was not asked');
    });
  }

  void it("a device's events and all events pass their filters on", { timeout: 30_000 }, async () => {
    const res = await get('/api/devices/esp-2/events?type=lease_expired&after_id=41&limit=5');
    assert.equal(res.json<{ events: StoredEvent[] }>().events[0]?.id, 7);
    assert.deepEqual(hub.eventsQueries.at(-1), { device: 'esp-2', type: 'lease_expired', afterId: 41, limit: 5, from: undefined, to: undefined });
    await get('/api/events');
    assert.deepEqual(hub.eventsQueries.at(-1), { device: undefined, type: undefined, afterId: undefined, limit: 100, from: undefined, to: undefined });
    await get('/api/events?device=pico-1&from=2024-05-01&to=1714564800000');
    assert.deepEqual(hub.eventsQueries.at(-1), { device: 'pico-1', type: undefined, afterId: undefined, limit: 100, from: Date.UTC(2024, 4, 1), to: 1714564800000 });
  });

  void it('bad event queries are 400 bad_request naming the field', { timeout: 30_000 }, async () => {
    assertError(await get('/api/events?after_id=-1'), 400, 'bad_request', /after_id/);
    assertError(await get('/api/events?limit=1001'), 400, 'bad_request', /limit/);
    assertError(await get('/api/devices/pico-1/events?device=esp-2'), 400, 'bad_request', /device: unknown/);
    assertError(await get('/api/events?to=noon'), 400, 'bad_request', /^to: /);
  });
});

/** A client's view of the stream: every message, and a way to wait for the next ones. */
class StreamClient {
  readonly messages: JsonObject[] = [];
  private waiters: Array<() => void> = [];
  closed: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString('utf8')) as JsonObject);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async next(count: number): Promise<JsonObject[]> {
    while (this.messages.length < count && this.closed === undefined) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.messages.slice(0, count);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
  }
}

interface StreamOptions {
  headers?: Record<string, string>;
  protocols?: string[];
  autoPong?: boolean;
}

/** Opens a stream; rejects with the HTTP status and the body when the hub refuses the upgrade. */
function openStream(url: string, options: StreamOptions = {}): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {}, autoPong: options.autoPong ?? true });
    const client = new StreamClient(ws);
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.once('end', () => {
        reject(new Error(`HTTP ${res.statusCode} ${body}`));
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
}

/** How the hub refused this upgrade, or undefined (the stream closed again) if it let it through. */
async function refusal(url: string, options: StreamOptions): Promise<string | undefined> {
  let client: StreamClient;
  try {
    client = await openStream(url, options);
  } catch (err) {
    return String(err);
  }
  await client.close();
  return undefined;
}

/** The three ways a WebSocket client can present `token`: the header, ?token= and the bearer subprotocol. */
function streamAuthWays(base: string, token: string): Array<[string, StreamOptions]> {
  return [
    [base, { headers: { authorization: `Bearer ${token}` } }],
    [`${base}?token=${encodeURIComponent(token)}`, {}],
    [base, { protocols: [`bearer.${token}`] }],
  ];
}

/** Waits for a condition; gives up (failing the test, not hanging the run) after about 10 s. */
async function until(condition: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i === 2000) assert.fail(`${what} never held`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

void describe('hub API: GET /api/stream', { timeout: 20_000 }, () => {
  let app: FastifyInstance;
  let hub: FakeHub;
  let base: string;
  before(async () => {
    ({ app, hub } = await startApi({ streamPingMs: 40 }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/stream`;
  });
  after(() => app.close());

  void it('refuses an upgrade without a token or with a wrong one, of any length and whichever way it comes (HTTP 401 unauthenticated), and subscribes nobody', { timeout: 15_000 }, async () => {
    assert.match((await refusal(base, {})) ?? 'let in', /^Error: HTTP 401 .*"code":"unauthenticated"/);
    // A short wrong token, and ones as long as the real one that share all but one character with it.
    const letIn: string[] = [];
    for (const wrong of ['wrong', ...nearMissTokens(TOKEN).map((miss) => miss.token)]) {
      for (const [url, options] of streamAuthWays(base, wrong)) {
        const refused = await refusal(url, options);
        if (refused === undefined) letIn.push(`${url} ${JSON.stringify(options)}`);
        else assert.match(refused, /^Error: HTTP 401 .*"code":"unauthenticated".*the API token is wrong/, `${url} ${JSON.stringify(options)}`);
      }
    }
    assert.deepEqual(letIn, [], 'the hub let these in');
    assert.equal(hub.listeners.size, 0);
  });

  void it('accepts the token as a header, a query parameter or a subprotocol, and says hello first', { timeout: 15_000 }, async () => {
    const ways: Array<[string, Parameters<typeof openStream>[1], string]> = [
      [base, { headers: AUTH }, ''],
      [`${base}?token=${TOKEN}`, {}, ''],
      [base, { protocols: [`bearer.${TOKEN}`] }, `bearer.${TOKEN}`],
      [base, { protocols: ['tether', `bearer.${TOKEN}`] }, 'tether'],
    ];
    for (const [url, options, protocol] of ways) {
      const client = await openStream(url, options);
      assert.deepEqual(await client.next(1), [{ type: 'hello', version: VERSION }]);
      assert.equal(client.ws.protocol, protocol);
      await client.close();
    }
  });

  void it('pushes every update after the hello, and unsubscribes when the client goes', { timeout: 15_000 }, async () => {
    const client = await openStream(base, { headers: AUTH });
    await client.next(1);
    // Earlier tests' clients may still be closing on the hub's side.
    await until(() => hub.listeners.size === 1, 'only this client listens');
    const updates: HubUpdate[] = [
      { type: 'device', device: deviceView('pico-1', false) },
      { type: 'state', device: 'pico-1', state: { uptime_s: 3 } },
      { type: 'reading', device: 'esp-2', sensor: 'air', ts: NOW, values: { temperature: 20.5 }, units: { temperature: '°C' } },
      { type: 'event', device: 'pico-1', event: { id: 9, device: 'pico-1', ts: NOW, type: 'online', data: {} } },
    ];
    for (const u of updates) hub.emit(u);
    const received = await client.next(1 + updates.length);
    assert.deepEqual(received.slice(1), updates);
    await client.close();
    await until(() => hub.listeners.size === 0, 'the listener was removed');
  });

  void it('?device= passes only the updates of that board', { timeout: 15_000 }, async () => {
    const client = await openStream(`${base}?device=esp-2`, { headers: AUTH });
    await client.next(1);
    hub.emit({ type: 'state', device: 'pico-1', state: { n: 1 } });
    hub.emit({ type: 'device', device: deviceView('pico-1', true) });
    hub.emit({ type: 'device', device: deviceView('esp-2', true) });
    hub.emit({ type: 'state', device: 'esp-2', state: { n: 2 } });
    const [, first, second] = await client.next(3);
    assert.deepEqual(first, { type: 'device', device: deviceView('esp-2', true) });
    assert.deepEqual(second, { type: 'state', device: 'esp-2', state: { n: 2 } });
    await client.close();
  });

  void it('pings the client, and keeps one that answers', { timeout: 15_000 }, async () => {
    const client = await openStream(base, { headers: AUTH });
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await until(() => pings >= 3, 'three pings arrived');
    assert.equal(client.closed, undefined, 'a client that answers pings stays connected');
    await client.close();
  });

  void it('drops a client that does not answer a ping, and unsubscribes it', { timeout: 15_000 }, async () => {
    const client = await openStream(base, { headers: AUTH, autoPong: false });
    await client.next(1);
    await until(() => client.closed !== undefined, 'the silent client was dropped');
    assert.equal(client.closed?.code, 1006, 'terminated, not closed politely');
    await until(() => hub.listeners.size === 0, 'the listener was removed');
  });

  void it('a plain GET of the stream (no upgrade) is 400 bad_request', { timeout: 15_000 }, async () => {
    assertError(await app.inject({ method: 'GET', url: '/api/stream', headers: AUTH }), 400, 'bad_request', /WebSocket/);
  });
});
