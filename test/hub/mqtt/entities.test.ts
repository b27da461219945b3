// Home Assistant discovery for the demo boards, read from real simulated boards: every entity,
// its fields, the mqtt config's filters, and the outputs the hub refuses to hold.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DEMO_BOARD_CONFIG } from '../../../src/device/demo-board.js';
import { mqttSchema, type MqttConfig } from '../../../src/hub/mqtt/config.js';
import { entitiesOf, entitySlug, expireAfterS, hubEntities, quantityDeviceClass, sensorDeviceClass, type EntitiesInput, type Entity } from '../../../src/hub/mqtt/entities.js';
import { Topics } from '../../../src/hub/mqtt/topics.js';
import { demoSnapshot, porchSnapshot, snapshotOf, type BoardSnapshot } from './demo-boards.js';

const HUB = 'a1b2c3d4e5f6';
const OTHER_HUB = '0f0f0f0f0f0f';
const DASHBOARD = 'http://127.0.0.1:8080/';
const VERSION = '0.1.0';

let demo: BoardSnapshot;
let porch: BoardSnapshot;

function mqttConfig(extra: Record<string, unknown> = {}): MqttConfig {
  return mqttSchema.parse({ url: 'mqtt://127.0.0.1:1883', ...extra });
}

function inputFor(snapshot: BoardSnapshot, options: { board?: string; hubId?: string; config?: MqttConfig; readingIntervalMs?: number } = {}): EntitiesInput {
  const hubId = options.hubId ?? HUB;
  const config = options.config ?? mqttConfig();
  return {
    board: options.board ?? snapshot.view.id,
    view: snapshot.view,
    info: snapshot.info,
    state: snapshot.state,
    sensors: snapshot.sensors,
    config,
    hubId,
    topics: new Topics(config.base_topic, config.discovery_prefix, hubId),
    readingIntervalMs: options.readingIntervalMs ?? 5000,
    dashboardUrl: DASHBOARD,
    version: VERSION,
  };
}

function entity(entities: Entity[], objectId: string): Entity {
  const found = entities.find((e) => e.objectId === objectId);
  assert.ok(found, `no entity ${objectId} among ${entities.map((e) => e.objectId).join(', ')}`);
  return found;
}

const availability = (board: string) => [
  { topic: 'tether/hub/availability', payload_available: 'online', payload_not_available: 'offline' },
  { topic: `tether/${board}/availability`, payload_available: 'online', payload_not_available: 'offline' },
];

const demoDevice = {
  identifiers: [`tether_${HUB}_demo`],
  name: 'demo',
  manufacturer: 'Tether',
  via_device: `tether_${HUB}`,
  configuration_url: `${DASHBOARD}#/board/demo`,
  model: 'Tether simulated board (demo bench)',
  sw_version: '0.1.0',
};
const origin = { name: 'Tether', sw_version: VERSION };

