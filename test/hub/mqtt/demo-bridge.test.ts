// `tether demo --mqtt`: the demo's three boards as Home Assistant sees them through a real broker,
// and docs/mqtt.md's Node-RED flow run against them as it is written.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemo, type Demo } from '../../../src/cli/demo-command.js';
import { silentLogger } from '../../../src/device/logger.js';
import { Topics } from '../../../src/hub/mqtt/topics.js';
import type { JsonObject } from '../../../src/protocol/codec.js';
import { Broker, SKIP_WITHOUT_MOSQUITTO } from '../../support/mosquitto.js';
import { MqttWatch, retained } from '../../support/mqtt-watch.js';
import { spawnHubCli } from '../../support/hub-process.js';
import { eventually } from '../../support/test-hub.js';

const ROOT = path.join(import.meta.dirname, '..', '..', '..', '..');

/** The JSON block after the tested-by marker in docs/mqtt.md. */
function nodeRedFlow(): JsonObject[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'mqtt.md'), 'utf8');
  const marker = text.indexOf('<!-- tested by test/hub/mqtt/demo-bridge.test.ts');
  assert.ok(marker >= 0, 'docs/mqtt.md has the Node-RED flow marker');
  const block = /```json\n([\s\S]*?)\n```/.exec(text.slice(marker));
  assert.ok(block?.[1] !== undefined, 'a json block follows the marker');
  return JSON.parse(block[1]) as JsonObject[];
}

function pinOf(demo: Demo, board: number, pin: number): JsonObject | undefined {
  return (demo.devices[board]?.board.state().pins as JsonObject[]).find((p) => p['pin'] === pin);
}

