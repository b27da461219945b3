// Home Assistant's view of a board: one discovery config per entity (docs/mqtt.md "Home Assistant
// discovery", "Which boards and pins"), built from the board's typed state and the mqtt config
// section. No I/O: the bridge publishes each config, retained, on the entity's topic, and logs
// the refusals.
import type { BoardInfo, BoardState, PinState, SensorSpec } from '../../protocol/replies.js';
import type { DeviceView } from '../types.js';
import type { MqttConfig, OutputKind, PinSettings } from './config.js';
import { kindFits, outputKind } from './payloads.js';
import { HUB_BOARD_ID, type Topics } from './topics.js';

export type Component = 'switch' | 'number' | 'light' | 'fan' | 'binary_sensor' | 'sensor' | 'button';

export interface Entity {
  component: Component;
  objectId: string;
  /** Its discovery config topic. */
  topic: string;
  /** The JSON payload of its discovery config. */
  config: Record<string, unknown>;
  /** The pin it shows, for an output or an input. */
  pin?: number;
  /** An output the hub holds under a lease it renews (docs/mqtt.md "On and off are leases"). */
  holdable?: { leaseS: number; pwm: boolean; kind: OutputKind };
}

/** Something the bridge leaves out or changes and says so in its log: an output it cannot hold, a setting that fits nothing. */
export interface Refusal {
  /** The pin concerned, or null for the board or a setting as a whole. */
  pin: number | null;
  message: string;
}

export interface EntitiesInput {
  board: string;
  view: DeviceView;
  info: BoardInfo | null;
  state: BoardState;
  sensors: SensorSpec[];
  config: MqttConfig;
  hubId: string;
  topics: Topics;
  /** How often the hub reads this board's sensors (a reading older than three of these is stale). */
  readingIntervalMs: number;
  dashboardUrl: string;
  /** The hub's version, for the origin block. */
  version: string;
}

const MANUFACTURER = 'Tether';
const ONLINE = 'online';
const OFFLINE = 'offline';

// Home Assistant rejects a whole config whose device_class it does not know, so a class from
// mqtt.pins is checked here and dropped with a note instead.
const BINARY_SENSOR_CLASSES = new Set([
  'battery', 'battery_charging', 'carbon_monoxide', 'cold', 'connectivity', 'door', 'garage_door', 'gas', 'heat', 'light', 'lock',
  'moisture', 'motion', 'moving', 'occupancy', 'opening', 'plug', 'power', 'presence', 'problem', 'running', 'safety', 'smoke',
  'sound', 'tamper', 'update', 'vibration', 'window',
]);
const SWITCH_CLASSES = new Set(['outlet', 'switch']);
const MOTION_NAME = /(?:^|[^a-z])(?:pir|motion)(?:$|[^a-z])/i;

// A sensor quantity's Home Assistant device_class; `<anything>_<quantity>` (external_temperature,
// soil_moisture) takes its last word's.
const QUANTITY_CLASSES: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  humidity: 'humidity',
  pressure: 'pressure',
  atmospheric_pressure: 'atmospheric_pressure',
  voltage: 'voltage',
  current: 'current',
  power: 'power',
  energy: 'energy',
  illuminance: 'illuminance',
  lux: 'illuminance',
  co2: 'carbon_dioxide',
  carbon_dioxide: 'carbon_dioxide',
  co: 'carbon_monoxide',
  carbon_monoxide: 'carbon_monoxide',
  pm1: 'pm1',
  pm25: 'pm25',
  pm2_5: 'pm25',
  pm10: 'pm10',
  voc: 'volatile_organic_compounds',
  moisture: 'moisture',
  distance: 'distance',
  frequency: 'frequency',
  battery: 'battery',
  weight: 'weight',
};

