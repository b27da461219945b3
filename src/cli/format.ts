// Human-readable lines for replies and events:
//   read_pin pin=2 → ok value=0
//   write_pin pin=2 value=1 timeout=5 → ok lease: 1 for 5 s
//   read_pin pin=3 → error pin_not_setup: pin 3 is not set up; …
import type { JsonObject } from '../protocol/index.js';
import { isObject } from '../client/reply-fields.js';

export interface Style {
  ok(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
}

const plain: Style = { ok: (t) => t, bad: (t) => t, dim: (t) => t };
const ansi: Style = {
  ok: (t) => `\u001b[32m${t}\u001b[39m`,
  bad: (t) => `\u001b[31m${t}\u001b[39m`,
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
};

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return plain;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return ansi;
  return stream.isTTY === true && env['TERM'] !== 'dumb' ? ansi : plain;
}

export const PLAIN_STYLE = plain;

const SECRET_FIELDS = new Set(['token']);
const BARE = /^[\w.:/@+%°-]+$/u;

/** A value as it would be typed after key=: bare when unambiguous, JSON otherwise. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) && value !== 'true' && value !== 'false' && Number.isNaN(Number(value)) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value) ?? typeof value;
}

function pairs(message: JsonObject, skip: ReadonlySet<string>): string[] {
  return Object.entries(message)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}=${SECRET_FIELDS.has(key) ? '***' : formatValue(value)}`);
}

/** The request as typed: `write_pin pin=2 value=1 timeout=5`. */
export function formatRequest(request: JsonObject): string {
  const action = typeof request['action'] === 'string' ? request['action'] : '?';
  return [action, ...pairs(request, new Set(['action']))].join(' ');
}

/** What a reply adds to its request, one short phrase per result field. */
export function formatResults(request: JsonObject, reply: JsonObject): string[] {
  const out: string[] = [];
  const handled = new Set(['ok', 'error']);
  for (const key of Object.keys(request)) handled.add(key);
  if ('values' in reply && 'units' in reply && isObject(reply['values']) && isObject(reply['units'])) {
    out.push(formatQuantities(reply['values'], reply['units']));
    handled.add('values').add('units');
  }
  for (const [key, value] of Object.entries(reply)) {
    if (handled.has(key)) continue;
    out.push(formatResult(key, value));
  }
  return out;
}

function formatResult(key: string, value: unknown): string {
  if (key === 'lease') {
    if (value === null) return 'no lease (pin at its safe value)';
    if (isObject(value) && typeof value['expires_in_s'] === 'number') {
      return `lease: ${formatValue(value['value'])} for ${trimNumber(value['expires_in_s'])} s`;
    }
  }
  if (key === 'addresses' && Array.isArray(value) && value.every((v) => typeof v === 'number')) {
    return `addresses: ${value.length === 0 ? 'none' : value.map((a) => `0x${a.toString(16).padStart(2, '0')}`).join(', ')}`;
  }
  if (key === 'volts' && typeof value === 'number') return `volts=${value.toFixed(3)}`;
  if (key === 'sensors' && Array.isArray(value) && value.every(isObject)) {
    return `sensors: ${value.length === 0 ? 'none' : value.map(formatSensor).join(', ')}`;
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return `${key}: ${value.length === 0 ? 'none' : value.map(formatValue).join(', ')}`;
  }
  if (isObject(value) && Object.values(value).every(isFlat)) {
    return `${key}: ${pairs(value, new Set()).join(' ')}`;
  }
  if (Array.isArray(value) && value.every(isObject)) {
    return `${key}: ${value.length === 0 ? 'none' : value.map((item) => `{${pairs(item, new Set()).join(' ')}}`).join(', ')}`;
  }
  return `${key}=${SECRET_FIELDS.has(key) ? '***' : formatValue(value)}`;
}

function formatSensor(sensor: JsonObject): string {
  const name = formatValue(sensor['name']);
  const details: string[] = [];
  if (typeof sensor['driver'] === 'string') details.push(sensor['driver']);
  if (isObject(sensor['quantities'])) {
    details.push(...Object.entries(sensor['quantities']).map(([q, unit]) => `${q} ${typeof unit === 'string' ? unit : formatValue(unit)}`));
  }
  return details.length === 0 ? name : `${name} (${details.join('; ')})`;
}

/** `temperature=21.5 °C humidity=40.2 %`. */
export function formatQuantities(values: JsonObject, units: JsonObject): string {
  return Object.entries(values)
    .map(([q, v]) => {
      const unit = units[q];
      return `${q}=${typeof v === 'number' ? trimNumber(v) : formatValue(v)}${typeof unit === 'string' && unit !== '' ? ` ${unit}` : ''}`;
    })
    .join(' ');
}

/** One line per reply: the request, an arrow, then `ok …` or `error code: message`. */
export function formatReply(request: JsonObject, reply: JsonObject, style: Style = plain): string {
  const head = `${formatRequest(request)} →`;
  if (reply['ok'] === true) return [head, style.ok('ok'), ...formatResults(request, reply)].join(' ');
  const error = isObject(reply['error']) ? reply['error'] : {};
  const code = typeof error['code'] === 'string' ? error['code'] : 'error';
  const message = typeof error['message'] === 'string' ? error['message'] : JSON.stringify(reply['error']);
  return `${head} ${style.bad('error')} ${code}: ${message}`;
}

/** A request that got no reply (timeout, connection lost). */
export function formatFailure(request: JsonObject, code: string, message: string, style: Style = plain): string {
  return `${formatRequest(request)} → ${style.bad('failed')} ${code}: ${message}`;
}

const EVENT_META = new Set(['event', 'seq', 'ts', 'sub']);

/** `14:02:03.120 edge pin=22 value=1 (sub 1, seq 4, board t=12.345 s)`. */
export function formatEvent(event: JsonObject, received: Date = new Date(), style: Style = plain): string {
  const name = typeof event['event'] === 'string' ? event['event'] : '?';
  const skip = new Set(EVENT_META);
  const quantities = isObject(event['values']) && isObject(event['units']) ? formatQuantities(event['values'], event['units']) : undefined;
  if (quantities !== undefined) skip.add('values').add('units');
  const body = Object.entries(event)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => formatResult(k, v));
  if (quantities !== undefined) body.push(quantities);
  const meta: string[] = [];
  if (event['sub'] !== undefined) meta.push(`sub ${formatValue(event['sub'])}`);
  if (event['seq'] !== undefined) meta.push(`seq ${formatValue(event['seq'])}`);
  if (typeof event['ts'] === 'number') meta.push(`board t=${(event['ts'] / 1000).toFixed(3)} s`);
  const label = name === 'sensor_error' || name === 'events_dropped' ? style.bad(name) : name;
  return [style.dim(clockTime(received)), label, ...body, ...(meta.length > 0 ? [style.dim(`(${meta.join(', ')})`)] : [])].join(' ');
}

function clockTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function trimNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
}

/** A primitive, or a list of primitives. */
function isFlat(value: unknown): boolean {
  const primitive = (v: unknown) => typeof v !== 'object' || v === null;
  return primitive(value) || (Array.isArray(value) && value.every(primitive));
}

