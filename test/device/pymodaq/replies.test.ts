// What `tether device` answers on its PyMoDAQ port (docs/pymodaq.md, "What the board answers"),
// against examples/bench.yaml under --sim, asked by a Python client that behaves as the Raspberry
// plugin's link does. Readings are checked against protocol v1's read_sensor taken just before
// and just after, so a sensor answering at the wrong address or with the wrong quantity fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ERROR_CATALOGUE } from '../../../src/protocol/errors.js';
import {
  ack,
  asReply,
  errorCode,
  PyMoDAQClients,
  SKIP_WITHOUT_PYZMQ,
  startPymodaqDevice,
  V1Client,
  type DeviceProcess,
  type Json,
  type JsonObject,
  type Reply,
} from '../../support/pymodaq.js';

const CODES = new Set(Object.keys(ERROR_CATALOGUE));
const PLUGIN = 'plugin';

describe('PyMoDAQ replies on the bench (tether device --sim)', { timeout: 60_000, skip: SKIP_WITHOUT_PYZMQ }, () => {
  let device: DeviceProcess | undefined;
  let py: PyMoDAQClients | undefined;
  let v1: V1Client | undefined;

  before(async () => {
    device = await startPymodaqDevice();
    py = PyMoDAQClients.start();
    await py.open(PLUGIN, device.endpoint);
    v1 = await V1Client.connect(device.port);
  });

  after(async () => {
    v1?.close();
    await py?.stop();
    await device?.stop();
  });

  const clients = (): { py: PyMoDAQClients; v1: V1Client; device: DeviceProcess } => {
    assert.ok(py !== undefined && v1 !== undefined && device !== undefined);
    return { py, v1, device };
  };
  const request = (body: Json): Promise<Reply> => clients().py.request(PLUGIN, body);
  const aqPin = async (pin: Json): Promise<Json> => ack(await request({ type: 'AQ', register: 'pin', pin }), `AQ pin ${JSON.stringify(pin)}`);
  /** A PI as Python writes it: a number value is a float (200.0), as the plugin sends it. */
  const pi = async (pin: Json, value: Json): Promise<Reply> => {
    const written = typeof value === 'number' && Number.isInteger(value) ? `${value}.0` : JSON.stringify(value);
    const exchange = await clients().py.exchange(PLUGIN, { text: `{"type": "PI", "register": "pin", "pin": ${JSON.stringify(pin)}, "value": ${written}}` });
    return exchange.reply;
  };

  /** A catalogue code (docs/protocol.md §6), and `expected` when the contract names it. */
  const refused = (reply: Reply, what: string, expected?: string): void => {
    const code = errorCode(reply, what);
    assert.ok(CODES.has(code), `${what}: ${code} is not a code of the protocol's catalogue (${reply.value as string})`);
    if (expected !== undefined) assert.equal(code, expected, `${what}: ${reply.value as string}`);
  };

  /** v1's reading of one quantity. */
  const v1Reading = async (name: string, quantity: string): Promise<number> => {
    const reply = await clients().v1.request({ action: 'read_sensor', name });
    assert.equal(reply['ok'], true, JSON.stringify(reply));
    const value = (reply['values'] as JsonObject)[quantity];
    assert.equal(typeof value, 'number', `${name} has no ${quantity}: ${JSON.stringify(reply)}`);
    return value as number;
  };

  /** Asserts `read()` gives a number within v1's readings of name.quantity taken around it. */
  const readsAs = async (name: string, quantity: string, read: () => Promise<Json>, what: string): Promise<number> => {
    const before = await v1Reading(name, quantity);
    const value = await read();
    const after = await v1Reading(name, quantity);
    assert.equal(typeof value, 'number', `${what}: expected a number, got ${JSON.stringify(value)}`);
    const low = Math.min(before, after) - 0.5;
    const high = Math.max(before, after) + 0.5;
    assert.ok((value as number) >= low && (value as number) <= high, `${what}: ${JSON.stringify(value)} is not ${name}'s ${quantity} (v1 read ${before}, then ${after})`);
    return value as number;
  };
  const aqAdd = (add: Json, channel?: string) => async (): Promise<Json> =>
    ack(await request({ type: 'AQ', register: 'add', add, ...(channel !== undefined ? { channel } : {}) }), `AQ add ${JSON.stringify(add)} ${channel ?? ''}`);

  test('the banner names both listeners on one line', () => {
    const { device } = clients();
    assert.equal(device.banner, `tether device "thermal-bench" (sim) listening on 127.0.0.1:${device.port}, plain TCP; PyMoDAQ (ZeroMQ) on 127.0.0.1:${device.pymodaqPort}`);
  });

  test('scan: the actuators, then each addressed sensor in address order, with the documented fields in order', async () => {
    const opened = await clients().py.open('scanner', clients().device.endpoint);
    await clients().py.close('scanner');
    assert.ok(opened.scan !== undefined);
    const value = ack(opened.scan, 'scan') as JsonObject;
    assert.deepEqual(Object.keys(value), ['actuator', 'detector']);

    const actuators = value['actuator'] as JsonObject[];
    assert.equal(actuators.length, 2, JSON.stringify(actuators));
    const expected = [
      { name: 'fan', pin: 18, frequency: 25000 },
      { name: 'heater', pin: 23, frequency: 100 },
    ];
    actuators.forEach((a, i) => {
      const want = expected[i];
      assert.ok(want !== undefined);
      assert.deepEqual(Object.keys(a), ['title', 'name', 'pin', 'driver', 'units', 'minVal', 'maxVal', 'address', 'frequency'], JSON.stringify(a));
      assert.ok(typeof a['title'] === 'string' && a['title'] !== '', `title: ${JSON.stringify(a)}`);
      assert.equal(a['name'], want.name);
      assert.equal(Number(a['pin']), want.pin, `pin: ${JSON.stringify(a)}`);
      assert.equal(a['driver'], 'PWM');
      assert.equal(typeof a['units'], 'string', `units: ${JSON.stringify(a)}`);
      assert.equal(Number(a['minVal']), 0, `minVal: ${JSON.stringify(a)}`);
      assert.equal(Number(a['maxVal']), 255, `maxVal: ${JSON.stringify(a)}`);
      assert.equal(a['address'], null);
      assert.equal(a['frequency'], want.frequency);
    });

    // t_cpu (chip_temp) has no address and none under `addresses`: PyMoDAQ cannot ask for it.
    assert.deepEqual(value['detector'], [
      { name: 'rh_out', units: '%', address: '0x38', pin: null },
      { name: 't_heater', units: '°C', address: '0x48', pin: null },
      { name: 't_sink', units: '°C', address: '0x49', pin: null },
      { name: 't_in', units: '°C', address: '0x4a', pin: null },
      { name: 't_out', units: '°C', address: '0x4b', pin: null },
      { name: 't_emc', units: '°C', address: '0x4c', pin: null },
      { name: 't_plate', units: '°C', address: '0x4d', pin: null },
    ]);
  });

  test('AQ by address: the AHT10 answers humidity without a channel, temperature with "temp", humidity with "hum"', async () => {
    const humidity = await readsAs('rh_out', 'humidity', aqAdd('0x38'), 'AQ 0x38');
    const temperature = await readsAs('rh_out', 'temperature', aqAdd('0x38', 'temp'), 'AQ 0x38 temp');
    await readsAs('rh_out', 'humidity', aqAdd('0x38', 'hum'), 'AQ 0x38 hum');
    assert.ok(Math.abs(humidity - temperature) > 1, `the simulated bench's humidity and temperature differ enough to tell apart (${humidity}, ${temperature})`);
  });

  test('AQ by address: each TMP102 at its own address, the EMC2101 internal or external, the PT-100 at the address `addresses` gives it', async () => {
    await readsAs('t_heater', 'temperature', aqAdd('0x48'), 'AQ 0x48');
    await readsAs('t_heater', 'temperature', aqAdd('0x48', 'temp'), 'AQ 0x48 temp');
    await readsAs('t_sink', 'temperature', aqAdd('0x49'), 'AQ 0x49');
    await readsAs('t_in', 'temperature', aqAdd('0x4a'), 'AQ 0x4a');
    await readsAs('t_out', 'temperature', aqAdd('0x4b'), 'AQ 0x4b');
    await readsAs('t_emc', 'temperature', aqAdd('0x4c'), 'AQ 0x4c');
    await readsAs('t_emc', 'external_temperature', aqAdd('0x4c', 'external_temperature'), 'AQ 0x4c external_temperature');
    await readsAs('t_plate', 'temperature', aqAdd('0x4d'), 'AQ 0x4d');
  });

  test('AQ by address: hex in any case, with or without 0x', async () => {
    for (const add of ['0x4c', '0X4C', '0x4C', '4c', '4C']) await readsAs('t_emc', 'external_temperature', aqAdd(add, 'external_temperature'), `AQ ${add}`);
    for (const add of ['0x4D', '4d', '0X4d']) await readsAs('t_plate', 'temperature', aqAdd(add), `AQ ${add}`);
  });

  test('AQ by address refused: a number, an address no sensor answers at, a channel the sensor does not measure', async () => {
    refused(await request({ type: 'AQ', register: 'add', add: 0x48 }), 'add as a number');
    refused(await request({ type: 'AQ', register: 'add', add: '0x50' }), 'an address with no sensor');
    refused(await request({ type: 'AQ', register: 'add', add: '0x4e' }), 'an address with no sensor, next to t_plate');
    refused(await request({ type: 'AQ', register: 'add', add: 'zz' }), 'add that is not hex');
    refused(await request({ type: 'AQ', register: 'add', add: '0x48', channel: 'hum' }), 'hum on a TMP102');
    refused(await request({ type: 'AQ', register: 'add', add: '0x38', channel: 'pressure' }), 'an unknown channel');
  });

  test('AQ by pin: the value as an integer, the pin as int() reads it; refused pins', async () => {
    assert.equal(ack(await pi('18', 0)), 0);
    for (const pin of [18, '18', ' 18 ', 18.9]) assert.equal(await aqPin(pin), 0, `pin ${JSON.stringify(pin)}`);
    const float = await clients().py.exchange(PLUGIN, { text: '{"type": "AQ", "register": "pin", "pin": 18.0}' });
    assert.equal(ack(float.reply, 'AQ pin 18.0'), 0);
    assert.equal(await aqPin(23), 0);
    for (const pin of ['18.0', 'abc', true, null, '']) refused(await request({ type: 'AQ', register: 'pin', pin }), `AQ pin ${JSON.stringify(pin)}`);
    refused(await request({ type: 'AQ', register: 'pin', pin: 5 }), 'a pin that is not an actuator');
  });

  test('PI: a float value on a string pin, clamped to 0–255, read back; a lease of hold_s while not the safe value', async () => {
    const { py, v1 } = clients();
    assert.deepEqual(await py.pilotage(PLUGIN, 18, 200), { state: 'ACK', value: 200 });
    assert.equal(await aqPin(18), 200);
    let fan = await v1.pinState(18);
    assert.ok(Math.abs((fan['duty'] as number) - 200 / 255) < 1e-9, `duty value/255: ${JSON.stringify(fan)}`);
    const lease = fan['lease'] as JsonObject | null;
    assert.ok(lease !== null, `a PI away from the safe value is a lease: ${JSON.stringify(fan)}`);
    assert.ok((lease['expires_in_s'] as number) > 0 && (lease['expires_in_s'] as number) <= 10, `a lease of hold_s (10 s): ${JSON.stringify(lease)}`);

    assert.deepEqual(await py.pilotage(PLUGIN, 18, 300), { state: 'ACK', value: 255 });
    assert.equal(await aqPin(18), 255);
    assert.equal((await v1.pinState(18))['duty'], 1);

    assert.deepEqual(await py.pilotage(PLUGIN, 18, 127), { state: 'ACK', value: 127 });
    assert.equal(await aqPin(18), 127);

    assert.deepEqual(await py.pilotage(PLUGIN, 18, -5), { state: 'ACK', value: 0 });
    assert.equal(await aqPin(18), 0);
    fan = await v1.pinState(18);
    assert.equal(fan['duty'], 0);
    assert.equal(fan['lease'], null, 'the safe value needs no lease');

    assert.equal(ack(await pi(' 18 ', '50')), 50, 'pin and value as strings');
    assert.equal(ack(await pi(18.9, 60.0)), 60, 'a float pin is truncated toward zero');
    assert.equal(await aqPin(18), 60);
    assert.equal(ack(await pi('23', 10.0)), 10, 'the heater');
    assert.equal(await aqPin(23), 10);
    assert.equal(await aqPin(18), 60, 'the fan did not move');
    assert.equal(ack(await pi('23', 0.0)), 0);
  });

  test('PI refused: a bad pin, a pin that is not an actuator, a register "add", a value that is not a number; nothing moves', async () => {
    assert.equal(ack(await pi('18', 90.0)), 90);
    for (const pin of ['18.0', 'abc', true, null]) refused(await pi(pin, 200.0), `PI pin ${JSON.stringify(pin)}`);
    refused(await pi('5', 1.0), 'a pin that is not an actuator');
    refused(await request({ type: 'PI', register: 'add', add: '0x48', value: 200.0 }), 'PI by address', 'unsupported');
    refused(await request({ type: 'PI', register: 'add', add: '0x48', pin: '18', value: 200.0 }), 'PI by address with a pin', 'unsupported');
    refused(await request({ type: 'PI', register: 'pin', pin: '18', value: 'lots' }), 'PI with a value that is not a number');
    assert.equal(await aqPin(18), 90, 'no refused PI moved the fan');
    assert.equal(ack(await pi('18', 0.0)), 0);
  });

  test('AQ-MULTI: values in request order, a failed item as its ERROR object in its place', async () => {
    assert.equal(ack(await pi('18', 77.0)), 77);
    const tHeater = await v1Reading('t_heater', 'temperature');
    const reply = await request({
      type: 'AQ-MULTI',
      components: [
        { register: 'pin', pin: 18 },
        { register: 'add', add: '0x48' },
        { register: 'add', add: '0x50' },
        { register: 'pin', pin: '23' },
        { register: 'add', add: '0x38' },
        { register: 'pin', pin: 'abc' },
        { register: 'add', add: '0x38', channel: 'temp' },
      ],
    });
    const values = ack(reply, 'AQ-MULTI') as Json[];
    assert.ok(Array.isArray(values) && values.length === 7, JSON.stringify(reply));
    assert.equal(values[0], 77);
    assert.ok(typeof values[1] === 'number' && Math.abs(values[1] - tHeater) < 1, `t_heater second: ${JSON.stringify(values)}`);
    for (const i of [2, 5]) {
      assert.deepEqual(Object.keys(values[i] as JsonObject), ['state', 'value'], `item ${i}: ${JSON.stringify(values)}`);
      refused(asReply(values[i]), `item ${i}`);
    }
    assert.equal(values[3], 0);
    const [humidity, temperature] = [values[4], values[6]];
    assert.ok(typeof humidity === 'number' && typeof temperature === 'number', JSON.stringify(values));
    const v1Humidity = await v1Reading('rh_out', 'humidity');
    const v1Temperature = await v1Reading('rh_out', 'temperature');
    assert.ok(Math.abs(humidity - v1Humidity) < 1 && Math.abs(temperature - v1Temperature) < 1, `rh_out's humidity then its temperature: ${JSON.stringify(values)}`);
    assert.equal(ack(await pi('18', 0.0)), 0);
  });

  test("AQ-MULTI as the plugin grabs: the config's addresses, then its pins", async () => {
    const { py } = clients();
    assert.equal(ack(await pi('18', 33.0)), 33);
    const values = ack(await py.multiAcquisition(PLUGIN, ['0x38', '0x48', '0x4D'], [18, 23]), 'grab') as Json[];
    assert.equal(values.length, 5, JSON.stringify(values));
    const checks: [string, string, Json | undefined][] = [
      ['rh_out', 'humidity', values[0]],
      ['t_heater', 'temperature', values[1]],
      ['t_plate', 'temperature', values[2]],
    ];
    for (const [name, quantity, value] of checks) {
      const reading = await v1Reading(name, quantity);
      assert.ok(typeof value === 'number' && Math.abs(value - reading) < 1, `${name} ${quantity}: ${JSON.stringify(values)}`);
    }
    assert.deepEqual(values.slice(3), [33, 0]);
    assert.equal(ack(await pi('18', 0.0)), 0);
  });

  test("PI-MULTI: each item's reply object, in request order", async () => {
    // Written as Python's json.dumps writes the plugin's floats.
    const components = [
      '{"register": "pin", "pin": "18", "value": 40.0}',
      '{"register": "add", "add": "0x48", "value": 1.0}',
      '{"register": "pin", "pin": "5", "value": 1.0}',
      '{"register": "pin", "pin": "23", "value": 300.0}',
      '{"register": "pin", "pin": "23", "value": 0.0}',
    ];
    const { reply } = await clients().py.exchange(PLUGIN, { text: `{"type": "PI-MULTI", "components": [${components.join(', ')}]}` });
    const list = ack(reply, 'PI-MULTI');
    assert.ok(Array.isArray(list) && list.length === 5, JSON.stringify(reply));
    const items = list.map((item, i) => asReply(item, `PI-MULTI item ${i}`));
    assert.deepEqual(items[0], { state: 'ACK', value: 40 });
    assert.ok(items[1] !== undefined && items[2] !== undefined);
    refused(items[1], 'PI-MULTI item by address', 'unsupported');
    refused(items[2], 'PI-MULTI item on a pin that is not an actuator');
    assert.deepEqual(items[3], { state: 'ACK', value: 255 });
    assert.deepEqual(items[4], { state: 'ACK', value: 0 });
    assert.equal(await aqPin(18), 40);
    assert.equal(await aqPin(23), 0);
    assert.equal(ack(await pi('18', 0.0)), 0);
  });

  test('a required field left out is missing_field, as protocol.md §6 defines it, not a null sent', async () => {
    refused(await request({}), 'no type', 'missing_field');
    refused(await request({ type: 'AQ', register: 'add' }), 'AQ without add', 'missing_field');
    refused(await request({ type: 'AQ', register: 'pin' }), 'AQ without pin', 'missing_field');
    refused(await request({ type: 'PI', register: 'pin', value: 1.0 }), 'PI without pin', 'missing_field');
    refused(await request({ type: 'PI', register: 'pin', pin: '18' }), 'PI without value', 'missing_field');
    assert.equal(await aqPin(18), 0, 'nothing moved');
  });

  test('refused requests: malformed JSON, JSON that is not an object, an unknown type or register', async () => {
    const { py } = clients();
    const raw = async (text: string): Promise<Reply> => {
      const exchange = await py.exchange(PLUGIN, { text });
      assert.equal(exchange.reconnected, false, `${text}: answered, not timed out`);
      return exchange.reply;
    };
    refused(await raw('{"type": scan}'), 'malformed JSON', 'bad_json');
    refused(await raw('{"type": "scan"'), 'truncated JSON', 'bad_json');
    refused(await raw(''), 'an empty frame', 'bad_json');
    for (const text of ['[{"type": "scan"}]', '"scan"', '42', 'null']) refused(await raw(text), text, 'not_an_object');
    refused(await request({ type: 'XX' }), 'an unknown type', 'unknown_action');
    refused(await request({ type: 'aq', register: 'pin', pin: 18 }), 'a type in the wrong case', 'unknown_action');
    refused(await request({ type: 'AQ', register: 'reg', add: '0x48' }), 'an unknown register');
    refused(await request({ type: 'AQ', add: '0x48' }), 'no register');
    assert.deepEqual(Object.keys(ack(await request({ type: 'scan' })) as JsonObject), ['actuator', 'detector'], 'the link still answers');
  });
});
