// The replies the hub and its modules read, typed once (protocol.md §5.3 get_info, §5.12
// list_sensors, §5.16 get_state): the hub's state model, MQTT discovery and the rules all read a
// board through these rather than each picking fields out of JSON. The parsers are lenient the
// way a reader of a newer board must be: unknown fields are ignored, a malformed item is skipped,
// and only what a field's type promises is kept.
import { isNumber, isObject, type JsonObject } from './json.js';

/** A lease as get_state reports it (§4, §5.16). */
export interface LeaseState {
  value: number;
  safeValue: number;
  expiresInS: number;
}

interface PinBase {
  pin: number;
  /** The name the board config gives it (`relay`, `fan`), when it has one. */
  name?: string;
}

export interface InputPinState extends PinBase {
  mode: 'input';
  pull: 'up' | 'down' | 'none';
  /** Its level, 0 or 1. */
  value: number;
}

export interface OutputPinState extends PinBase {
  mode: 'output';
  value: number;
  safeValue: number;
  activeLow: boolean;
  maxLeaseS: number;
  lease: LeaseState | null;
}

export interface PwmPinState extends PinBase {
  mode: 'pwm';
  freq: number;
  /** 0–1. */
  duty: number;
  safeValue: number;
  maxLeaseS: number;
  lease: LeaseState | null;
}

export type PinState = InputPinState | OutputPinState | PwmPinState;

/** get_state (§5.16), or the `state` event of a link (§10.4). */
export interface BoardState {
  pins: PinState[];
  sensors: string[];
  bootId: string | null;
  uptimeS: number | null;
}

/** One configured sensor (§5.12). */
export interface SensorSpec {
  name: string;
  driver: string;
  /** quantity → unit, e.g. { temperature: "°C", humidity: "%" }. */
  quantities: Record<string, string>;
}

/** get_info's `info` (§5.3), the fields a hub shows. */
export interface BoardInfo {
  name: string;
  board: string;
  platform: string;
  firmwareVersion: string;
  bootId: string | null;
  uptimeS: number | null;
  capabilities: string[];
  rssi: number | null;
}

export function parseBoardState(body: JsonObject): BoardState {
  const pins: PinState[] = [];
  for (const item of arrayOf(body['pins'])) {
    const pin = parsePin(item);
    if (pin !== undefined) pins.push(pin);
  }
  return {
    pins,
    sensors: arrayOf(body['sensors']).filter((s): s is string => typeof s === 'string'),
    bootId: stringOr(body['boot_id'], null),
    uptimeS: numberOr(body['uptime_s'], null),
  };
}

/** list_sensors' `sensors` (§5.12). */
export function parseSensorSpecs(body: JsonObject): SensorSpec[] {
  const specs: SensorSpec[] = [];
  for (const item of arrayOf(body['sensors'])) {
    if (!isObject(item) || typeof item['name'] !== 'string') continue;
    const quantities: Record<string, string> = {};
    if (isObject(item['quantities'])) for (const [q, unit] of Object.entries(item['quantities'])) if (typeof unit === 'string') quantities[q] = unit;
    specs.push({ name: item['name'], driver: stringOr(item['driver'], ''), quantities });
  }
  return specs;
}

/** get_info's `info` (§5.3); null when the reply has none. */
export function parseBoardInfo(body: JsonObject): BoardInfo | null {
  const info = body['info'];
  if (!isObject(info)) return null;
  return {
    name: stringOr(info['name'], ''),
    board: stringOr(info['board'], ''),
    platform: stringOr(info['platform'], ''),
    firmwareVersion: stringOr(info['firmware_version'], ''),
    bootId: stringOr(info['boot_id'], null),
    uptimeS: numberOr(info['uptime_s'], null),
    capabilities: arrayOf(info['capabilities']).filter((c): c is string => typeof c === 'string'),
    rssi: numberOr(info['rssi'], null),
  };
}

function parsePin(item: unknown): PinState | undefined {
  if (!isObject(item)) return undefined;
  const pin = item['pin'];
  if (!isNumber(pin)) return undefined;
  const base: PinBase = typeof item['name'] === 'string' ? { pin, name: item['name'] } : { pin };
  const value = item['value'];
  // A safe value is the board's word, never guessed (protocol.md §4 rule 4): an output without one is skipped.
  const safeValue = item['safe_value'];
  const maxLeaseS = numberOr(item['max_lease_s'], Infinity);
  switch (item['mode']) {
    case 'input': {
      if (!isNumber(value)) return undefined;
      const pull = item['pull'] === 'up' || item['pull'] === 'down' ? item['pull'] : 'none';
      return { ...base, mode: 'input', pull, value };
    }
    case 'output':
      if (!isNumber(value) || !isNumber(safeValue)) return undefined;
      return { ...base, mode: 'output', value, safeValue, activeLow: item['active_low'] === true, maxLeaseS, lease: parseLease(item['lease']) };
    case 'pwm': {
      const duty = item['duty'];
      if (!isNumber(duty) || !isNumber(safeValue)) return undefined;
      return { ...base, mode: 'pwm', freq: numberOr(item['freq'], 0), duty, safeValue, maxLeaseS, lease: parseLease(item['lease']) };
    }
    default:
      return undefined;
  }
}

function parseLease(v: unknown): LeaseState | null {
  if (!isObject(v) || !isNumber(v['value']) || !isNumber(v['safe_value'])) return null;
  return { value: v['value'], safeValue: v['safe_value'], expiresInS: numberOr(v['expires_in_s'], 0) };
}

function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function stringOr<T>(v: unknown, fallback: T): string | T {
  return typeof v === 'string' ? v : fallback;
}

function numberOr<T>(v: unknown, fallback: T): number | T {
  return isNumber(v) ? v : fallback;
}
