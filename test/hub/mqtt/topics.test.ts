// The MQTT bridge's topic names: what it publishes, what it subscribes to, and the parsers that
// read incoming commands and retained discovery configs back, which must agree with the makers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { discoverySafe, Topics } from '../../../src/hub/mqtt/topics.js';

const HUB = 'a1b2c3d4e5f6';
const topics = new Topics('tether', 'homeassistant', HUB);
const nested = new Topics('home/tether', 'ha/discovery', HUB);

describe('topic names', { timeout: 30_000 }, () => {
  test('the hub and a board as docs/mqtt.md lists them', () => {
    assert.equal(topics.hubAvailability(), 'tether/hub/availability');
    assert.equal(topics.boardsOnline(), 'tether/hub/boards_online');
    assert.equal(topics.board('greenhouse').availability, 'tether/greenhouse/availability');
    assert.equal(topics.pinState('greenhouse', 15), 'tether/greenhouse/pin/15/state');
    assert.equal(topics.pinSet('greenhouse', 15), 'tether/greenhouse/pin/15/set');
    assert.equal(topics.pinPercentage('greenhouse', 18), 'tether/greenhouse/pin/18/percentage');
    assert.equal(topics.pinPercentageSet('greenhouse', 18), 'tether/greenhouse/pin/18/percentage/set');
    assert.equal(topics.sensor('greenhouse', 'air', 'temperature'), 'tether/greenhouse/sensor/air/temperature');
    assert.equal(topics.signal('greenhouse'), 'tether/greenhouse/signal');
    assert.equal(topics.uptime('greenhouse'), 'tether/greenhouse/uptime');
    assert.equal(topics.resetSet('greenhouse'), 'tether/greenhouse/reset/set');
    assert.equal(topics.command('greenhouse'), 'tether/greenhouse/command');
    assert.equal(topics.reply('greenhouse'), 'tether/greenhouse/reply');
    assert.equal(topics.event('greenhouse'), 'tether/greenhouse/event');
  });

  test('a board id with . keeps it in state topics', () => {
    assert.equal(topics.pinState('lab.bench-2', 0), 'tether/lab.bench-2/pin/0/state');
    assert.equal(nested.sensor('lab.bench-2', 't_1', 'humidity'), 'home/tether/lab.bench-2/sensor/t_1/humidity');
  });

  test('a base of several levels', () => {
    assert.equal(nested.hubAvailability(), 'home/tether/hub/availability');
    assert.equal(nested.command('porch'), 'home/tether/porch/command');
    assert.deepEqual(nested.commandSubscriptions(), ['home/tether/+/pin/+/set', 'home/tether/+/pin/+/percentage/set', 'home/tether/+/reset/set', 'home/tether/+/command']);
  });

  test('node ids: the hub id, then the board with characters Home Assistant refuses as _', () => {
    assert.equal(topics.nodeId('greenhouse'), `${HUB}_greenhouse`);
    assert.equal(topics.nodeId('lab.bench-2_a'), `${HUB}_lab_bench-2_a`);
    assert.equal(discoverySafe('a.b c/d+e#f'), 'a_b_c_d_e_f');
    assert.notEqual(new Topics('tether', 'homeassistant', 'ffffff000000').nodeId('greenhouse'), topics.nodeId('greenhouse'), 'two hubs never share a node');
  });

  test('discovery topics', () => {
    assert.equal(topics.discovery('switch', 'greenhouse', 'pin_15'), `homeassistant/switch/${HUB}_greenhouse/pin_15/config`);
    assert.equal(topics.discovery('sensor', 'lab.bench', 'pt.100_temperature'), `homeassistant/sensor/${HUB}_lab_bench/pt_100_temperature/config`);
    assert.equal(nested.discovery('button', 'porch', 'reset'), `ha/discovery/button/${HUB}_porch/reset/config`);
    assert.equal(topics.hubDiscovery('sensor', 'boards_online'), `homeassistant/sensor/${HUB}_hub/boards_online/config`);
    assert.equal(topics.homeAssistantStatus(), 'homeassistant/status');
    assert.equal(nested.discoverySubscription(), 'ha/discovery/+/+/+/config');
  });
});