describe('the demo bridged to mosquitto', { timeout: 90_000, skip: SKIP_WITHOUT_MOSQUITTO }, () => {
  let broker: Broker;
  let demo: Demo;
  let watch: MqttWatch;

  before(async () => {
    broker = await Broker.start();
    demo = await startDemo({ httpPort: 0, linkPort: 0, mqtt: broker.url, logger: silentLogger });
    watch = await MqttWatch.connect(broker.url, ['tether/greenhouse/reply']);
    await eventually(() => (demo.hub.facade.hub().mqtt?.state === 'connected' ? true : undefined), 'the bridge connected', 10_000);
  });

  after(async () => {
    await watch?.close();
    await demo?.close();
    await broker?.close();
  });

  test('every entity of the three demo boards is discovered, each with its own unique_id', async () => {
    const hubId = demo.hub.hubId;
    const expected = new Map<string, string[]>([
      ['greenhouse', ['switch/pin_15', 'number/pin_18', 'binary_sensor/pin_22', 'number/pin_23', 'switch/pin_25']],
      ['shed', ['switch/pin_15', 'number/pin_18', 'binary_sensor/pin_22', 'number/pin_23', 'switch/pin_25']],
      ['porch', ['binary_sensor/pin_22', 'switch/pin_25', 'sensor/chip_temperature']],
    ]);
    const bench = ['air_temperature', 'air_humidity', 't_heater_temperature', 't_sink_temperature', 't_emc_temperature', 't_emc_external_temperature', 'pt100_temperature', 'chip_temperature'];
    for (const board of ['greenhouse', 'shed']) expected.get(board)?.push(...bench.map((q) => `sensor/${q}`));
    for (const list of expected.values()) list.push('sensor/signal', 'sensor/uptime', 'button/reset');
    const configs = await eventually(async () => {
      const r = await retained(broker.url, 'homeassistant/#', 300);
      return [...expected].every(([board, list]) => list.every((e) => r.has(`homeassistant/${e.split('/')[0]}/${hubId}_${board}/${e.split('/')[1]}/config`))) ? r : undefined;
    }, 'every demo entity', 20_000);
    const ours = [...configs.keys()].filter((t) => t.includes(`/${hubId}_`) && !t.includes(`/${hubId}_hub/`));
    assert.equal(ours.length, [...expected.values()].reduce((n, l) => n + l.length, 0), `exactly the demo's entities: ${ours.join(', ')}`);
    const uniqueIds = ours.map((t) => (JSON.parse(configs.get(t) ?? '{}') as JsonObject)['unique_id']);
    assert.equal(new Set(uniqueIds).size, uniqueIds.length, 'unique_ids are distinct');
    const pir = JSON.parse(configs.get(`homeassistant/binary_sensor/${hubId}_porch/pin_22/config`) ?? '{}') as JsonObject;
    assert.equal(pir['device_class'], 'motion', "the porch's motion input is a motion sensor");
    const air = JSON.parse(configs.get(`homeassistant/sensor/${hubId}_greenhouse/air_humidity/config`) ?? '{}') as JsonObject;
    assert.deepEqual([air['device_class'], air['unit_of_measurement'], air['state_class'], air['expire_after']], ['humidity', '%', 'measurement', 6]);
    const device = air['device'] as JsonObject;
    assert.equal(device['model'], 'Tether simulated board (demo bench)');
    assert.equal(device['via_device'], `tether_${hubId}`);
    assert.match(String(device['configuration_url']), /#\/board\/greenhouse$/);
    assert.ok(configs.has(`homeassistant/sensor/${hubId}_hub/boards_online/config`), 'the hub is a device too');
  });

  test("docs/mqtt.md's Node-RED flow: its topics are the bridge's, and its commands work as written", async () => {
    const flow = nodeRedFlow();
    const topics = new Topics('tether', 'homeassistant', demo.hub.hubId);
    const outs = flow.filter((n) => n['type'] === 'mqtt out');
    assert.ok(outs.length >= 2);
    for (const out of outs) {
      assert.notEqual(topics.parseCommandTopic(String(out['topic'])), null, `${String(out['topic'])} is a command topic`);
      assert.equal(out['retain'], 'false', 'commands are never retained');
    }
    const byId = new Map(flow.map((n) => [String(n['id']), n]));
    // The inject node's request, published where its wire leads, answered on the flow's reply topic.
    const inject = flow.find((n) => n['type'] === 'inject');
    const ask = byId.get(String((inject?.['wires'] as string[][])[0]?.[0]));
    await watch.publish(String(ask?.['topic']), String(inject?.['payload']));
    const repliesIn = flow.find((n) => n['type'] === 'mqtt in' && String(n['topic']).endsWith('/reply'));
    const reply = JSON.parse((await watch.waitFor(String(repliesIn?.['topic']), (p) => p.includes('"node-red"'))).payload) as JsonObject;
    assert.equal(reply['ok'], true);
    assert.ok(Array.isArray(reply['pins']), 'get_state answered with the pins');
    // The fan: the change nodes' payloads on the fan's topic.
    const fan = String(byId.get('fan')?.['topic']);
    const payloadOf = (id: string) => String(((byId.get(id)?.['rules'] as JsonObject[])[0] as JsonObject)['to']);
    await watch.publish(fan, payloadOf('fan-on'));
    await eventually(() => (pinOf(demo, 0, 18)?.['duty'] === 0.6 ? true : undefined), 'the greenhouse fan at 60 %');
    assert.equal((pinOf(demo, 0, 18)?.['lease'] as JsonObject | null)?.['value'], 0.6, 'held as a lease');
    await watch.publish(fan, payloadOf('fan-off'));
    await eventually(() => (pinOf(demo, 0, 18)?.['duty'] === 0 ? true : undefined), 'the greenhouse fan off');
  });
});

describe('tether demo --mqtt', { timeout: 60_000, skip: SKIP_WITHOUT_MOSQUITTO }, () => {
  test('the banner names the broker, the boards appear on it, and Ctrl-C marks the hub offline', async () => {
    const broker = await Broker.start();
    try {
      const demo = await spawnHubCli(['demo', '--http-port', '0', '--link-port', '0', '--mqtt', broker.url]);
      const watch = await MqttWatch.connect(broker.url, ['tether/hub/availability', 'tether/porch/availability']);
      try {
        assert.match(demo.stdout(), new RegExp(`^mqtt: bridging the boards to ${broker.url.replaceAll('.', '\\.')} \\(topics under tether/, Home Assistant discovery under homeassistant/\\)`, 'm'));
        await watch.waitFor('tether/porch/availability', (p) => p === 'online', 15_000);
        await watch.waitFor('tether/hub/availability', (p) => p === 'online');
        const at = watch.seen.length;
        demo.child.kill('SIGINT');
        assert.equal(await demo.exited, 0);
        await watch.waitFor('tether/hub/availability', (p) => p === 'offline', 5000, at);
      } finally {
        demo.child.kill('SIGKILL');
        await watch.close();
      }
    } finally {
      await broker.close();
    }
  });
});