// The units Home Assistant takes for each class; a sensor whose unit is not among them is refused
// whole, so it is shown without a class instead (a battery in volts, a distance in steps).
const PRESSURE_UNITS = ['Pa', 'hPa', 'kPa', 'bar', 'cbar', 'mbar', 'mmHg', 'inHg', 'psi'];
const CLASS_UNITS: Readonly<Record<string, readonly string[]>> = {
  temperature: ['°C', '°F', 'K'],
  humidity: ['%'],
  moisture: ['%'],
  battery: ['%'],
  pressure: PRESSURE_UNITS,
  atmospheric_pressure: PRESSURE_UNITS,
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  current: ['A', 'mA'],
  power: ['W', 'kW', 'mW', 'MW', 'GW', 'TW', 'BTU/h'],
  energy: ['Wh', 'kWh', 'mWh', 'MWh', 'GWh', 'TWh', 'J', 'kJ', 'MJ', 'GJ', 'cal', 'kcal', 'Mcal', 'Gcal'],
  illuminance: ['lx'],
  carbon_dioxide: ['ppm'],
  carbon_monoxide: ['ppm'],
  pm1: ['µg/m³'],
  pm25: ['µg/m³'],
  pm10: ['µg/m³'],
  volatile_organic_compounds: ['µg/m³', 'mg/m³'],
  distance: ['km', 'm', 'cm', 'mm', 'mi', 'nmi', 'yd', 'in', 'ft'],
  frequency: ['Hz', 'kHz', 'MHz', 'GHz'],
  weight: ['kg', 'g', 'mg', 'µg', 'oz', 'lb', 'st'],
};
/** A meter's reading only grows; Home Assistant refuses `measurement` for these. */
const TOTAL_CLASSES = new Set(['energy']);

/** The device_class a sensor gets: the quantity's, when Home Assistant takes its unit for that class. */
export function sensorDeviceClass(quantity: string, unit: string): string | undefined {
  const deviceClass = quantityDeviceClass(quantity);
  if (deviceClass === undefined) return undefined;
  const units = CLASS_UNITS[deviceClass];
  return units === undefined || units.includes(unit) ? deviceClass : undefined;
}

/** `tether_<hub id>_<board>_<object id>`: stable across restarts, renames and upgrades, and unique per hub. */
export function uniqueId(hubId: string, board: string, objectId: string): string {
  return `tether_${hubId}_${board}_${objectId}`;
}

/** The device_class of a sensor quantity, or undefined when Home Assistant has none for it. */
export function quantityDeviceClass(quantity: string): string | undefined {
  const q = quantity.toLowerCase();
  if (Object.hasOwn(QUANTITY_CLASSES, q)) return QUANTITY_CLASSES[q];
  const last = q.slice(q.lastIndexOf('_') + 1);
  return Object.hasOwn(QUANTITY_CLASSES, last) ? QUANTITY_CLASSES[last] : undefined;
}

/** Seconds after which Home Assistant shows a sensor unknown: three reading intervals. */
export function expireAfterS(readingIntervalMs: number): number {
  return Math.ceil((3 * readingIntervalMs) / 1000);
}

/** Whether the bridge shows this board at all (mqtt.boards; never the id `hub`). */
export function boardExposed(config: Pick<MqttConfig, 'boards'>, board: string): boolean {
  return board !== HUB_BOARD_ID && (config.boards === 'all' || config.boards.includes(board));
}

/** Whether the bridge shows this sensor of a shown board (mqtt.sensors … expose). */
export function sensorExposed(config: Pick<MqttConfig, 'sensors'>, board: string, sensor: string): boolean {
  return ownEntry(ownEntry(config.sensors, board) ?? {}, sensor)?.expose !== false;
}

/** Every entity of one board, and what was left out and why. */
export function entitiesOf(input: EntitiesInput): { entities: Entity[]; refusals: Refusal[] } {
  const { board, config } = input;
  if (board === HUB_BOARD_ID) {
    return { entities: [], refusals: [{ pin: null, message: `board "${HUB_BOARD_ID}" is not bridged to MQTT: its topics would be the hub's own (${input.topics.hubAvailability()}); give the board another id to see it in Home Assistant` }] };
  }
  if (!boardExposed(config, board)) return { entities: [], refusals: [] };
  const b = new BoardEntities(input);
  for (const pin of input.state.pins) b.addPin(pin);
  for (const spec of input.sensors) b.addSensor(spec);
  b.addDiagnostics();
  b.noteUnmatchedSettings();
  return { entities: b.entities, refusals: b.refusals };
}

