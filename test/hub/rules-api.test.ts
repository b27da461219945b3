// Rules made through the API on a real hub in this process: created, edited, enabled, disabled
// and deleted while it runs; checked like the config file with paths inside the rule; the config
// file's read-only; every change an event; kept across a restart; dry runs over stored readings
// and edges; and a rule applied live to a simulated board, and stopped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../../src/protocol/codec.js';
import type { DryRun, RuleView, StoredEvent } from '../../src/hub/types.js';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { startHttpEndpoint } from './http-endpoint.js';
import { eventually, startTestHub, type TestHub } from '../support/test-hub.js';

interface Reply {
  status: number;
  body: JsonObject;
}

async function call(hub: TestHub, token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${hub.http.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as JsonObject };
}

const FILE_RULE = { name: 'file-fan', when: { device: 'greenhouse', sensor: 'air', quantity: 'temperature', above: 28 }, then: { device: 'shed', pin: 18, value: 1, lease_s: 30 } };
const HUB_CONFIG = { telemetry: { interval_ms: 5000 }, rules: [FILE_RULE] };

const lamp = (name = 'lamp', lease = 20): JsonObject => ({ name, when: { device: 'greenhouse', sensor: 'air', quantity: 'humidity', above: 70 }, then: { device: 'shed', pin: 12, value: 1, lease_s: lease } });

function rulesOf(reply: Reply): RuleView[] {
  return reply.body.rules as RuleView[];
}

function problemsOf(reply: Reply): Array<{ path: string; message: string }> {
  const error = reply.body.error as { code: string; problems?: Array<{ path: string; message: string }> };
  assert.equal(error.code, 'rule_invalid', JSON.stringify(reply.body));
  assert.equal(reply.status, 400);
  return error.problems ?? assert.fail('rule_invalid lists its problems');
}

async function changes(hub: TestHub): Promise<Array<{ device: string; data: JsonObject }>> {
  return (await hub.facade.events({ type: 'rule_changed', limit: 100 }))
    .reverse()
    .map((e: StoredEvent) => ({ device: e.device, data: e.data }));
}

