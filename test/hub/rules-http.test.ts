// The `http` rule action against a real HTTP server on loopback: the exact requests, the
// throttle, edge-triggered firing, retries, and the coded failures in the events log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { HubConfigError, parseHubConfig } from '../../src/hub/config.js';
import { RuleEngine } from '../../src/hub/rules.js';
import type { CommandSender } from '../../src/hub/types.js';
import { eventually } from '../support/test-hub.js';
import { closedPort, startHttpEndpoint, type HttpEndpoint } from './http-endpoint.js';

const WALL0 = 1_700_000_000_000;
const noBoard: CommandSender = { command: () => Promise.reject(new Error('no board in these tests')) };
const logger = { debug() {}, info() {}, warn() {}, error() {} };
type Told = { rule: string; device: string; detail: JsonObject };

function setup(rules: object[]) {
  const config = parseHubConfig({ rules });
  const clock = new ManualClock();
  const fired: Told[] = [];
  const failed: Told[] = [];
  const wall = () => WALL0 + clock.now();
  const engine = new RuleEngine(config, {
    sender: noBoard,
    clock,
    logger,
    wallClock: wall,
    onFired: (rule, device, detail) => fired.push({ rule, device, detail }),
    onFailed: (rule, device, detail) => failed.push({ rule, device, detail }),
  });
  const reading = (values: Record<string, number>, { sensor = 'air', ageMs = 0 } = {}) => engine.handle({ type: 'reading', device: 'shed', sensor, ts: wall() - ageMs, values, units: {} });
  const edge = (pin: number, value: number) => engine.handle({ type: 'event', device: 'shed', event: { id: 1, device: 'shed', ts: wall(), type: 'edge', data: { sub: 1, pin, value } } });
  /** Waits for the backoff timer of a failed attempt, then lets it run out. */
  const nextRetry = async (ms: number) => {
    await eventually(() => (clock.pendingTimers === 1 ? true : undefined), 'a retry is waiting');
    await clock.advance(ms - 1);
    assert.equal(clock.pendingTimers, 1, `the retry waits the whole ${ms} ms`);
    await clock.advance(1);
  };
  after(() => engine.close());
  return { engine, clock, fired, failed, reading, edge, nextRetry, view: () => engine.views()[0] };
}

const air = { device: 'shed', sensor: 'air', quantity: 'temperature' };
const domoticz = (base: string, idx = 12) => `${base}/json.htm?type=command&param=udevice&idx=${idx}&nvalue=0&svalue={value}`;
const seen = (server: HttpEndpoint, n: number) => eventually(() => (server.requests.length >= n ? server.requests.slice() : undefined), `${n} request(s) reached the server`);

