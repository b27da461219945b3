// docs/domoticz.md's http example, run as it is written: a real hub with the YAML block's rules,
// a simulated greenhouse board linked to it, and a stand-in for Domoticz's /json.htm on loopback.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseHubConfig } from '../../src/hub/config.js';
import { startLinkedBoard } from '../support/linked-board.js';
import { eventually, startTestHub } from '../support/test-hub.js';
import { startHttpEndpoint } from './http-endpoint.js';

const DOC = new URL('../../../docs/domoticz.md', import.meta.url);
const MARKER = '<!-- tested by test/hub/domoticz-doc.test.ts';
const DOMOTICZ = 'http://127.0.0.1:8080';

/** The yaml block right after the marker in docs/domoticz.md. */
function docExample(): string {
  const text = readFileSync(DOC, 'utf8');
  const at = text.indexOf(MARKER);
  assert.ok(at >= 0, 'docs/domoticz.md keeps its tested example');
  const block = /```yaml\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(block?.[1] !== undefined, 'a yaml block follows the marker');
  return block[1];
}

const GREENHOUSE = {
  name: 'greenhouse',
  pins: [{ pin: 14, name: 'door', mode: 'input', pull: 'down' }],
  sensors: [
    { name: 'air', driver: 'dht22', options: { pin: 4 } },
    { name: 'chip', driver: 'chip_temp' },
  ],
};

test('docs/domoticz.md: the http example updates Domoticz\'s devices from a real board through a real hub', { timeout: 60_000 }, async () => {
  const yaml = docExample();
  assert.ok(yaml.includes(DOMOTICZ), `the example calls Domoticz at ${DOMOTICZ}`);
  const domoticz = await startHttpEndpoint();
  after(() => domoticz.close());
  // Loopback stands in for the LAN address; nothing else of the block changes.
  const example = parseYaml(yaml.replaceAll(DOMOTICZ, domoticz.base)) as Record<string, unknown>;
  assert.equal(parseHubConfig(example).rules.length, 4, 'the block is a valid hub config on its own');

  const hub = await startTestHub({ config: { ...example, telemetry: { interval_ms: 200 } } });
  after(() => hub.close());
  const { token } = await hub.store.addDevice('greenhouse', {});
  const board = await startLinkedBoard({ port: hub.link.port, token, id: 'greenhouse', config: GREENHOUSE });
  after(() => board.close());

  const request = (pattern: RegExp) => eventually(() => domoticz.requests.find((r) => pattern.test(r.url)), `a request like ${pattern}`, 15_000);
  const chip = await request(/^\/json\.htm\?type=command&param=udevice&idx=11&/);
  assert.match(chip.url, /^\/json\.htm\?type=command&param=udevice&idx=11&nvalue=0&svalue=-?\d+(\.\d+)?$/);
  const air = await request(/^\/json\.htm\?type=command&param=udevice&idx=12&/);
  assert.match(air.url, /^\/json\.htm\?type=command&param=udevice&idx=12&nvalue=0&svalue=-?\d+(\.\d+)?;\d+(\.\d+)?;0$/);
  assert.equal(air.method, 'GET');

  board.hardware.gpio.drive(14, 1);
  await request(/switchlight&idx=13&switchcmd=On$/);
  board.hardware.gpio.drive(14, 0);
  await request(/switchlight&idx=13&switchcmd=Off$/);

  // min_interval_s: 60 holds each sensor to one request however many readings came meanwhile.
  assert.equal(domoticz.requests.filter((r) => r.url.includes('idx=12&')).length, 1);
  const fired = await eventually(async () => {
    const rules = (await hub.store.queryEvents({ device: 'greenhouse', type: 'rule_fired', limit: 100 })).map((e) => e.data.rule);
    return rules.length >= 4 ? rules : undefined;
  }, 'the firings are in the events log');
  assert.deepEqual([...new Set(fired)].sort(), ['domoticz-air', 'domoticz-chip', 'domoticz-door-closed', 'domoticz-door-open']);
});