describe('rules through the API', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let admin: string;
  let ops: string;
  let control: string;
  let reader: string;
  before(async () => {
    hub = await startTestHub({ config: HUB_CONFIG });
    admin = hub.apiToken.token;
    ops = (await hub.store.apiTokens.create('ops', 'admin')).token;
    control = (await hub.store.apiTokens.create('panel', 'control')).token;
    reader = (await hub.store.apiTokens.create('wall', 'read')).token;
  });
  after(() => hub.close());

  test('CRUD: created, listed with its source, edited, renamed, disabled, enabled and deleted; each change an event with who and what', async () => {
    const created = await call(hub, ops, 'POST', '/api/rules', lamp());
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual((created.body.rule as RuleView).source, 'api');

    let list = rulesOf(await call(hub, reader, 'GET', '/api/rules'));
    assert.deepEqual(
      list.map((r) => [r.name, r.source, r.enabled]),
      [
        ['file-fan', 'config', true],
        ['lamp', 'api', true],
      ],
    );
    assert.deepEqual(list[1]?.definition, lamp(), 'the definition as accepted');
    assert.deepEqual(
      hub.facade.ruleBook().list().map((r) => r.name),
      ['file-fan', 'lamp'],
    );

    const edited = await call(hub, ops, 'PUT', '/api/rules/lamp', lamp('lamp', 25));
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(((edited.body.rule as RuleView).definition.then as JsonObject).lease_s, 25);
    assert.equal((await call(hub, ops, 'PUT', '/api/rules/lamp', lamp('porch-lamp', 25))).status, 200, 'renamed');
    assert.equal((await call(hub, admin, 'POST', '/api/rules/porch-lamp/disable')).status, 200);
    list = rulesOf(await call(hub, reader, 'GET', '/api/rules'));
    assert.deepEqual(
      list.map((r) => [r.name, r.enabled]),
      [
        ['file-fan', true],
        ['porch-lamp', false],
      ],
    );
    assert.equal((await call(hub, admin, 'POST', '/api/rules/porch-lamp/enable')).status, 200);
    const deleted = await call(hub, admin, 'DELETE', '/api/rules/porch-lamp');
    assert.deepEqual(deleted, { status: 200, body: { deleted: 'porch-lamp' } });
    assert.deepEqual(
      rulesOf(await call(hub, reader, 'GET', '/api/rules')).map((r) => r.name),
      ['file-fan'],
    );
    assert.equal((await call(hub, admin, 'DELETE', '/api/rules/porch-lamp')).status, 404);

    assert.deepEqual(await changes(hub), [
      { device: 'shed', data: { rule: 'lamp', change: 'created', by: 'ops' } },
      { device: 'shed', data: { rule: 'lamp', change: 'updated', by: 'ops' } },
      { device: 'shed', data: { rule: 'porch-lamp', change: 'updated', by: 'ops', was: 'lamp' } },
      { device: 'shed', data: { rule: 'porch-lamp', change: 'disabled', by: 'api-token' } },
      { device: 'shed', data: { rule: 'porch-lamp', change: 'enabled', by: 'api-token' } },
      { device: 'shed', data: { rule: 'porch-lamp', change: 'deleted', by: 'api-token' } },
    ]);
  });

  test('security: changing rules needs admin; control and read tokens are refused with 403 and change nothing; read may dry-run', async () => {
    for (const token of [control, reader]) {
      for (const [method, path, body] of [
        ['POST', '/api/rules', lamp('sneaky')],
        ['PUT', '/api/rules/file-fan', FILE_RULE],
        ['DELETE', '/api/rules/file-fan', undefined],
        ['POST', '/api/rules/file-fan/disable', undefined],
      ] as const) {
        const reply = await call(hub, token, method, path, body);
        assert.equal(reply.status, 403, `${method} ${path}: ${JSON.stringify(reply.body)}`);
        assert.match((reply.body.error as { message: string }).message, /admin/);
      }
    }
    assert.deepEqual(
      hub.facade.rules().map((r) => r.name),
      ['file-fan'],
    );
    assert.equal((await call(hub, reader, 'POST', '/api/rules/dry-run', lamp('try'))).status, 200);
    assert.equal((await call(hub, reader, 'GET', '/api/rules/file-fan/dry-run')).status, 200);
  });

  test('security: only an admin token reads an http rule\'s credentials; read and control tokens see them as ***', async () => {
    const hook = {
      name: 'secret-hook',
      when: { device: 'greenhouse', sensor: 'air', quantity: 'humidity', above: 90 },
      then: { http: { method: 'POST', url: 'http://alice:s3cret@127.0.0.1:9/h?token=abc123&v={value}', headers: { Authorization: 'Bearer sk-live-XYZ' }, body: '{"key":"k-999"}' } },
    };
    assert.equal((await call(hub, admin, 'POST', '/api/rules', hook)).status, 201);
    const DEFAULTS = { min_interval_s: 0, retries: 2, timeout_ms: 5000 };
    try {
      for (const token of [reader, control]) {
        const listed = JSON.stringify((await call(hub, token, 'GET', '/api/rules')).body);
        for (const secret of ['s3cret', 'abc123', 'sk-live-XYZ', 'k-999']) assert.ok(!listed.includes(secret), `${secret} hidden: ${listed}`);
        const seen = rulesOf(await call(hub, token, 'GET', '/api/rules')).find((r) => r.name === 'secret-hook');
        assert.deepEqual((seen?.definition.then as { http: unknown }).http, { ...DEFAULTS, method: 'POST', url: 'http://***@127.0.0.1:9/h?token=***&v={value}', headers: { Authorization: '***' }, body: '***' });
      }
      const asAdmin = rulesOf(await call(hub, admin, 'GET', '/api/rules')).find((r) => r.name === 'secret-hook');
      assert.deepEqual((asAdmin?.definition.then as { http: unknown }).http, { ...DEFAULTS, ...hook.then.http }, 'the admin sees what it may edit');
    } finally {
      await call(hub, admin, 'DELETE', '/api/rules/secret-hook');
    }
  });

  test('the config file’s rules are read-only: edit, delete, disable and enable answer 409 rule_read_only', async () => {
    for (const [method, path, body] of [
      ['PUT', '/api/rules/file-fan', { ...FILE_RULE, then: { ...FILE_RULE.then, lease_s: 60 } }],
      ['DELETE', '/api/rules/file-fan', undefined],
      ['POST', '/api/rules/file-fan/disable', undefined],
      ['POST', '/api/rules/file-fan/enable', undefined],
    ] as const) {
      const reply = await call(hub, admin, method, path, body);
      assert.equal(reply.status, 409, `${method} ${path}`);
      assert.equal((reply.body.error as { code: string }).code, 'rule_read_only');
      assert.match((reply.body.error as { message: string }).message, /hub config file/);
    }
    assert.deepEqual(
      hub.facade.rules().map((r) => [r.name, r.enabled, (r.definition.then as JsonObject).lease_s]),
      [['file-fan', true, 30]],
      'unchanged',
    );
  });

  test('a bad rule is rule_invalid with each problem at its path inside the rule: own fields, and the checks across rules', async () => {
    const short = await call(hub, admin, 'POST', '/api/rules', lamp('short', 4));
    assert.deepEqual(problemsOf(short), [{ path: 'then.lease_s', message: '4 s would lapse between readings of greenhouse (every 5000 ms, see telemetry); give at least 10 s' }]);
    assert.equal((short.body.error as { message: string }).message, 'then.lease_s: 4 s would lapse between readings of greenhouse (every 5000 ms, see telemetry); give at least 10 s');
    assert.deepEqual(
      problemsOf(await call(hub, admin, 'POST', '/api/rules', { name: 'x', when: { device: 'greenhouse', pin: 3, edge: 'up' }, then: { device: 'shed', pin: 12, value: 1, duty: 0.5, lease_s: 5 } })).map((p) => p.path),
      ['when.edge', 'then'],
    );
    assert.deepEqual(problemsOf(await call(hub, admin, 'POST', '/api/rules', { ...lamp('file-fan') })), [
      { path: 'name', message: 'the name "file-fan" is used twice (rules and bindings share names)' },
    ]);
    const sameOutput = problemsOf(await call(hub, admin, 'POST', '/api/rules', { ...lamp('fan-2'), then: { device: 'shed', pin: 18, value: 1, lease_s: 30 } }));
    assert.deepEqual(sameOutput, [
      { path: 'then', message: 'pin 18 of shed is already driven by rule "file-fan" of the hub config file; two rules on one output would undo each other\'s leases' },
    ]);
    const http = problemsOf(await call(hub, admin, 'POST', '/api/rules', { name: 'hook', when: lamp().when, then: { http: { url: 'http://127.0.0.1:9/x?pin={pin}' } } }));
    assert.deepEqual(http.map((p) => p.path), ['then.http.url']);
    const notObject = await call(hub, admin, 'POST', '/api/rules', [1, 2]);
    assert.equal((notObject.body.error as { code: string }).code, 'rule_invalid');
    // A disabled rule keeps its output: a second writer is refused even so.
    assert.equal((await call(hub, admin, 'POST', '/api/rules', lamp('held'))).status, 201);
    assert.equal((await call(hub, admin, 'POST', '/api/rules/held/disable')).status, 200);
    assert.deepEqual(problemsOf(await call(hub, admin, 'POST', '/api/rules', lamp('other'))).map((p) => p.path), ['then']);
    const both = (await call(hub, admin, 'POST', '/api/rules', lamp('short', 4))).body.error as { message: string };
    assert.match(both.message, /^then: pin 12 of shed is already driven by rule "held"; .* \(and 1 more problem: see error.problems\)$/);
    assert.equal((await call(hub, admin, 'DELETE', '/api/rules/held')).status, 200);
    assert.deepEqual(
      hub.facade.rules().map((r) => r.name),
      ['file-fan'],
      'nothing bad was stored',
    );
  });

  test('dry run: what a stored rule and a proposed one would have done over the last hour of stored readings and edges', async () => {
    const now = Date.now();
    const at = (minutesAgo: number) => now - minutesAgo * 60_000;
    // [minutes ago, humidity]: the first is older than the hour.
    const humidity = [
      [90, 60],
      [55, 75],
      [50, 80],
      [45, 50],
      [40, 72],
      [30, 71],
    ] as const;
    (await hub.store.commit({
      readings: [
        ...humidity.map(([ago, value]) => ({ device: 'greenhouse', sensor: 'air', quantity: 'humidity', ts: at(ago), value, unit: '%' })),
        // Another quantity of the same sensor, at the same times: one reading each.
        ...humidity.map(([ago]) => ({ device: 'greenhouse', sensor: 'air', quantity: 'temperature', ts: at(ago), value: 20, unit: '°C' })),
      ],
      events: [
        { device: 'porch', ts: at(20), type: 'edge', data: { pin: 22, value: 1 } },
        { device: 'porch', ts: at(19), type: 'edge', data: { pin: 22, value: 0 } },
        { device: 'porch', ts: at(10), type: 'edge', data: { pin: 22, value: 1 } },
        { device: 'porch', ts: at(9), type: 'edge', data: { pin: 5, value: 1 } },
      ],
      linkStates: [],
    }));
    assert.equal((await call(hub, admin, 'POST', '/api/rules', lamp())).status, 201);
    const stored = (await call(hub, reader, 'GET', '/api/rules/lamp/dry-run')).body as unknown as DryRun;
    assert.equal(stored.rule, 'lamp');
    assert.ok(stored.to - stored.from === 3_600_000 && Math.abs(stored.to - now) < 60_000, JSON.stringify(stored));
    assert.equal(stored.readings, 5, 'the 90-minute-old reading is outside the hour');
    assert.deepEqual(
      stored.fired.map((f) => [f.ts, f.device, (f.detail.trigger as JsonObject).humidity]),
      [
        [at(55), 'shed', 75],
        [at(40), 'shed', 72],
      ],
      'fires when the condition starts to hold, not on the readings that still hold',
    );
    // Written when it starts to hold, renewed on each reading that still holds; the safe value is not known, so nothing at 45.
    assert.deepEqual(
      stored.writes.map((w) => [w.ts, w.device, w.request]),
      [at(55), at(50), at(40), at(30)].map((ts) => [ts, 'shed', { action: 'write_pin', pin: 12, value: 1, timeout: 20 }]),
    );
    assert.equal(stored.truncated, false);

    const press = (await call(hub, reader, 'POST', '/api/rules/dry-run', { name: 'porch-light', when: { device: 'porch', pin: 22, edge: 'rising' }, then: { device: 'greenhouse', pin: 25, value: 1, lease_s: 5 } })).body as unknown as DryRun;
    assert.equal(press.edges, 3, 'only pin 22’s edges');
    assert.deepEqual(
      press.fired.map((f) => f.ts),
      [at(20), at(10)],
    );
    assert.deepEqual(press.writes.map((w) => [w.device, w.request.value]), [
      ['greenhouse', 1],
      ['greenhouse', 1],
    ]);
    assert.deepEqual(
      hub.facade.rules().map((r) => r.name),
      ['file-fan', 'lamp'],
      'a dry run stores nothing',
    );

    // An http rule's requests are listed, rendered, and never sent.
    const endpoint = await startHttpEndpoint();
    try {
      const { port } = endpoint;
      const hook = { name: 'hook', when: { device: 'greenhouse', sensor: 'air', quantity: 'humidity' }, then: { http: { url: `http://127.0.0.1:${port}/h?v={value}&t={values.temperature}` } } };
      const sent = (await call(hub, reader, 'POST', '/api/rules/dry-run', hook)).body as unknown as DryRun;
      assert.deepEqual(
        sent.writes.map((w) => [w.ts, w.device, w.request]),
        humidity.slice(1).map(([ago, value]) => [at(ago), 'greenhouse', { http: { method: 'GET', url: `http://127.0.0.1:${port}/h?v=${value}&t=20` } }]),
      );
      assert.equal(endpoint.requests.length, 0, 'nothing reached the endpoint');
    } finally {
      await endpoint.close();
    }

    const bad = await call(hub, reader, 'POST', '/api/rules/dry-run', lamp('x', 4));
    assert.deepEqual(problemsOf(bad).map((p) => p.path), ['then.lease_s']);
    assert.equal((await call(hub, reader, 'GET', '/api/rules/nothing/dry-run')).status, 404);
    assert.equal((await call(hub, admin, 'DELETE', '/api/rules/lamp')).status, 200);
  });
});

