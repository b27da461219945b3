import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HubConfigError, isInputCondition, loadHubConfig, parseHostPort, parseHubConfig, readingIntervalMs } from '../../src/hub/config.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function problems(raw: unknown): string[] {
  try {
    parseHubConfig(raw);
  } catch (err) {
    assert.ok(err instanceof HubConfigError, String(err));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

const reading = { device: 'tank', sensor: 'tank', quantity: 'level', above: 50 };
const led = { device: 'cab', pin: 10, value: 1, lease_s: 30 };
const button = { device: 'cab', pin: 14, edge: 'falling' };

test('no file at all gives every default, frozen', { timeout: 30_000 }, async () => {
  for (const c of [parseHubConfig(undefined), parseHubConfig(''), parseHubConfig({}), await loadHubConfig()]) {
    assert.equal(c.data, './tether-data');
    assert.deepEqual(c.retention, { days: 30 });
    assert.deepEqual(c.link, { host: '0.0.0.0', port: 7341, keepalive_ms: 1000 });
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 7340 });
    assert.deepEqual(c.telemetry, { interval_ms: 5000, devices: {} });
    assert.deepEqual([c.devices, c.rules, c.bindings], [[], [], []]);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.link) && Object.isFrozen(c.rules));
  }
});

test('the example parses: frost guard and cabin LEDs, the pump toggle, the buzzer binding, the pulled Pi', { timeout: 30_000 }, async () => {
  const c = await loadHubConfig(join(ROOT, 'examples', 'hub.yaml'));
  assert.deepEqual(
    c.rules.map((r) => r.name),
    ['tank-frost-heater', 'tank-frost-led', 'cabin-hot', 'cabin-damp', 'pump-button'],
  );
  const pump = c.rules.find((r) => r.name === 'pump-button');
  assert.ok(pump !== undefined && isInputCondition(pump.when));
  assert.equal(pump.when.edge, 'falling');
  assert.deepEqual(pump.then, { device: 'van-tank', pin: 15, toggle: true, lease_s: 600 });
  assert.deepEqual(c.bindings[0]?.to, { device: 'van-cab', pin: 16, invert: false, lease_s: 6 });
  assert.deepEqual(c.devices[0], { id: 'van-pi', address: '127.0.0.1:12345', token: 'van-pi-hub-token-change-me', tls: false });
  assert.equal(readingIntervalMs(c, 'van-tank'), 2000, 'the per-device override');
  assert.equal(readingIntervalMs(c, 'van-cab'), 5000);
  assert.ok(Object.isFrozen(pump.then));
});

test('text is YAML or JSON; a .json file is read as JSON', { timeout: 30_000 }, async () => {
  const text = JSON.stringify({ http: { port: 8080 }, rules: [{ name: 'r', when: reading, then: led }] });
  assert.equal(parseHubConfig(text).http.port, 8080);
  assert.equal(parseHubConfig('http: { port: 8081 }').http.port, 8081);
  const dir = await mkdtemp(join(tmpdir(), 'tether-hub-config-'));
  await writeFile(join(dir, 'hub.json'), text);
  assert.equal((await loadHubConfig(join(dir, 'hub.json'))).rules[0]?.name, 'r');
  await writeFile(join(dir, 'bad.json'), '{"http": ');
  await assert.rejects(loadHubConfig(join(dir, 'bad.json')), (err: HubConfigError) => err.problems[0]?.startsWith('cannot parse the file') === true);
  await assert.rejects(loadHubConfig(join(dir, 'missing.yaml')), (err: HubConfigError) => /missing\.yaml: the hub config is not valid/.test(err.message) && err.problems[0] === 'cannot read the file (ENOENT)');
  assert.throws(() => parseHubConfig('a: [', 'x.yaml'), (err: HubConfigError) => err.source === 'x.yaml' && err.problems[0]?.startsWith('cannot parse the file') === true);
});