describe('the demo board in Home Assistant', { timeout: 60_000 }, () => {
  before(async () => {
    demo = await demoSnapshot();
    porch = await porchSnapshot();
  });

  test('every entity, nothing refused', () => {
    const { entities, refusals } = entitiesOf(inputFor(demo));
    assert.deepEqual(refusals, []);
    assert.deepEqual(
      entities.map((e) => `${e.component} ${e.objectId}`),
      [
        'switch pin_15',
        'number pin_18',
        'binary_sensor pin_22',
        'number pin_23',
        'switch pin_25',
        'sensor air_temperature',
        'sensor air_humidity',
        'sensor t_heater_temperature',
        'sensor t_sink_temperature',
        'sensor t_emc_temperature',
        'sensor t_emc_external_temperature',
        'sensor pt100_temperature',
        'sensor chip_temperature',
        'sensor signal',
        'sensor uptime',
        'button reset',
      ],
    );
    for (const e of entities) {
      assert.equal(e.topic, `homeassistant/${e.component}/${HUB}_demo/${e.objectId}/config`);
      assert.deepEqual(e.config['availability'], availability('demo'), e.objectId);
      assert.equal(e.config['availability_mode'], 'all');
      assert.deepEqual(e.config['device'], demoDevice, e.objectId);
      assert.deepEqual(e.config['origin'], origin);
      assert.equal(e.config['unique_id'], `tether_${HUB}_demo_${e.objectId}`);
      assert.equal(e.config['default_entity_id'], `${e.component}.demo_${e.objectId}`);
      assert.equal(e.config['object_id'], undefined, 'Home Assistant 2026.4 drops object_id');
    }
  });

  test('the relay: a switch held with the default lease', () => {
    const relay = entity(entitiesOf(inputFor(demo)).entities, 'pin_15');
    assert.equal(relay.pin, 15);
    assert.deepEqual(relay.holdable, { leaseS: 30, pwm: false, kind: 'switch' });
    assert.deepEqual(relay.config, {
      name: 'relay',
      unique_id: `tether_${HUB}_demo_pin_15`,
      default_entity_id: 'switch.demo_pin_15',
      availability: availability('demo'),
      availability_mode: 'all',
      device: demoDevice,
      origin,
      command_topic: 'tether/demo/pin/15/set',
      state_topic: 'tether/demo/pin/15/state',
      payload_on: 'ON',
      payload_off: 'OFF',
    });
    const led = entity(entitiesOf(inputFor(demo)).entities, 'pin_25');
    assert.equal(led.config['name'], 'led');
    assert.deepEqual(led.holdable, { leaseS: 30, pwm: false, kind: 'switch' });
  });

  test('fan and heater: numbers 0–100 %', () => {
    const { entities } = entitiesOf(inputFor(demo));
    for (const [objectId, pin, name] of [['pin_18', 18, 'fan'], ['pin_23', 23, 'heater']] as const) {
      const e = entity(entities, objectId);
      assert.equal(e.component, 'number');
      assert.deepEqual(e.holdable, { leaseS: 30, pwm: true, kind: 'number' });
      assert.equal(e.config['name'], name);
      assert.equal(e.config['command_topic'], `tether/demo/pin/${pin}/set`);
      assert.equal(e.config['state_topic'], `tether/demo/pin/${pin}/state`);
      assert.equal(e.config['min'], 0);
      assert.equal(e.config['max'], 100);
      assert.equal(e.config['unit_of_measurement'], '%');
      assert.equal(e.config['mode'], 'slider');
    }
  });

  test('the PIR input: a motion binary_sensor, not held', () => {
    const pir = entity(entitiesOf(inputFor(demo)).entities, 'pin_22');
    assert.equal(pir.component, 'binary_sensor');
    assert.equal(pir.pin, 22);
    assert.equal(pir.holdable, undefined);
    assert.equal(pir.config['device_class'], 'motion');
    assert.equal(pir.config['state_topic'], 'tether/demo/pin/22/state');
    assert.equal(pir.config['command_topic'], undefined);
    assert.equal(pir.config['name'], 'pir');
    const motion = entity(entitiesOf(inputFor(porch)).entities, 'pin_22');
    assert.equal(motion.config['device_class'], 'motion', 'named motion');
  });

  test('each sensor quantity: device_class, unit, measurement, three reading intervals to expire', () => {
    const { entities } = entitiesOf(inputFor(demo, { readingIntervalMs: 2500 }));
    const expected: [string, string, string, string, string][] = [
      // sensor, quantity, name, device_class, unit
      ['air', 'temperature', 'air temperature', 'temperature', '°C'],
      ['air', 'humidity', 'air humidity', 'humidity', '%'],
      ['t_heater', 'temperature', 't_heater temperature', 'temperature', '°C'],
      ['t_sink', 'temperature', 't_sink temperature', 'temperature', '°C'],
      ['t_emc', 'temperature', 't_emc temperature', 'temperature', '°C'],
      ['t_emc', 'external_temperature', 't_emc external temperature', 'temperature', '°C'],
      ['pt100', 'temperature', 'pt100 temperature', 'temperature', '°C'],
      ['chip', 'temperature', 'chip temperature', 'temperature', '°C'],
    ];
    for (const [sensor, quantity, name, deviceClass, unit] of expected) {
      const e = entity(entities, `${sensor}_${quantity}`);
      assert.equal(e.component, 'sensor');
      assert.equal(e.config['name'], name);
      assert.equal(e.config['state_topic'], `tether/demo/sensor/${sensor}/${quantity}`);
      assert.equal(e.config['device_class'], deviceClass);
      assert.equal(e.config['unit_of_measurement'], unit);
      assert.equal(e.config['state_class'], 'measurement');
      assert.equal(e.config['expire_after'], 8, '3 × 2.5 s, rounded up');
      assert.equal(e.config['entity_category'], undefined);
      assert.equal(e.pin, undefined);
    }
    assert.equal(entity(entitiesOf(inputFor(demo)).entities, 'chip_temperature').config['expire_after'], 15);
  });

  test('a meter is a growing total, and a unit Home Assistant does not take for a class drops the class, not the sensor', () => {
    const meter = { name: 'meter', driver: 'pulse', quantities: { energy: 'kWh', battery: 'V' } };
    const { entities } = entitiesOf({ ...inputFor(demo), sensors: [meter] });
    const energy = entity(entities, 'meter_energy').config;
    assert.deepEqual([energy['device_class'], energy['state_class'], energy['unit_of_measurement']], ['energy', 'total_increasing', 'kWh']);
    const battery = entity(entities, 'meter_battery').config;
    assert.deepEqual([battery['device_class'], battery['state_class'], battery['unit_of_measurement']], [undefined, 'measurement', 'V']);
  });

  test('quantities Home Assistant knows, and ones it does not', () => {
    assert.equal(quantityDeviceClass('temperature'), 'temperature');
    assert.equal(quantityDeviceClass('external_temperature'), 'temperature');
    assert.equal(quantityDeviceClass('humidity'), 'humidity');
    assert.equal(quantityDeviceClass('pressure'), 'pressure');
    assert.equal(quantityDeviceClass('voltage'), 'voltage');
    assert.equal(quantityDeviceClass('bus_voltage'), 'voltage');
    assert.equal(quantityDeviceClass('current'), 'current');
    assert.equal(quantityDeviceClass('power'), 'power');
    assert.equal(quantityDeviceClass('energy'), 'energy');
    // Home Assistant refuses a class with a unit it does not take for it: the sensor keeps no class.
    assert.equal(sensorDeviceClass('battery', 'V'), undefined);
    assert.equal(sensorDeviceClass('battery', '%'), 'battery');
    assert.equal(sensorDeviceClass('co2', 'ppm'), 'carbon_dioxide');
    assert.equal(sensorDeviceClass('temperature', '°C'), 'temperature');
    assert.equal(sensorDeviceClass('level', 'cm'), undefined, 'no class for a quantity Home Assistant has none for');
    assert.equal(quantityDeviceClass('lux'), 'illuminance');
    assert.equal(quantityDeviceClass('illuminance'), 'illuminance');
    assert.equal(quantityDeviceClass('co2'), 'carbon_dioxide');
    assert.equal(quantityDeviceClass('pm2_5'), 'pm25');
    assert.equal(quantityDeviceClass('rpm'), undefined);
    assert.equal(quantityDeviceClass('constructor'), undefined);
    assert.equal(expireAfterS(5000), 15);
    assert.equal(expireAfterS(100), 1);
    const odd = { ...demo, sensors: [{ name: 'spin', driver: 'x', quantities: { rpm: '' } }] };
    const rpm = entity(entitiesOf(inputFor(odd)).entities, 'spin_rpm');
    assert.equal(rpm.component, 'sensor', 'still a sensor');
    assert.equal(rpm.config['device_class'], undefined);
    assert.equal(rpm.config['unit_of_measurement'], undefined);
    assert.equal(rpm.config['state_class'], 'measurement');
  });

  test('signal and uptime are diagnostics; reset is a config button', () => {
    const { entities } = entitiesOf(inputFor(demo));
    const signal = entity(entities, 'signal');
    assert.equal(signal.config['state_topic'], 'tether/demo/signal');
    assert.equal(signal.config['device_class'], 'signal_strength');
    assert.equal(signal.config['unit_of_measurement'], 'dBm');
    assert.equal(signal.config['entity_category'], 'diagnostic');
    const uptime = entity(entities, 'uptime');
    assert.equal(uptime.config['state_topic'], 'tether/demo/uptime');
    assert.equal(uptime.config['device_class'], 'duration');
    assert.equal(uptime.config['unit_of_measurement'], 's');
    assert.equal(uptime.config['entity_category'], 'diagnostic');
    const reset = entity(entities, 'reset');
    assert.equal(reset.component, 'button');
    assert.equal(reset.config['command_topic'], 'tether/demo/reset/set');
    assert.equal(reset.config['payload_press'], 'PRESS');
    assert.equal(reset.config['device_class'], 'restart');
    assert.equal(reset.config['entity_category'], 'config');
  });

  test('a board without WiFi has no signal; one without get_info takes its name and firmware from the hub', () => {
    const wired = { ...demo, view: { ...demo.view, rssi: null, name: '', firmware: '0.0.9' }, info: null };
    const { entities } = entitiesOf(inputFor(wired));
    assert.equal(entities.find((e) => e.objectId === 'signal'), undefined);
    assert.deepEqual(entity(entities, 'uptime').config['device'], {
      identifiers: [`tether_${HUB}_demo`],
      name: 'demo',
      manufacturer: 'Tether',
      via_device: `tether_${HUB}`,
      configuration_url: `${DASHBOARD}#/board/demo`,
      sw_version: '0.0.9',
    });
  });

  test('unique_ids are stable, and distinct across boards and hubs', () => {
    const ids = (snapshot: BoardSnapshot, hubId: string) => entitiesOf(inputFor(snapshot, { hubId })).entities.map((e) => String(e.config['unique_id']));
    assert.deepEqual(ids(demo, HUB), ids(demo, HUB));
    const all = [...ids(demo, HUB), ...ids(porch, HUB), ...ids(demo, OTHER_HUB), ...ids(porch, OTHER_HUB), ...hubEntities(HUB, new Topics('tether', 'homeassistant', HUB), VERSION, DASHBOARD).map((e) => String(e.config['unique_id']))];
    assert.equal(new Set(all).size, all.length, 'no unique_id twice');
    assert.ok(ids(porch, OTHER_HUB).every((id) => id.startsWith(`tether_${OTHER_HUB}_porch_`)));
    const topics = [...entitiesOf(inputFor(demo)).entities, ...entitiesOf(inputFor(porch)).entities, ...entitiesOf(inputFor(demo, { hubId: OTHER_HUB })).entities].map((e) => e.topic);
    assert.equal(new Set(topics).size, topics.length, 'no discovery topic twice');
  });

  test('the porch: a lamp switch, a motion sensor and its chip', () => {
    const { entities, refusals } = entitiesOf(inputFor(porch));
    assert.deepEqual(refusals, []);
    assert.deepEqual(entities.map((e) => `${e.component} ${e.objectId}`), ['binary_sensor pin_22', 'switch pin_25', 'sensor chip_temperature', 'sensor signal', 'sensor uptime', 'button reset']);
    assert.equal(entity(entities, 'pin_25').config['name'], 'lamp');
    assert.deepEqual(entity(entities, 'reset').config['device'], {
      identifiers: [`tether_${HUB}_porch`],
      name: 'porch',
      manufacturer: 'Tether',
      via_device: `tether_${HUB}`,
      configuration_url: `${DASHBOARD}#/board/porch`,
      model: 'Tether simulated board (porch)',
      sw_version: '0.1.0',
    });
  });

  test('a board id with . : node ids sanitized, state topics and unique_ids as the id is', () => {
    const { entities } = entitiesOf(inputFor(porch, { board: 'lab.porch-2' }));
    const lamp = entity(entities, 'pin_25');
    assert.equal(lamp.topic, `homeassistant/switch/${HUB}_lab_porch-2/pin_25/config`);
    assert.equal(lamp.config['command_topic'], 'tether/lab.porch-2/pin/25/set');
    assert.equal(lamp.config['unique_id'], `tether_${HUB}_lab.porch-2_pin_25`);
    assert.equal(lamp.config['default_entity_id'], 'switch.lab_porch_2_pin_25');
    assert.deepEqual(lamp.config['availability'], availability('lab.porch-2'));
    const device = lamp.config['device'] as Record<string, unknown>;
    assert.deepEqual(device['identifiers'], [`tether_${HUB}_lab.porch-2`]);
    assert.equal(device['configuration_url'], `${DASHBOARD}#/board/lab.porch-2`);
    assert.equal(entitySlug('A..b__C-'), 'a_b_c');
  });

  test('the board id hub is not bridged, and says why', () => {
    const { entities, refusals } = entitiesOf(inputFor(porch, { board: 'hub' }));
    assert.deepEqual(entities, []);
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]?.pin, null);
    assert.match(refusals[0]?.message ?? '', /board "hub" is not bridged to MQTT.*tether\/hub\/availability.*another id/);
  });
});

