// What a pin's state looks like on MQTT and what a command on a `set` topic asks of the pin, both
// ways in one place (docs/mqtt.md "Topics", "On and off are leases"). ON means away from the
// pin's safe value and OFF at it, so a relay wired active-low, or one whose safe value is on,
// reads the same way as any other. No I/O: the bridge publishes and writes what these return.
import type { PinState } from '../../protocol/replies.js';
import type { OutputKind } from './config.js';

export type PinEntityKind = OutputKind | 'binary_sensor';

/** One retained state message of a pin: on its `state` topic or, for a fan with a speed, its `percentage` topic. */
export interface StatePayload {
  topic: 'state' | 'percentage';
  payload: string;
}

/** What the pin is now, as a `set` command needs it to read ON and OFF. */
export interface SetContext {
  /** The pin's safe value: a level 0/1, or a duty 0–1 (protocol.md §4). OFF writes it. */
  safeValue: number;
  /** The duty the pin last had away from its safe value: ON without a level restores it. */
  lastOnDuty?: number;
}

/** A level 0/1 (digital output) or a duty 0–1 (PWM output) to write, or why the payload was ignored. */
export type ParsedSet = { value: number } | { error: string };

const ON = 'ON';
const OFF = 'OFF';
const BRIGHTNESS_MAX = 255;
const DIGITAL_KINDS: readonly OutputKind[] = ['switch', 'light', 'fan'];
const PWM_KINDS: readonly OutputKind[] = ['number', 'light', 'fan'];

/** The entity an output gets: `requested` (mqtt.pins … as) when it fits the pin, else switch (digital) or number (PWM). */
export function outputKind(pwm: boolean, requested?: OutputKind): OutputKind {
  const fits = pwm ? PWM_KINDS : DIGITAL_KINDS;
  if (requested !== undefined && fits.includes(requested)) return requested;
  return pwm ? 'number' : 'switch';
}

/** Whether `as: <kind>` can show this output (switch is digital only, number PWM only). */
export function kindFits(pwm: boolean, kind: OutputKind): boolean {
  return (pwm ? PWM_KINDS : DIGITAL_KINDS).includes(kind);
}

/** The retained messages that show a pin's state; `kind` is the entity it is shown as (an input's is ignored). */
export function pinStatePayloads(pin: PinState, kind?: OutputKind): StatePayload[] {
  switch (pin.mode) {
    case 'input':
      return [{ topic: 'state', payload: onOff(pin.value !== 0) }];
    case 'output': {
      const on = pin.value !== pin.safeValue;
      if (outputKind(false, kind) === 'light') return [{ topic: 'state', payload: JSON.stringify({ state: onOff(on) }) }];
      return [{ topic: 'state', payload: onOff(on) }];
    }
    case 'pwm': {
      const on = pin.duty !== pin.safeValue;
      switch (outputKind(true, kind)) {
        case 'light':
          return [{ topic: 'state', payload: JSON.stringify(on ? { state: ON, brightness: Math.round(pin.duty * BRIGHTNESS_MAX) } : { state: OFF }) }];
        case 'fan':
          // Home Assistant reads a fan's percentage as a whole number.
          return [
            { topic: 'state', payload: onOff(on) },
            { topic: 'percentage', payload: String(Math.round(pin.duty * 100)) },
          ];
        case 'number':
        case 'switch':
          return [{ topic: 'state', payload: dutyPercent(pin.duty) }];
      }
    }
  }
}

/** A duty 0–1 as a percentage to one decimal: 0.25 → "25", 1/3 → "33.3". */
export function dutyPercent(duty: number): string {
  return String(Math.round(duty * 1000) / 10);
}

/**
 * What a message on a pin's `set` or `percentage/set` topic asks for: ON or OFF for any output,
 * a percentage 0–100 for a PWM number or fan, Home Assistant's light JSON for a light.
 */
export function parseSetPayload(kind: OutputKind, pwm: boolean, payload: string, current: SetContext): ParsedSet {
  const text = payload.trim();
  const word = text.toUpperCase();
  if (word === ON) return { value: onValue(pwm, current) };
  if (word === OFF) return { value: current.safeValue };
  const effective = outputKind(pwm, kind);
  if (effective === 'light' && text.startsWith('{')) return parseLightJson(pwm, text, current);
  if (!pwm) return { error: `expected ON or OFF for a digital output, not ${quote(text)}` };
  if (effective === 'light') return { error: `expected ON, OFF or Home Assistant's light JSON such as {"state": "ON", "brightness": 128}, not ${quote(text)}` };
  const percent = parsePercent(text);
  if (percent === null) return { error: `expected ON, OFF or ${effective === 'fan' ? 'a speed' : 'a duty'} in percent, 0–100, not ${quote(text)}` };
  return { value: percent / 100 };
}

function parseLightJson(pwm: boolean, text: string, current: SetContext): ParsedSet {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: `expected Home Assistant's light JSON such as {"state": "ON", "brightness": 128}, not ${quote(text)} (it is not valid JSON)` };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: `expected a JSON object such as {"state": "ON"}, not ${quote(text)}` };
  const { state, brightness } = body as { state?: unknown; brightness?: unknown };
  if (state !== ON && state !== OFF) return { error: `expected "state": "ON" or "OFF" in the light JSON, not ${quote(text)}` };
  if (state === OFF) return { value: current.safeValue };
  if (brightness === undefined || !pwm) return { value: onValue(pwm, current) };
  if (typeof brightness !== 'number' || !Number.isFinite(brightness) || brightness < 0 || brightness > BRIGHTNESS_MAX) {
    return { error: `expected a brightness 0–${BRIGHTNESS_MAX} in the light JSON, not ${quote(JSON.stringify(brightness))}` };
  }
  return { value: brightness / BRIGHTNESS_MAX };
}

/**
 * ON without a level: a digital output's other level; a PWM output's last duty away from its
 * safe value, else the end of the range farthest from the safe value (full, for the usual 0).
 */
function onValue(pwm: boolean, current: SetContext): number {
  if (!pwm) return current.safeValue === 0 ? 1 : 0;
  const last = current.lastOnDuty;
  if (last !== undefined && last !== current.safeValue && last >= 0 && last <= 1) return last;
  return current.safeValue < 0.5 ? 1 : 0;
}

function parsePercent(text: string): number | null {
  if (!/^\d{1,3}(\.\d+)?$/.test(text)) return null;
  const n = Number(text);
  return n <= 100 ? n : null;
}

function onOff(on: boolean): string {
  return on ? ON : OFF;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
