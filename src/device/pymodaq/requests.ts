// PyMoDAQ's JSON requests (scan, AQ, AQ-MULTI, PI, PI-MULTI; docs/pymodaq.md) answered through
// the board's dispatcher as protocol v1 requests, so that scopes, validation and leases are the
// ones every other client meets. The original server's request handler, in one place.
import type { JsonObject } from '../../protocol/codec.js';
import type { ErrorCode } from '../../protocol/errors.js';
import { isObject } from '../../protocol/json.js';
import { parseBoardState } from '../../protocol/replies.js';
import { hex } from '../hex.js';
import { PWM_RANGE, type PymodaqCatalog } from './catalog.js';
import type { Dispatch, PymodaqHolds } from './holds.js';
import { pythonHexInt, pythonInt } from './python-int.js';

export type PymodaqReply = { state: 'ACK'; value: unknown } | { state: 'ERROR'; value: string };

export interface PymodaqRequestsOptions {
  catalog: PymodaqCatalog;
  holds: PymodaqHolds;
  dispatch: Dispatch;
  /** Whether PyMoDAQ may write (pymodaq.scope is actuate). */
  mayWrite: boolean;
}

const ack = (value: unknown): PymodaqReply => ({ state: 'ACK', value });
const refuse = (code: ErrorCode, message: string): PymodaqReply => ({ state: 'ERROR', value: `${code}: ${message}` });

const TYPES = ['scan', 'AQ', 'AQ-MULTI', 'PI', 'PI-MULTI'] as const;

export class PymodaqRequests {
  constructor(private readonly o: PymodaqRequestsOptions) {}

  /** One request's text → its reply's text; `arrivedAt` starts a PI's lease. Never throws: a failure is an ERROR reply. */
  async handle(text: string, arrivedAt: number): Promise<string> {
    let reply: PymodaqReply;
    try {
      reply = await this.route(text, arrivedAt);
    } catch (err) {
      reply = refuse('internal', `${err instanceof Error ? err.message : String(err)}; please report it`);
    }
    return JSON.stringify(reply);
  }

  private async route(text: string, arrivedAt: number): Promise<PymodaqReply> {
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch (err) {
      return refuse('bad_json', `the request is not valid JSON (${err instanceof Error ? err.message : String(err)}); send e.g. {"type": "scan"}`);
    }
    if (!isObject(request)) return refuse('not_an_object', 'the request must be a JSON object, e.g. {"type": "scan"}');
    if (request['type'] === undefined) return refuse('missing_field', `type: required, one of ${TYPES.join(', ')}`);
    switch (typeof request['type'] === 'string' ? request['type'] : '') {
      case 'scan':
        return ack(this.o.catalog.scan());
      case 'AQ':
        return this.acquire(request);
      case 'AQ-MULTI':
        return this.multi(request, (c) => this.acquire(c), (r) => (r.state === 'ACK' ? r.value : r));
      case 'PI':
        return this.pilot(request, arrivedAt);
      case 'PI-MULTI':
        return this.multi(request, (c) => this.pilot(c, arrivedAt), (r) => r, true);
      default:
        return refuse('unknown_action', `type ${JSON.stringify(request['type'])} is not one of ${TYPES.join(', ')}`);
    }
  }

  /** AQ-MULTI reads every component at once; PI-MULTI writes them in order, as asked. */
  private async multi(request: JsonObject, one: (c: JsonObject) => Promise<PymodaqReply>, item: (r: PymodaqReply) => unknown, inOrder = false): Promise<PymodaqReply> {
    const components = request['components'];
    if (components === undefined) return refuse('missing_field', 'components: required, a list of request bodies without "type"');
    if (!Array.isArray(components)) return refuse('bad_field', 'components: expected a list of request bodies without "type"');
    const run = (c: unknown): Promise<PymodaqReply> => (isObject(c) ? one(c) : Promise.resolve(refuse('not_an_object', 'each component must be a JSON object')));
    const replies: PymodaqReply[] = [];
    if (inOrder) for (const c of components) replies.push(await run(c));
    else replies.push(...(await Promise.all(components.map(run))));
    return ack(replies.map(item));
  }

  private async acquire(c: JsonObject): Promise<PymodaqReply> {
    if (c['register'] === 'add') return this.readSensor(c);
    if (c['register'] === 'pin') {
      const actuator = this.actuatorOf(c['pin']);
      return 'state' in actuator ? actuator : ack(await this.readActuator(actuator.pin));
    }
    const which = '"add" (a sensor by its I2C address) or "pin" (an actuator by its GPIO pin)';
    return c['register'] === undefined ? refuse('missing_field', `register: required, ${which}`) : refuse('bad_field', `register: expected ${which}`);
  }