describe('the mqtt config section', { timeout: 60_000 }, () => {
  before(async () => {
    demo ??= await demoSnapshot();
    porch ??= await porchSnapshot();
  });

  test('boards: a list leaves the others out', () => {
    const config = mqttConfig({ boards: ['demo'] });
    assert.ok(entitiesOf(inputFor(demo, { config })).entities.length > 0);
    assert.deepEqual(entitiesOf(inputFor(porch, { config })), { entities: [], refusals: [] });
  });

  test('pins: hidden by number or by name', () => {
    const config = mqttConfig({ pins: { demo: { '25': { expose: false }, heater: { expose: false } } } });
    const { entities, refusals } = entitiesOf(inputFor(demo, { config }));
    assert.deepEqual(refusals, []);
    const pins = entities.filter((e) => e.pin !== undefined).map((e) => e.pin);
    assert.deepEqual(pins, [15, 18, 22]);
  });

  test('pins: hidden when either its number or its name says so', () => {
    const config = mqttConfig({ pins: { demo: { led: { expose: false }, '25': { as: 'light' } } } });
    assert.equal(entitiesOf(inputFor(demo, { config })).entities.find((e) => e.pin === 25), undefined);
  });

  test('as: a PWM fan with a speed, a PWM light with brightness, a digital light', () => {
    const config = mqttConfig({ pins: { demo: { fan: { as: 'fan' }, '23': { as: 'light' }, led: { as: 'light' }, relay: { as: 'fan' } } } });
    const { entities, refusals } = entitiesOf(inputFor(demo, { config }));
    assert.deepEqual(refusals, []);
    const fan = entity(entities, 'pin_18');
    assert.equal(fan.component, 'fan');
    assert.equal(fan.topic, `homeassistant/fan/${HUB}_demo/pin_18/config`);
    assert.deepEqual(fan.holdable, { leaseS: 30, pwm: true, kind: 'fan' });
    assert.equal(fan.config['command_topic'], 'tether/demo/pin/18/set');
    assert.equal(fan.config['state_topic'], 'tether/demo/pin/18/state');
    assert.equal(fan.config['percentage_command_topic'], 'tether/demo/pin/18/percentage/set');
    assert.equal(fan.config['percentage_state_topic'], 'tether/demo/pin/18/percentage');
    assert.equal(fan.config['speed_range_min'], 1);
    assert.equal(fan.config['speed_range_max'], 100);
    assert.equal(fan.config['payload_on'], 'ON');
    const heater = entity(entities, 'pin_23');
    assert.equal(heater.component, 'light');
    assert.equal(heater.config['schema'], 'json');
    assert.deepEqual(heater.config['supported_color_modes'], ['brightness']);
    assert.equal(heater.config['brightness_scale'], 255);
    assert.deepEqual(heater.holdable, { leaseS: 30, pwm: true, kind: 'light' });
    const led = entity(entities, 'pin_25');
    assert.equal(led.component, 'light');
    assert.deepEqual(led.config['supported_color_modes'], ['onoff']);
    assert.equal(led.config['brightness_scale'], undefined);
    const relayFan = entity(entities, 'pin_15');
    assert.equal(relayFan.component, 'fan');
    assert.equal(relayFan.config['percentage_command_topic'], undefined, 'a digital fan has no speed');
  });

  test('as that does not fit the pin: the default, and a note', () => {
    const config = mqttConfig({ pins: { demo: { fan: { as: 'switch' }, relay: { as: 'number' }, pir: { as: 'light', lease_s: 5 } } } });
    const { entities, refusals } = entitiesOf(inputFor(demo, { config }));
    assert.equal(entity(entities, 'pin_18').component, 'number');
    assert.equal(entity(entities, 'pin_15').component, 'switch');
    assert.equal(entity(entities, 'pin_22').component, 'binary_sensor');
    assert.deepEqual(
      refusals.map((r) => r.pin),
      [15, 18, 22, 22],
    );
    assert.match(refusals[0]?.message ?? '', /demo pin 15 \(relay\): as: number does not fit a digital output .* shown as a switch/);
    assert.match(refusals[1]?.message ?? '', /demo pin 18 \(fan\): as: switch does not fit a PWM output .* shown as a number/);
    assert.match(refusals[2]?.message ?? '', /as: light is ignored: an input is a binary_sensor/);
    assert.match(refusals[3]?.message ?? '', /lease_s is ignored/);
  });

  test('device_class: for inputs and switches, when Home Assistant knows it', () => {
    const config = mqttConfig({ pins: { porch: { motion: { device_class: 'occupancy' }, lamp: { device_class: 'outlet' } }, demo: { pir: { device_class: 'doorbell' }, fan: { device_class: 'outlet' } } } });
    const porchEntities = entitiesOf(inputFor(porch, { config }));
    assert.deepEqual(porchEntities.refusals, []);
    assert.equal(entity(porchEntities.entities, 'pin_22').config['device_class'], 'occupancy', 'the config wins over the name');
    assert.equal(entity(porchEntities.entities, 'pin_25').config['device_class'], 'outlet');
    const demoEntities = entitiesOf(inputFor(demo, { config }));
    assert.equal(entity(demoEntities.entities, 'pin_22').config['device_class'], 'motion', 'an unknown class falls back to the name');
    assert.equal(entity(demoEntities.entities, 'pin_18').config['device_class'], undefined);
    assert.deepEqual(demoEntities.refusals.map((r) => r.pin), [18, 22]);
    assert.match(demoEntities.refusals[1]?.message ?? '', /device_class doorbell is not one Home Assistant knows for a binary_sensor/);
  });

  test('an input named neither pir nor motion has no device_class', () => {
    const state = { ...porch.state, pins: porch.state.pins.map((p) => (p.mode === 'input' ? { ...p, name: 'spirit' } : p)) };
    assert.equal(entity(entitiesOf(inputFor({ ...porch, state })).entities, 'pin_22').config['device_class'], undefined);
    const pir2 = { ...porch.state, pins: porch.state.pins.map((p) => (p.mode === 'input' ? { ...p, name: 'hall_pir2' } : p)) };
    assert.equal(entity(entitiesOf(inputFor({ ...porch, state: pir2 })).entities, 'pin_22').config['device_class'], 'motion');
  });

  test('sensors: hidden by name', () => {
    const config = mqttConfig({ sensors: { demo: { chip: { expose: false }, air: { expose: true } } } });
    const { entities, refusals } = entitiesOf(inputFor(demo, { config }));
    assert.deepEqual(refusals, []);
    assert.equal(entities.find((e) => e.objectId === 'chip_temperature'), undefined);
    assert.ok(entities.find((e) => e.objectId === 'air_humidity'));
  });

  test('a setting that names no pin or sensor is reported', () => {
    const config = mqttConfig({ pins: { porch: { lmap: { as: 'light' } } }, sensors: { porch: { air: { expose: false } } } });
    const { refusals } = entitiesOf(inputFor(porch, { config }));
    assert.deepEqual(refusals, [
      { pin: null, message: 'mqtt.pins.porch.lmap matches no pin of porch by number or name (its pins: 22 (motion), 25 (lamp))' },
      { pin: null, message: 'mqtt.sensors.porch.air matches no sensor of porch (its sensors: chip)' },
    ]);
  });

  test('lease_s for one pin, from mqtt.pins, instead of mqtt.lease_s', () => {
    const config = mqttConfig({ lease_s: 20, pins: { demo: { heater: { lease_s: 8 } } } });
    const { entities } = entitiesOf(inputFor(demo, { config }));
    assert.equal(entity(entities, 'pin_23').holdable?.leaseS, 8);
    assert.equal(entity(entities, 'pin_18').holdable?.leaseS, 20);
  });

  test('an output whose max_lease_s is shorter than its lease is refused, saying what to change', () => {
    const config = mqttConfig({ pins: { demo: { relay: { lease_s: 900 } } } });
    const { entities, refusals } = entitiesOf(inputFor(demo, { config }));
    assert.equal(entities.find((e) => e.pin === 15), undefined);
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]?.pin, 15);
    assert.equal(
      refusals[0]?.message,
      'demo pin 15 (relay) is not offered to MQTT: the board allows it a lease of at most 600 s (max_lease_s) and the hub would hold it with 900 s; set lease_s: 600 or less under mqtt.pins.demo.relay, or raise the pin\'s max_lease_s in the board\'s config',
    );
    const equal = mqttConfig({ pins: { demo: { '15': { lease_s: 600 } } } });
    assert.equal(entity(entitiesOf(inputFor(demo, { config: equal })).entities, 'pin_15').holdable?.leaseS, 600, 'a lease equal to the maximum is allowed');
  });

  test('a board whose own max_lease_s is under the default lease', { timeout: 30_000 }, async () => {
    const short = await snapshotOf(
      { ...DEMO_BOARD_CONFIG, listen: { host: '127.0.0.1', port: 0 }, actuators: DEMO_BOARD_CONFIG.actuators.map((a) => (a.name === 'heater' ? { ...a, max_lease_s: 10 } : a)) },
      'bench',
    );
    const { entities, refusals } = entitiesOf(inputFor(short));
    assert.equal(entities.find((e) => e.pin === 23), undefined);
    assert.deepEqual(refusals.map((r) => r.pin), [23]);
    assert.match(refusals[0]?.message ?? '', /^bench pin 23 \(heater\) is not offered .* at most 10 s .* with 30 s; set lease_s: 10 or less under mqtt\.pins\.bench\.heater/);
    const fixed = mqttConfig({ pins: { bench: { heater: { lease_s: 9 } } } });
    assert.deepEqual(entity(entitiesOf(inputFor(short, { config: fixed })).entities, 'pin_23').holdable, { leaseS: 9, pwm: true, kind: 'number' });
  });

  test('a custom base topic and discovery prefix', () => {
    const config = mqttConfig({ base_topic: 'home/tether', discovery_prefix: 'ha' });
    const relay = entity(entitiesOf(inputFor(demo, { config })).entities, 'pin_15');
    assert.equal(relay.topic, `ha/switch/${HUB}_demo/pin_15/config`);
    assert.equal(relay.config['command_topic'], 'home/tether/demo/pin/15/set');
    assert.deepEqual((relay.config['availability'] as { topic: string }[]).map((a) => a.topic), ['home/tether/hub/availability', 'home/tether/demo/availability']);
  });
});

test('the hub device and its boards online sensor', { timeout: 30_000 }, () => {
  const topics = new Topics('tether', 'homeassistant', HUB);
  assert.deepEqual(hubEntities(HUB, topics, '1.2.3', DASHBOARD), [
    {
      component: 'sensor',
      objectId: 'boards_online',
      topic: `homeassistant/sensor/${HUB}_hub/boards_online/config`,
      config: {
        name: 'boards online',
        unique_id: `tether_${HUB}_boards_online`,
        default_entity_id: `sensor.tether_${HUB}_boards_online`,
        state_topic: 'tether/hub/boards_online',
        state_class: 'measurement',
        icon: 'mdi:developer-board',
        availability: [{ topic: 'tether/hub/availability', payload_available: 'online', payload_not_available: 'offline' }],
        availability_mode: 'all',
        device: { identifiers: [`tether_${HUB}`], name: `Tether hub ${HUB}`, model: 'Tether hub', manufacturer: 'Tether', sw_version: '1.2.3', configuration_url: DASHBOARD },
        origin: { name: 'Tether', sw_version: '1.2.3' },
      },
    },
  ]);
});