/** The hub itself as a Home Assistant device, with its `boards online` sensor. */
export function hubEntities(hubId: string, topics: Topics, version: string, dashboardUrl: string): Entity[] {
  const objectId = 'boards_online';
  const config = {
    name: 'boards online',
    unique_id: `tether_${hubId}_${objectId}`,
    default_entity_id: `sensor.${entitySlug(`tether_${hubId}_${objectId}`)}`,
    state_topic: topics.boardsOnline(),
    state_class: 'measurement',
    icon: 'mdi:developer-board',
    availability: [availability(topics.hubAvailability())],
    availability_mode: 'all',
    device: {
      identifiers: [hubIdentifier(hubId)],
      name: `Tether hub ${hubId}`,
      model: 'Tether hub',
      manufacturer: MANUFACTURER,
      sw_version: version,
      configuration_url: dashboardUrl,
    },
    origin: origin(version),
  };
  return [{ component: 'sensor', objectId, topic: topics.hubDiscovery('sensor', objectId), config }];
}

class BoardEntities {
  readonly entities: Entity[] = [];
  readonly refusals: Refusal[] = [];
  private readonly pinSettings: Readonly<Record<string, PinSettings>>;
  private readonly sensorSettings: Readonly<Record<string, { expose: boolean }>>;
  private readonly usedPinKeys = new Set<string>();
  private readonly usedSensorKeys = new Set<string>();

  constructor(private readonly input: EntitiesInput) {
    this.pinSettings = ownEntry(input.config.pins, input.board) ?? {};
    this.sensorSettings = ownEntry(input.config.sensors, input.board) ?? {};
  }

  addPin(pin: PinState): void {
    const settings = this.settingsOf(pin);
    if (!settings.expose) return;
    if (pin.mode === 'input') {
      this.addInput(pin, settings);
      return;
    }
    const pwm = pin.mode === 'pwm';
    const where = this.pinLabel(pin);
    if (settings.as !== undefined && !kindFits(pwm, settings.as)) {
      this.refuse(pin.pin, `${where}: as: ${settings.as} does not fit a ${pwm ? 'PWM' : 'digital'} output (${pwm ? 'number, light or fan' : 'switch, light or fan'} do); it is shown as a ${outputKind(pwm)}`);
    }
    const kind = outputKind(pwm, settings.as);
    const leaseS = settings.lease_s ?? this.input.config.lease_s;
    if (pin.maxLeaseS < leaseS) {
      const key = this.settingsPath(pin);
      this.refuse(
        pin.pin,
        `${where} is not offered to MQTT: the board allows it a lease of at most ${pin.maxLeaseS} s (max_lease_s) and the hub would hold it with ${leaseS} s; ` +
          `set lease_s: ${pin.maxLeaseS} or less under ${key}, or raise the pin's max_lease_s in the board's config`,
      );
      return;
    }
    const config: Record<string, unknown> = { ...this.common(kind, pinObjectId(pin.pin), pinName(pin)), ...outputTopics(this.input.topics, this.input.board, pin.pin, kind, pwm) };
    if (settings.device_class !== undefined) {
      if (kind === 'switch' && SWITCH_CLASSES.has(settings.device_class)) config['device_class'] = settings.device_class;
      else this.refuse(pin.pin, `${where}: device_class ${settings.device_class} is ignored (a switch takes outlet or switch; a ${kind} none)`);
    }
    this.push(kind, pinObjectId(pin.pin), config, { pin: pin.pin, holdable: { leaseS, pwm, kind } });
  }

  addSensor(spec: SensorSpec): void {
    if (ownEntry(this.sensorSettings, spec.name) !== undefined) this.usedSensorKeys.add(spec.name);
    if (!sensorExposed(this.input.config, this.input.board, spec.name)) return;
    const { topics, board, readingIntervalMs } = this.input;
    for (const [quantity, unit] of Object.entries(spec.quantities)) {
      const objectId = `${spec.name}_${quantity}`;
      const config: Record<string, unknown> = {
        ...this.common('sensor', objectId, `${spec.name} ${quantity.replaceAll('_', ' ')}`),
        state_topic: topics.sensor(board, spec.name, quantity),
        expire_after: expireAfterS(readingIntervalMs),
      };
      const deviceClass = sensorDeviceClass(quantity, unit);
      config['state_class'] = deviceClass !== undefined && TOTAL_CLASSES.has(deviceClass) ? 'total_increasing' : 'measurement';
      if (deviceClass !== undefined) config['device_class'] = deviceClass;
      if (unit !== '') config['unit_of_measurement'] = unit;
      this.push('sensor', objectId, config);
    }
  }

