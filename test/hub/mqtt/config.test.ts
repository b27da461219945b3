// The hub config's mqtt section: its defaults, and the mistakes it refuses with the key's path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HubConfigError, parseHubConfig } from '../../../src/hub/config.js';
import { renewSeconds } from '../../../src/hub/mqtt/config.js';

function problems(mqtt: unknown): string[] {
  try {
    parseHubConfig({ mqtt });
  } catch (err) {
    assert.ok(err instanceof HubConfigError, String(err));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

describe('hub config: mqtt', { timeout: 30_000 }, () => {
  test('a URL alone gets every default', () => {
    const c = parseHubConfig({ mqtt: { url: 'mqtt://127.0.0.1:1883' } });
    assert.deepEqual(c.mqtt, {
      url: 'mqtt://127.0.0.1:1883',
      base_topic: 'tether',
      discovery_prefix: 'homeassistant',
      discovery: true,
      lease_s: 30,
      boards: 'all',
      pins: {},
      sensors: {},
    });
    assert.equal(renewSeconds(c.mqtt, c.mqtt.lease_s), 10);
    assert.equal(parseHubConfig({}).mqtt, undefined, 'no section, no bridge');
  });

  test('credentials in the URL are refused: they would be shown in logs and the API', () => {
    assert.deepEqual(problems({ url: 'mqtt://tether:secret@127.0.0.1:1883' }), [
      'mqtt.url: put the user in mqtt.username and the password in a file named by mqtt.password_file, not in the URL',
    ]);
  });

  test('only mqtt:// and mqtts:// brokers', () => {
    assert.deepEqual(problems({ url: 'http://127.0.0.1:1883' }), ['mqtt.url: expected mqtt:// or mqtts://, not http://']);
    assert.deepEqual(problems({ url: 'broker' }), ['mqtt.url: expected a broker URL such as mqtt://127.0.0.1:1883 or mqtts://broker.lan:8883']);
    assert.deepEqual(problems({}), ['mqtt.url: expected a broker URL such as mqtt://127.0.0.1:1883']);
  });

  test('a lease that would lapse before its renewal is refused, globally and per pin', () => {
    assert.deepEqual(problems({ url: 'mqtt://127.0.0.1', lease_s: 5, renew_s: 3 }), [
      'mqtt.lease_s: a lease of 5 s renewed every 3 s would lapse after one late renewal; make renew_s at most half of lease_s (a third, the default, is better)',
    ]);
    assert.deepEqual(problems({ url: 'mqtt://127.0.0.1', renew_s: 4, pins: { shed: { relay: { lease_s: 7 } } } }), [
      'mqtt.pins.shed.relay.lease_s: a lease of 7 s renewed every 4 s (mqtt.renew_s) would lapse after one late renewal; give at least 8 s',
    ]);
    assert.equal(parseHubConfig({ mqtt: { url: 'mqtt://127.0.0.1', lease_s: 6, renew_s: 3 } }).mqtt?.renew_s, 3, 'half the lease is the limit');
  });

  test('topics without wildcards or empty levels, boards by id, outputs by known kinds', () => {
    const found = problems({
      url: 'mqtt://127.0.0.1',
      base_topic: 'tether/#',
      discovery_prefix: '/ha',
      boards: ['bad id'],
      pins: { 'bad id': { relay: { as: 'dimmer' } } },
    });
    assert.deepEqual(found, [
      'mqtt.base_topic: expected a topic without + or #, spaces, or a slash at either end',
      'mqtt.discovery_prefix: expected a topic without + or #, spaces, or a slash at either end',
      'mqtt.boards[0]: expected a device id',
      'mqtt.pins.bad id.relay.as: expected switch, light, fan, number',
    ]);
  });

  test('board keys under pins and sensors are device ids', () => {
    assert.deepEqual(problems({ url: 'mqtt://127.0.0.1', sensors: { 'no/slash': { air: { expose: false } } } }), [
      'mqtt.sensors.no/slash: expected a device id: 1–64 letters, digits, _ . or -',
    ]);
  });
});