describe('rules through the API, live on a simulated board and across restarts', { timeout: 60_000 }, () => {
  const BOARD = {
    name: 'shed',
    pins: [
      { pin: 4, name: 'button', mode: 'input', pull: 'down' },
      { pin: 15, name: 'relay', mode: 'output', value: 0 },
    ],
  };
  const follow = { name: 'button-relay', from: { device: 'shed', pin: 4 }, to: { device: 'shed', pin: 15, lease_s: 1.5 } };
  let hub: TestHub;
  let board: LinkedBoard;
  let token: string;
  before(async () => {
    hub = await startTestHub();
    token = (await hub.store.addDevice('shed')).token;
    board = await startLinkedBoard({ port: hub.link.port, token, id: 'shed', config: BOARD });
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'the board linked');
  });
  after(async () => {
    await board.close();
    await hub.close();
  });

  const relay = () => board.hardware.gpio.level(15);
  const until = (level: number, what: string) => eventually(() => (relay() === level ? true : undefined), what, 10_000);

  test('a binding made through the API acts at once on a hub whose config has no rules; disabled it stops renewing and the relay goes back to safe; enabled again it acts', async () => {
    assert.deepEqual(hub.facade.rules(), []);
    assert.equal((await call(hub, hub.apiToken.token, 'POST', '/api/rules', follow)).status, 201);
    assert.equal(hub.facade.rules()[0]?.description, 'Relay (pin 15) of shed follows button (pin 4) of shed (lease 1.5 s, renewed).', 'pins by the names the board gives them');
    board.hardware.gpio.drive(4, 1);
    await until(1, 'the relay follows the button');
    const fired = await eventually(async () => (await hub.facade.events({ device: 'shed', type: 'rule_fired' }))[0], 'a rule_fired event');
    assert.equal(fired.data.rule, 'button-relay');
    // Held past its lease while the button stays down: the binding renews it.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(relay(), 1, 'renewed past lease_s');

    const expiredBefore = (await hub.facade.events({ device: 'shed', type: 'lease_expired' })).length;
    assert.equal((await call(hub, hub.apiToken.token, 'POST', '/api/rules/button-relay/disable')).status, 200);
    await until(0, 'the relay back at its safe value');
    // The hub wrote the safe value the board had told it, which ends the lease (no lease to expire).
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await hub.facade.events({ device: 'shed', type: 'lease_expired' })).length, expiredBefore, 'the lease was ended by the hub, not left to lapse');

    assert.equal((await call(hub, hub.apiToken.token, 'POST', '/api/rules/button-relay/enable')).status, 200);
    board.hardware.gpio.drive(4, 0);
    board.hardware.gpio.drive(4, 1);
    await until(1, 'enabled again, the binding follows the next edge');
    board.hardware.gpio.drive(4, 0);
    await until(0, 'and the button released');
  });

  test('stored rules survive a restart, enabled or not; one the edited config file now clashes with is listed, not run, with why', async () => {
    const lampRule = { name: 'lamp', when: { device: 'shed', pin: 4, edge: 'rising' }, then: { device: 'porch', pin: 9, value: 1, lease_s: 5 } };
    assert.equal((await call(hub, hub.apiToken.token, 'POST', '/api/rules', lampRule)).status, 201);
    assert.equal((await call(hub, hub.apiToken.token, 'POST', '/api/rules/lamp/disable')).status, 200);
    const before = hub.facade.rules();
    await board.close();
    await hub.close();

    hub = await startTestHub({ data: hub.data });
    // Until the board links again the hub knows no pin names, so the descriptions use numbers.
    const kept = (r: RuleView) => ({ ...r, description: '', lastFired: null, fired: 0, lastError: null });
    assert.deepEqual(hub.facade.rules().map(kept), before.map(kept));
    assert.deepEqual(
      hub.facade.rules().map((r) => [r.name, r.enabled]),
      [
        ['button-relay', true],
        ['lamp', false],
      ],
    );
    board = await startLinkedBoard({ port: hub.link.port, token, id: 'shed', config: BOARD });
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'the board linked again');
    board.hardware.gpio.drive(4, 1);
    await until(1, 'the stored binding runs after the restart');
    board.hardware.gpio.drive(4, 0);
    await until(0, 'and follows the release');
    await board.close();
    await hub.close();

    const clash = { name: 'file-relay', when: { device: 'porch', pin: 2, edge: 'rising' }, then: { device: 'shed', pin: 15, value: 1, lease_s: 5 } };
    hub = await startTestHub({ data: hub.data, config: { rules: [clash] } });
    const listed = hub.facade.rules();
    assert.deepEqual(
      listed.map((r) => [r.name, r.source]),
      [
        ['file-relay', 'config'],
        ['button-relay', 'api'],
        ['lamp', 'api'],
      ],
    );
    assert.match(listed[1]?.lastError ?? '', /^not run: to: pin 15 of shed is already driven by rule "file-relay" of the hub config file/);

    // The file takes a stored rule's name: the stored one is still the API's to change or delete.
    await hub.close();
    const fileLamp = { name: 'lamp', when: { device: 'porch', pin: 3, edge: 'rising' }, then: { device: 'porch', pin: 10, value: 1, lease_s: 5 } };
    hub = await startTestHub({ data: hub.data, config: { rules: [fileLamp] } });
    assert.deepEqual(hub.facade.rules().map((r) => [r.name, r.source]), [['lamp', 'config'], ['button-relay', 'api'], ['lamp', 'api']]);
    assert.equal((await call(hub, hub.apiToken.token, 'POST', '/api/rules/lamp/enable')).status, 400, 'checked, and refused: its name is the file\'s');
    const deleted = await call(hub, hub.apiToken.token, 'DELETE', '/api/rules/lamp');
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(hub.facade.rules().map((r) => [r.name, r.source]), [['lamp', 'config'], ['button-relay', 'api']]);
    board = await startLinkedBoard({ port: hub.link.port, token, id: 'shed', config: BOARD });
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'the board linked again');
  });
});