describe('parsing command topics', { timeout: 30_000 }, () => {
  test('each command topic the bridge makes parses back', () => {
    for (const t of [topics, nested]) {
      for (const board of ['greenhouse', 'lab.bench-2', 'a_b', 'X']) {
        assert.deepEqual(t.parseCommandTopic(t.pinSet(board, 15)), { board, kind: 'pin-set', pin: 15 });
        assert.deepEqual(t.parseCommandTopic(t.pinPercentageSet(board, 18)), { board, kind: 'pin-percentage-set', pin: 18 });
        assert.deepEqual(t.parseCommandTopic(t.resetSet(board)), { board, kind: 'reset' });
        assert.deepEqual(t.parseCommandTopic(t.command(board)), { board, kind: 'command' });
      }
    }
  });

  test('pins 0 to 255', () => {
    assert.deepEqual(topics.parseCommandTopic('tether/b/pin/0/set'), { board: 'b', kind: 'pin-set', pin: 0 });
    assert.deepEqual(topics.parseCommandTopic('tether/b/pin/255/set'), { board: 'b', kind: 'pin-set', pin: 255 });
    for (const pin of ['256', '07', '-1', '1.5', 'x', '', '1e1', '0x1']) assert.equal(topics.parseCommandTopic(`tether/b/pin/${pin}/set`), null, pin);
  });

  test('anything else is not a command', () => {
    for (const topic of [
      'tether/b/pin/3/state',
      'tether/b/pin/3/percentage',
      'tether/b/pin/3/set/more',
      'tether/b/pin/set',
      'tether/b/pin/3/percentage/set/x',
      'tether/b/reset',
      'tether/b/reset/set/x',
      'tether/b/command/x',
      'tether/b/reply',
      'tether/b/availability',
      'tether/command',
      'tether//command',
      'tether/b c/command',
      'tether/hub/command',
      'tether2/b/command',
      'tether',
      'other/b/command',
      'home/tether/b/command',
    ]) {
      assert.equal(topics.parseCommandTopic(topic), null, topic);
    }
    assert.equal(nested.parseCommandTopic('tether/b/command'), null);
    assert.equal(nested.parseCommandTopic('home/b/command'), null);
  });
});

describe('parsing discovery topics', { timeout: 30_000 }, () => {
  test('what the hub makes parses back', () => {
    assert.deepEqual(topics.parseDiscoveryTopic(topics.discovery('binary_sensor', 'lab.bench', 'pin_22')), { component: 'binary_sensor', nodeId: `${HUB}_lab_bench`, objectId: 'pin_22' });
    assert.deepEqual(nested.parseDiscoveryTopic(nested.hubDiscovery('sensor', 'boards_online')), { component: 'sensor', nodeId: `${HUB}_hub`, objectId: 'boards_online' });
  });

  test('other topics under the prefix are not configs', () => {
    for (const topic of [
      'homeassistant/status',
      'homeassistant/switch/node/obj/state',
      'homeassistant/switch/obj/config',
      'homeassistant/switch/node/obj/extra/config',
      'homeassistant/Switch/node/obj/config',
      'homeassistant/switch/no.de/obj/config',
      'homeassistant/switch//obj/config',
      'homeassistant2/switch/node/obj/config',
      'tether/switch/node/obj/config',
    ]) {
      assert.equal(topics.parseDiscoveryTopic(topic), null, topic);
    }
  });

  test('isOurs: node ids under this hub id only', () => {
    assert.equal(topics.isOurs(topics.nodeId('greenhouse')), true);
    assert.equal(topics.isOurs(topics.nodeId('hub')), true, "the hub's own device is cleared like a board's");
    assert.equal(topics.isOurs(`${HUB}`), false);
    assert.equal(topics.isOurs(`${HUB}_`), false);
    assert.equal(topics.isOurs(`${HUB}0_greenhouse`), false, 'a hub id that starts with ours is not ours');
    assert.equal(topics.isOurs(`ffffff000000_greenhouse`), false);
    assert.equal(topics.isOurs(`greenhouse`), false);
  });
});