void describe('http rule action', { timeout: 60_000 }, () => {
  let server: HttpEndpoint;
  before(async () => {
    server = await startHttpEndpoint();
  });
  after(() => server.close());
  const fresh = () => {
    server.requests.length = 0;
    server.answers = [];
  };

  test('a reading condition without a comparison sends every reading, in the Domoticz URL shape', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'shed-temp', when: air, then: { http: { url: domoticz(server.base) } } }]);
    t.reading({ temperature: 21.5 });
    await seen(server, 1);
    t.reading({ temperature: -3 });
    const requests = await seen(server, 2);
    assert.deepEqual(
      requests.map((r) => [r.method, r.url]),
      [
        ['GET', '/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue=21.5'],
        ['GET', '/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue=-3'],
      ],
    );
    assert.deepEqual(t.fired[0], {
      rule: 'shed-temp',
      device: 'shed',
      detail: { http: { method: 'GET', url: `${server.base}/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue=21.5` }, trigger: { device: 'shed', sensor: 'air', temperature: 21.5 } },
    });
    await eventually(() => (t.view()?.fired === 2 ? true : undefined), 'both counted');
    assert.equal(t.view()?.lastError, null);
    assert.deepEqual(t.failed, []);
  });

  test('values are URL-encoded in the url and JSON-escaped in the body; {ts} is ISO time; {values.NAME} is another quantity', { timeout: 10_000 }, async () => {
    fresh();
    const body = '{"sensor": "{sensor}", "t": {value}, "h": {values.humidity}, "at": "{ts}", "rule": "{rule}"}';
    const t = setup([
      {
        name: 'post',
        when: { ...air, sensor: 'say "hi" & bye' },
        then: { http: { url: `${server.base}/in/{device}?s={sensor}&svalue={value};{values.humidity};0`, method: 'POST', body, headers: { 'X-Sensor': '{quantity}' } } },
      },
    ]);
    t.reading({ temperature: 21.5, humidity: 48 }, { sensor: 'say "hi" & bye' });
    const [r] = await seen(server, 1);
    assert.equal(r?.method, 'POST');
    assert.equal(r?.url, '/in/shed?s=say%20%22hi%22%20%26%20bye&svalue=21.5;48;0');
    assert.deepEqual(JSON.parse(r?.body ?? ''), { sensor: 'say "hi" & bye', t: 21.5, h: 48, at: '2023-11-14T22:13:20.000Z', rule: 'post' });
    assert.equal(r?.headers['content-type'], 'application/json');
    assert.equal(r?.headers['x-sensor'], 'temperature');
  });

  test('a reading without the quantity a {values.NAME} needs sends nothing and says why', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'th', when: air, then: { http: { url: `${server.base}/t?svalue={value};{values.humidity};0` } } }]);
    t.reading({ temperature: 20 });
    await eventually(() => t.view()?.lastError ?? undefined, 'the rule shows an error');
    assert.match(t.view()?.lastError ?? '', /^http_template: this reading of air has no value for \{values\.humidity\}; nothing was sent/);
    t.reading({ temperature: 21, humidity: 50 });
    const [r] = await seen(server, 1);
    assert.equal(r?.url, '/t?svalue=21;50;0', 'only the complete reading was sent');
  });

  test('min_interval_s drops what comes sooner than that after the last request', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'slow', when: air, then: { http: { url: domoticz(server.base), min_interval_s: 60 } } }]);
    t.reading({ temperature: 1 });
    await seen(server, 1);
    await t.clock.advance(59_999);
    t.reading({ temperature: 2 });
    await t.clock.advance(1);
    t.reading({ temperature: 3 });
    const requests = await seen(server, 2);
    assert.deepEqual(
      requests.map((r) => new URL(r.url, server.base).searchParams.get('svalue')),
      ['1', '3'],
    );
    assert.equal(t.view()?.fired, 2);
  });

  test('with a comparison it fires when the condition becomes true, not on each reading while it holds', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'hot', when: { ...air, above: 30 }, then: { http: { url: `${server.base}/hot?t={value}` } } }]);
    for (const temperature of [20, 31, 32, 35, 25, 33, 34]) {
      t.reading({ temperature });
      // Each reading waits for the one before to be answered, so none replaces another.
      await eventually(() => (server.requests.length === t.fired.length ? true : undefined), 'nothing under way');
    }
    await seen(server, 2);
    t.reading({ temperature: 10 });
    t.reading({ temperature: 40 });
    const requests = await seen(server, 3);
    assert.deepEqual(
      requests.map((r) => r.url),
      ['/hot?t=31', '/hot?t=33', '/hot?t=40'],
    );
  });

  test('an input rule fires on each matching edge', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'door', when: { device: 'shed', pin: 14, edge: 'falling' }, then: { http: { url: `${server.base}/json.htm?type=command&param=switchlight&idx=7&switchcmd=On&pin={pin}&v={value}` } } }]);
    t.edge(14, 1);
    t.edge(13, 0);
    t.edge(14, 0);
    const [r] = await seen(server, 1);
    assert.equal(r?.url, '/json.htm?type=command&param=switchlight&idx=7&switchcmd=On&pin=14&v=0');
    assert.deepEqual(t.fired[0]?.detail.trigger, { device: 'shed', pin: 14, value: 0 });
    t.edge(14, 0);
    await seen(server, 2);
  });

  test('one request at a time: what comes meanwhile waits, and only the latest', { timeout: 10_000 }, async () => {
    fresh();
    server.answers = ['hang'];
    const t = setup([{ name: 'busy', when: air, then: { http: { url: `${server.base}/b?t={value}` } } }]);
    t.reading({ temperature: 1 });
    await seen(server, 1);
    t.reading({ temperature: 2 });
    t.reading({ temperature: 3 });
    assert.equal(server.requests.length, 1);
    server.releaseOne();
    const requests = await seen(server, 2);
    assert.deepEqual(
      requests.map((r) => r.url),
      ['/b?t=1', '/b?t=3'],
    );
  });

  test('a 500 is tried again after 1 s, and the next 200 is a success', { timeout: 10_000 }, async () => {
    fresh();
    server.answers = [500];
    const t = setup([{ name: 'flaky', when: air, then: { http: { url: domoticz(server.base) } } }]);
    t.reading({ temperature: 7 });
    await seen(server, 1);
    await t.nextRetry(1000);
    const requests = await seen(server, 2);
    assert.equal(requests[1]?.url, requests[0]?.url);
    await eventually(() => (t.clock.pendingTimers === 0 && t.view()?.lastError === null ? true : undefined), 'settled');
    assert.deepEqual(t.failed, []);
    assert.equal(t.view()?.fired, 1, 'a retry is not another firing');
  });

  test('a 500 on every try fails after the retries with http_status and the server\'s status', { timeout: 10_000 }, async () => {
    fresh();
    server.answers = [500, 500, 500];
    const t = setup([{ name: 'down', when: air, then: { http: { url: domoticz(server.base) } } }]);
    t.reading({ temperature: 7 });
    await seen(server, 1);
    await t.nextRetry(1000);
    await seen(server, 2);
    await t.nextRetry(2000);
    await eventually(() => t.failed[0], 'rule_failed');
    assert.equal(server.requests.length, 3);
    const host = `127.0.0.1:${server.port}`;
    assert.deepEqual(t.failed[0], {
      rule: 'down',
      device: 'shed',
      detail: { code: 'http_status', status: 500, attempts: 3, message: `500 Internal Server Error from ${host} after 3 attempts; the server failed: see its log`, url: `${server.base}/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue=7` },
    });
    assert.equal(t.view()?.lastError, `http_status: 500 Internal Server Error from ${host} after 3 attempts; the server failed: see its log`);
  });

  test('a 404 is not tried again', { timeout: 10_000 }, async () => {
    fresh();
    server.answers = [404];
    const t = setup([{ name: 'wrong', when: air, then: { http: { url: domoticz(server.base) } } }]);
    t.reading({ temperature: 7 });
    const failure = await eventually(() => t.failed[0], 'rule_failed');
    assert.equal(failure.detail.code, 'http_status');
    assert.equal(failure.detail.status, 404);
    assert.equal(failure.detail.attempts, 1);
    assert.match(String(failure.detail.message), /^404 Not Found from 127\.0\.0\.1:\d+ after 1 attempt; the server refused the request/);
    assert.equal(t.clock.pendingTimers, 0, 'no retry is waiting');
    assert.equal(server.requests.length, 1);
  });

  test('a server that never answers gives http_timeout after the retries', { timeout: 20_000 }, async () => {
    fresh();
    server.answers = ['hang', 'hang', 'hang'];
    const t = setup([{ name: 'silent', when: air, then: { http: { url: domoticz(server.base), timeout_ms: 200 } } }]);
    t.reading({ temperature: 7 });
    await t.nextRetry(1000);
    await t.nextRetry(2000);
    const failure = await eventually(() => t.failed[0], 'rule_failed');
    assert.equal(server.requests.length, 3);
    assert.deepEqual({ ...failure.detail, message: undefined }, { code: 'http_timeout', attempts: 3, message: undefined, url: `${server.base}/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue=7` });
    assert.equal(failure.detail.message, `no answer from 127.0.0.1:${server.port} within 200 ms, after 3 attempts; check that the server is up, or raise timeout_ms`);
    assert.match(t.view()?.lastError ?? '', /^http_timeout: no answer from/);
  });

  test('nothing listening gives http_unreachable', { timeout: 10_000 }, async () => {
    const port = await closedPort();
    const t = setup([{ name: 'nobody', when: air, then: { http: { url: `http://127.0.0.1:${port}/x?v={value}`, retries: 1 } } }]);
    t.reading({ temperature: 7 });
    await t.nextRetry(1000);
    const failure = await eventually(() => t.failed[0], 'rule_failed');
    assert.equal(failure.detail.code, 'http_unreachable');
    assert.equal(failure.detail.attempts, 2);
    assert.equal(failure.detail.message, `cannot reach 127.0.0.1:${port} (ECONNREFUSED), after 2 attempts; check the url's host and port and that the server is running`);
  });

  test('user:password in the url is sent as basic authentication', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'basic', when: air, then: { http: { url: `http://admin:p%40ss@127.0.0.1:${server.port}/b?v={value}` } } }]);
    t.reading({ temperature: 7 });
    const [r] = await seen(server, 1);
    assert.equal(r?.url, '/b?v=7');
    assert.equal(r?.headers.authorization, `Basic ${Buffer.from('admin:p@ss').toString('base64')}`);
  });

  test('credentials never reach the events log: not the Authorization header, the URL\'s password or password-like query values', { timeout: 10_000 }, async () => {
    fresh();
    server.answers = [403];
    const url = `http://admin:hunter2@127.0.0.1:${server.port}/json.htm?username=YWRtaW4=&password=c2VjcmV0&svalue={value}`;
    const t = setup([{ name: 'auth', when: air, then: { http: { url, headers: { Authorization: 'Basic c2VjcmV0c2VjcmV0' } } } }]);
    t.reading({ temperature: 7 });
    await eventually(() => t.failed[0], 'rule_failed');
    const [r] = server.requests;
    assert.equal(r?.headers.authorization, 'Basic c2VjcmV0c2VjcmV0', 'the header was sent');
    const logged = JSON.stringify([t.fired, t.failed, t.engine.views()]);
    for (const secret of ['hunter2', 'c2VjcmV0', 'YWRtaW4']) assert.ok(!logged.includes(secret), `${secret} is not in ${logged}`);
    assert.equal(r?.url, '/json.htm?username=YWRtaW4=&password=c2VjcmV0&svalue=7');
    assert.equal(t.fired[0]?.detail.http && (t.fired[0].detail.http as JsonObject).url, `http://127.0.0.1:${server.port}/json.htm?username=***&password=***&svalue=7`);
  });

  test('a reading older than a minute (a backlog after an outage) is not sent', { timeout: 10_000 }, async () => {
    fresh();
    const t = setup([{ name: 'late', when: air, then: { http: { url: `${server.base}/l?t={value}` } } }]);
    t.reading({ temperature: 1 }, { ageMs: 60_001 });
    t.reading({ temperature: 2 }, { ageMs: 59_000 });
    const [r] = await seen(server, 1);
    assert.equal(r?.url, '/l?t=2');
    assert.equal(t.view()?.fired, 1);
  });

  test('close aborts a request under way and reports nothing', { timeout: 10_000 }, async () => {
    fresh();
    server.answers = ['hang'];
    const t = setup([{ name: 'closing', when: air, then: { http: { url: `${server.base}/c` } } }]);
    t.reading({ temperature: 1 });
    await seen(server, 1);
    t.engine.close();
    t.reading({ temperature: 2 });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(t.failed, []);
    assert.equal(t.view()?.lastError, null);
    assert.equal(server.requests.length, 1);
  });
});