  addDiagnostics(): void {
    const { topics, board, info, view } = this.input;
    if ((info?.rssi ?? view.rssi) !== null) {
      this.push('sensor', 'signal', {
        ...this.common('sensor', 'signal', 'signal'),
        state_topic: topics.signal(board),
        device_class: 'signal_strength',
        unit_of_measurement: 'dBm',
        state_class: 'measurement',
        entity_category: 'diagnostic',
      });
    }
    this.push('sensor', 'uptime', {
      ...this.common('sensor', 'uptime', 'uptime'),
      state_topic: topics.uptime(board),
      device_class: 'duration',
      unit_of_measurement: 's',
      entity_category: 'diagnostic',
    });
    this.push('button', 'reset', {
      ...this.common('button', 'reset', 'reset'),
      command_topic: topics.resetSet(board),
      payload_press: 'PRESS',
      device_class: 'restart',
      entity_category: 'config',
    });
  }

  /** A setting under mqtt.pins or mqtt.sensors that names nothing on the board is most likely a typo: say so. */
  noteUnmatchedSettings(): void {
    const { board, state, sensors } = this.input;
    const pins = state.pins.map((p) => (p.name === undefined ? String(p.pin) : `${p.pin} (${p.name})`)).join(', ');
    for (const key of Object.keys(this.pinSettings)) {
      if (!this.usedPinKeys.has(key)) this.refuse(null, `mqtt.pins.${board}.${key} matches no pin of ${board} by number or name (its pins: ${pins || 'none'})`);
    }
    const names = sensors.map((s) => s.name).join(', ');
    for (const key of Object.keys(this.sensorSettings)) {
      if (!this.usedSensorKeys.has(key)) this.refuse(null, `mqtt.sensors.${board}.${key} matches no sensor of ${board} (its sensors: ${names || 'none'})`);
    }
  }

  private addInput(pin: PinState, settings: PinSettings): void {
    const where = this.pinLabel(pin);
    if (settings.as !== undefined) this.refuse(pin.pin, `${where}: as: ${settings.as} is ignored: an input is a binary_sensor`);
    if (settings.lease_s !== undefined) this.refuse(pin.pin, `${where}: lease_s is ignored: an input holds no lease`);
    const objectId = pinObjectId(pin.pin);
    const config: Record<string, unknown> = {
      ...this.common('binary_sensor', objectId, pinName(pin)),
      state_topic: this.input.topics.pinState(this.input.board, pin.pin),
      payload_on: 'ON',
      payload_off: 'OFF',
    };
    let deviceClass = settings.device_class;
    if (deviceClass !== undefined && !BINARY_SENSOR_CLASSES.has(deviceClass)) {
      this.refuse(pin.pin, `${where}: device_class ${deviceClass} is not one Home Assistant knows for a binary_sensor (motion, door, window, occupancy, …); it is left out`);
      deviceClass = undefined;
    }
    if (deviceClass === undefined && pin.name !== undefined && MOTION_NAME.test(pin.name)) deviceClass = 'motion';
    if (deviceClass !== undefined) config['device_class'] = deviceClass;
    this.push('binary_sensor', objectId, config, { pin: pin.pin });
  }

  /** mqtt.pins.<board>.<number> and .<name> together; a pin is hidden when either says expose: false. */
  private settingsOf(pin: PinState): PinSettings {
    const byName = pin.name === undefined ? undefined : ownEntry(this.pinSettings, pin.name);
    const byNumber = ownEntry(this.pinSettings, String(pin.pin));
    if (byName !== undefined && pin.name !== undefined) this.usedPinKeys.add(pin.name);
    if (byNumber !== undefined) this.usedPinKeys.add(String(pin.pin));
    const pick = <K extends 'as' | 'device_class' | 'lease_s'>(k: K): PinSettings[K] | undefined => byNumber?.[k] ?? byName?.[k];
    const settings: PinSettings = { expose: (byName?.expose ?? true) && (byNumber?.expose ?? true) };
    const as = pick('as');
    const deviceClass = pick('device_class');
    const leaseS = pick('lease_s');
    if (as !== undefined) settings.as = as;
    if (deviceClass !== undefined) settings.device_class = deviceClass;
    if (leaseS !== undefined) settings.lease_s = leaseS;
    return settings;
  }