  private async readSensor(c: JsonObject): Promise<PymodaqReply> {
    if (c['add'] === undefined) return refuse('missing_field', 'add: required, the I2C address as a hex string, such as "0x48"');
    const address = pythonHexInt(c['add']);
    if (address === undefined) return refuse('bad_field', `add: expected an I2C address as a hex string, such as "0x48", not ${JSON.stringify(c['add'] ?? null)}`);
    const sensor = this.o.catalog.sensorAt(address);
    if (sensor === undefined) return refuse('bad_field', `add: no sensor answers at ${hex(Math.abs(address))}; this board serves ${this.o.catalog.describeSensors()}`);
    const channel = c['channel'];
    // The original server reads the default channel for any false-y channel (None, "").
    let quantity = sensor.defaultQuantity;
    if (channel !== undefined && channel !== null && channel !== '') {
      const named = typeof channel === 'string' ? this.o.catalog.quantityOf(sensor, channel) : undefined;
      if (named === undefined) {
        return refuse('bad_field', `channel: ${sensor.name} (${sensor.driver}) answers ${this.o.catalog.channelsOf(sensor).map((q) => JSON.stringify(q)).join(', ')}, or leave channel out for ${sensor.defaultQuantity}`);
      }
      quantity = named;
    }
    const reply = await this.o.dispatch({ action: 'read_sensor', name: sensor.name });
    if (reply['ok'] !== true) return refused(reply);
    const values = reply['values'];
    const value = isObject(values) ? values[quantity] : undefined;
    if (typeof value !== 'number') return refuse('sensor_error', `${sensor.name}: no ${quantity} in its reading`);
    return ack(value);
  }

  private async pilot(c: JsonObject, arrivedAt: number): Promise<PymodaqReply> {
    if (c['register'] === 'add') return refuse('unsupported', 'actuators are driven by their GPIO pin: send "register": "pin" with "pin"');
    if (c['register'] === undefined) return refuse('missing_field', 'register: required, "pin" (an actuator by its GPIO pin)');
    if (c['register'] !== 'pin') return refuse('bad_field', 'register: expected "pin" (an actuator by its GPIO pin)');
    const actuator = this.actuatorOf(c['pin']);
    if ('state' in actuator) return actuator;
    if (c['value'] === undefined) return refuse('missing_field', 'value: required, the value to set, such as 128');
    const value = pythonInt(c['value']);
    if (value === undefined) return refuse('bad_field', `value: expected a number, such as 128, not ${JSON.stringify(c['value'] ?? null)}`);
    if (!this.o.mayWrite) return refuse('unauthorized', "this board's pymodaq.scope is read: PyMoDAQ may read but not write; set pymodaq.scope: actuate in the board config to let it");
    const { pin, name } = actuator;
    const state = await this.pinState(pin);
    let target: number;
    let write: JsonObject;
    if (actuator.kind === 'PWM') {
      target = Math.min(PWM_RANGE, Math.max(0, value)) / PWM_RANGE;
      const freq = state?.mode === 'pwm' ? state.freq : actuator.freq;
      write = { action: 'pwm', pin, freq, duty: target };
    } else {
      target = value >= 1 ? 1 : 0;
      write = { action: 'write_pin', pin, value: target };
    }
    const safe = state !== undefined && state.mode !== 'input' && state.safeValue === target;
    const reply = await this.o.holds.write(pin, name, write, target, safe, arrivedAt);
    if (reply['ok'] !== true) return refused(reply);
    return ack(await this.readActuator(pin));
  }

  /** The configured actuator on that pin, or the ERROR that says there is none. */
  private actuatorOf(raw: unknown): { pin: number; name: string; kind: 'PWM' | 'DIGITAL'; freq: number } | PymodaqReply {
    if (raw === undefined) return refuse('missing_field', `pin: required, the actuator's GPIO pin: ${this.o.catalog.describeActuators()}`);
    const pin = pythonInt(raw);
    if (pin === undefined) return refuse('bad_field', `pin: expected a whole number, such as 18 or "18", not ${JSON.stringify(raw ?? null)}`);
    const actuator = this.o.catalog.actuatorAt(pin);
    if (actuator === undefined) return refuse('bad_field', `pin: ${pin} is not an actuator of this board; actuators: ${this.o.catalog.describeActuators()}`);
    return actuator;
  }

  private async pinState(pin: number) {
    const reply = await this.o.dispatch({ action: 'get_state' });
    return reply['ok'] === true ? parseBoardState(reply).pins.find((p) => p.pin === pin) : undefined;
  }

  /** What a pin reads as for PyMoDAQ: a PWM duty on 0–255, a digital level 0 or 1. */
  private async readActuator(pin: number): Promise<number> {
    const state = await this.pinState(pin);
    if (state === undefined) throw new Error(`pin ${pin} is missing from get_state`);
    return state.mode === 'pwm' ? Math.round(state.duty * PWM_RANGE) : state.value;
  }
}

function refused(reply: JsonObject): PymodaqReply {
  const error = reply['error'];
  if (isObject(error) && typeof error['code'] === 'string' && typeof error['message'] === 'string') {
    return { state: 'ERROR', value: `${error['code']}: ${error['message']}` };
  }
  return refuse('internal', 'the board gave no reason; please report it');
}