void describe('http rule action: config checks', { timeout: 30_000 }, () => {
  const problems = (rule: object): string[] => {
    try {
      parseHubConfig({ rules: [rule] });
    } catch (err) {
      if (err instanceof HubConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  const url = 'http://127.0.0.1:8080/json.htm?type=command&param=udevice&idx=1&nvalue=0&svalue={value}';

  test('defaults are filled in', { timeout: 10_000 }, () => {
    const rule = parseHubConfig({ rules: [{ name: 'r', when: air, then: { http: { url } } }] }).rules[0];
    assert.deepEqual(rule?.then, { http: { url, method: 'GET', headers: {}, timeout_ms: 5000, retries: 2, min_interval_s: 0 } });
    assert.equal(parseHubConfig({ rules: [{ name: 'r', when: air, then: { http: { url } } }] }).rules[0]?.when.device, 'shed');
  });

  test('each problem is reported with its path', { timeout: 10_000 }, () => {
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url: 'ftp://nas/x?v={value}' } } }), [
      'rules[0].then.http.url: expected an http:// or https:// URL, such as http://192.168.1.5:8080/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue={value}',
    ]);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url: 'not a url' } } }).length, 1);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url: `${url}&t={temp}` } } }), [
      'rules[0].then.http.url: unknown placeholder {temp}; use {device}, {ts}, {rule}, {sensor}, {quantity}, {value}, {pin}, {values.NAME}',
    ]);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url, method: 'POST', body: '{"x": "{celsius}"}' } } }), [
      'rules[0].then.http.body: unknown placeholder {celsius}; use {device}, {ts}, {rule}, {sensor}, {quantity}, {value}, {pin}, {values.NAME}',
    ]);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url }, device: 'cab', pin: 3, toggle: true } }), [
      'rules[0].then: an http action takes only "http" (got device, pin, toggle too); a pin action is a rule of its own',
    ]);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url, lease_s: 30 } } }), ['rules[0].then.http: Unrecognized key: "lease_s"']);
    assert.deepEqual(problems({ name: 'r', when: air, then: { device: 'cab', pin: 3, value: 1, lease_s: 30 } }), [
      'rules[0].when: give one of above, below or equals (only an http action may act on every reading)',
    ]);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url, body: 'x' } } }), ['rules[0].then.http.body: a GET request has no body; give method: POST or PUT']);
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url, method: 'DELETE', timeout_ms: 50, retries: 9 } } }), [
      'rules[0].then.http.method: expected GET, POST or PUT',
      'rules[0].then.http.timeout_ms: expected 100–60000 ms',
      'rules[0].then.http.retries: expected 0–5 retries',
    ]);
  });

  test('a placeholder must be one the trigger has', { timeout: 10_000 }, () => {
    assert.deepEqual(problems({ name: 'r', when: air, then: { http: { url: `${url}&p={pin}` } } }), ['rules[0].then.http.url: {pin} is not known for a reading (it has no pin)']);
    const button = { device: 'shed', pin: 14, edge: 'falling' };
    assert.deepEqual(problems({ name: 'r', when: button, then: { http: { url: 'http://h/x?s={sensor}', headers: { 'X-Q': '{values.humidity}' } } } }), [
      'rules[0].then.http.url: {sensor} is not known for an edge (it has no sensor or quantity)',
      'rules[0].then.http.headers.X-Q: {values.humidity} needs a reading condition: an edge has no other values',
    ]);
  });

  test('an http rule drives no pin: it never conflicts with a rule or binding on a pin', { timeout: 10_000 }, () => {
    const config = parseHubConfig({
      rules: [
        { name: 'notify', when: { device: 'shed', pin: 14, edge: 'both' }, then: { http: { url: 'http://h/x?v={value}' } } },
        { name: 'light', when: { device: 'shed', pin: 14, edge: 'falling' }, then: { device: 'shed', pin: 15, toggle: true, lease_s: 60 } },
        { name: 'temp', when: { device: 'shed', sensor: 'air', quantity: 'temperature', above: 30 }, then: { http: { url: 'https://h/hot' } } },
      ],
      bindings: [{ name: 'mirror', from: { device: 'shed', pin: 14 }, to: { device: 'cab', pin: 14, lease_s: 3 } }],
    });
    assert.equal(config.rules.length, 3);
  });
});