test('messages carry the path of the bad value', { timeout: 30_000 }, () => {
  assert.deepEqual(problems({ rules: [{ name: 'r', when: { ...reading, device: 'no spaces' }, then: led }] }), ['rules[0].when.device: expected a device id: 1–64 letters, digits, _ . or -']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: { ...button, edge: 'up' }, then: led }] }), ['rules[0].when.edge: expected "rising", "falling" or "both"']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: { ...reading, below: 3 }, then: led }] }), ['rules[0].when: give exactly one of above, below or equals (got above and below)']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: { device: 'tank', sensor: 'tank', quantity: 'level' }, then: led }] }), ['rules[0].when: give one of above, below or equals (only an http action may act on every reading)']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { ...led, duty: 0.5 } }] }), ['rules[0].then: give exactly one of value, duty or toggle (got value and duty)']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { device: 'cab', pin: 10, value: 1 } }] }), ['rules[0].then.lease_s: expected a number of seconds']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { ...led, lease_s: 0 } }] }), ['rules[0].then.lease_s: expected a number of seconds > 0']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { ...led, value: 2 } }] }), ['rules[0].then.value: expected 0 or 1']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { ...led, freq: 1000 } }] }), ['rules[0].then.freq: freq goes with duty (a PWM write)']);
  assert.deepEqual(problems({ link: { keepalive_ms: 100 } }), ['link.keepalive_ms: expected 200–60000 ms']);
  assert.deepEqual(problems({ link: { tls: { cert: 'hub.pem', key: '' } } }), ['link.tls.key: expected a PEM file']);
  assert.deepEqual(problems({ link: { tls: { cert: 'hub.pem', key: 'hub.key', ca: 'x' } } }).length, 1, 'link.tls takes cert and key only');
  assert.deepEqual(problems({ telemetry: { interval_ms: 10 } }), ['telemetry.interval_ms: expected 50–86400000 ms']);
  assert.deepEqual(problems({ telemetry: { devices: { 'bad id': { interval_ms: 1000 } } } }), ['telemetry.devices.bad id: expected a device id: 1–64 letters, digits, _ . or -']);
  assert.deepEqual(problems({ devices: [{ id: 'pi', address: 'pi.local' }] }), ['devices[0].address: expected host:port, such as 192.168.1.20:12345 or [fe80::1]:12345']);
  assert.deepEqual(problems({ bindings: [{ name: 'b', from: { device: 'a', pin: 1 }, to: { device: 'b', pin: 2, lease_s: 3, colour: 'red' } }] }).length, 1);
  assert.deepEqual(problems({ retention_days: -1, data: '' }), ['data: expected a folder', 'retention_days: expected a number of days ≥ 0']);
  assert.match(problems({ http: { port: 70000 } })[0] ?? '', /^http\.port: /);
  assert.match(problems({ bogus: 1 })[0] ?? '', /^\(top level\): /);
});

test('cross checks: names, device ids, toggle, one writer per output, pins one way, leases that outlast a reading', { timeout: 30_000 }, () => {
  const binding = (name: string, fromPin: number, toPin: number) => ({ name, from: { device: 'tank', pin: fromPin }, to: { device: 'cab', pin: toPin, lease_s: 3 } });
  assert.deepEqual(problems({ rules: [{ name: 'x', when: reading, then: led }], bindings: [binding('x', 6, 16)] }), ['bindings[0].name: the name "x" is used twice (rules and bindings share names)']);
  assert.deepEqual(problems({ rules: [{ name: 'x', when: reading, then: led }, { name: 'x', when: button, then: { ...led, pin: 11 } }] }), ['rules[1].name: the name "x" is used twice (rules and bindings share names)']);
  assert.deepEqual(problems({ devices: [{ id: 'pi', address: 'a:1' }, { id: 'pi', address: 'b:1' }] }), ['devices[1].id: the device "pi" is listed twice']);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { device: 'cab', pin: 10, toggle: true, lease_s: 30 } }] }), [
    'rules[0].then.toggle: toggle needs a when on an input pin (device, pin, edge): a reading has no press to toggle on',
  ]);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: led }], bindings: [binding('b', 6, 10)] }), [
    "bindings[0].to: pin 10 of cab is already driven by rules[0] (r); two rules on one output would undo each other's leases",
  ]);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: button, then: { ...led, pin: 11 } }], bindings: [{ ...binding('b', 6, 14), to: { device: 'cab', pin: 14, lease_s: 3 } }] }), [
    'bindings[0].to: pin 14 of cab is an input of rules[0] (r); a pin is either an input or an output',
  ]);
  assert.deepEqual(problems({ bindings: [binding('b', 6, 7), { name: 'c', from: { device: 'cab', pin: 7 }, to: { device: 'tank', pin: 8, lease_s: 3 } }] }), [
    'bindings[1].from: pin 7 of cab is an output of bindings[0] (b); a pin is either an input or an output',
  ]);
  assert.deepEqual(problems({ rules: [{ name: 'r', when: reading, then: { ...led, lease_s: 9 } }] }), [
    'rules[0].then.lease_s: 9 s would lapse between readings of tank (every 5000 ms, see telemetry); give at least 10 s',
  ]);
  // The per-device interval is the one that counts.
  assert.equal(parseHubConfig({ telemetry: { devices: { tank: { interval_ms: 1000 } } }, rules: [{ name: 'r', when: reading, then: { ...led, lease_s: 2 } }] }).rules.length, 1);
});

test('a binding and a toggle on the same board pins are fine when they do not share a pin', { timeout: 30_000 }, () => {
  const c = parseHubConfig({
    rules: [{ name: 'pump', when: button, then: { device: 'tank', pin: 15, toggle: true, lease_s: 600 } }],
    bindings: [{ name: 'buzzer', from: { device: 'tank', pin: 6 }, to: { device: 'cab', pin: 16, invert: true, lease_s: 6 } }],
  });
  assert.equal(c.bindings[0]?.to.invert, true);
  assert.deepEqual(c.rules[0]?.then, { device: 'tank', pin: 15, toggle: true, lease_s: 600 });
});

test('host:port addresses', { timeout: 30_000 }, () => {
  assert.deepEqual(parseHostPort('192.168.1.20:12345'), { host: '192.168.1.20', port: 12345 });
  assert.deepEqual(parseHostPort('[fe80::1]:80'), { host: 'fe80::1', port: 80 });
  assert.deepEqual(parseHostPort('pi.local:7000'), { host: 'pi.local', port: 7000 });
  for (const bad of ['pi.local', 'pi:0', 'pi:65536', ':80', 'fe80::1:80']) assert.equal(parseHostPort(bad), null, bad);
});