  private settingsPath(pin: PinState): string {
    const key = pin.name !== undefined && ownEntry(this.pinSettings, String(pin.pin)) === undefined ? pin.name : String(pin.pin);
    return `mqtt.pins.${this.input.board}.${key}`;
  }

  private pinLabel(pin: PinState): string {
    return `${this.input.board} pin ${pin.pin}${pin.name === undefined ? '' : ` (${pin.name})`}`;
  }

  private common(component: Component, objectId: string, name: string): Record<string, unknown> {
    const { hubId, board, topics } = this.input;
    return {
      name,
      unique_id: uniqueId(hubId, board, objectId),
      // Home Assistant 2025.10 and later take the first entity id from this (object_id before).
      default_entity_id: `${component}.${entitySlug(`${board}_${objectId}`)}`,
      availability: [availability(topics.hubAvailability()), availability(topics.board(board).availability)],
      availability_mode: 'all',
      device: this.device(),
      origin: origin(this.input.version),
    };
  }

  private device(): Record<string, unknown> {
    const { hubId, board, view, info, dashboardUrl } = this.input;
    const device: Record<string, unknown> = {
      identifiers: [`tether_${hubId}_${board}`],
      name: view.name !== '' ? view.name : board,
      manufacturer: MANUFACTURER,
      via_device: hubIdentifier(hubId),
      configuration_url: `${dashboardUrl}#/board/${encodeURIComponent(board)}`,
    };
    if (info !== null && info.board !== '') device['model'] = info.board;
    const firmware = info !== null && info.firmwareVersion !== '' ? info.firmwareVersion : view.firmware;
    if (firmware !== '') device['sw_version'] = firmware;
    return device;
  }

  private push(component: Component, objectId: string, config: Record<string, unknown>, extra: Pick<Entity, 'pin' | 'holdable'> = {}): void {
    this.entities.push({ component, objectId, topic: this.input.topics.discovery(component, this.input.board, objectId), config, ...extra });
  }

  private refuse(pin: number | null, message: string): void {
    this.refusals.push({ pin, message });
  }
}

function outputTopics(topics: Topics, board: string, pin: number, kind: OutputKind, pwm: boolean): Record<string, unknown> {
  const onOff = { command_topic: topics.pinSet(board, pin), state_topic: topics.pinState(board, pin) };
  switch (kind) {
    case 'switch':
      return { ...onOff, payload_on: 'ON', payload_off: 'OFF' };
    case 'number':
      return { ...onOff, min: 0, max: 100, step: 1, mode: 'slider', unit_of_measurement: '%' };
    case 'light':
      return { ...onOff, schema: 'json', supported_color_modes: [pwm ? 'brightness' : 'onoff'], ...(pwm ? { brightness_scale: 255 } : {}) };
    case 'fan':
      return {
        ...onOff,
        payload_on: 'ON',
        payload_off: 'OFF',
        ...(pwm ? { percentage_command_topic: topics.pinPercentageSet(board, pin), percentage_state_topic: topics.pinPercentage(board, pin), speed_range_min: 1, speed_range_max: 100 } : {}),
      };
  }
}

function availability(topic: string): Record<string, string> {
  return { topic, payload_available: ONLINE, payload_not_available: OFFLINE };
}

function origin(version: string): Record<string, string> {
  return { name: 'Tether', sw_version: version };
}

function hubIdentifier(hubId: string): string {
  return `tether_${hubId}`;
}

function pinObjectId(pin: number): string {
  return `pin_${pin}`;
}

function pinName(pin: PinState): string {
  return pin.name ?? `pin ${pin.pin}`;
}

/** An entity id's object part as Home Assistant accepts it: lowercase letters, digits and single inner `_`. */
export function entitySlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
