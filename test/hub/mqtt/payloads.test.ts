// Pin states as the MQTT bridge shows them and `set` payloads as it reads them, both ways: ON is
// away from the safe value whatever the wiring, and a bad payload is an error, never a write.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dutyPercent, outputKind, parseSetPayload, pinStatePayloads, type ParsedSet } from '../../../src/hub/mqtt/payloads.js';
import type { InputPinState, OutputPinState, PwmPinState } from '../../../src/protocol/replies.js';

const input = (value: number): InputPinState => ({ pin: 22, name: 'pir', mode: 'input', pull: 'down', value });
const output = (value: number, safeValue = 0): OutputPinState => ({ pin: 15, name: 'relay', mode: 'output', value, safeValue, activeLow: false, maxLeaseS: 600, lease: null });
const pwm = (duty: number, safeValue = 0): PwmPinState => ({ pin: 18, name: 'fan', mode: 'pwm', freq: 25000, duty, safeValue, maxLeaseS: 3600, lease: null });

function valueOf(parsed: ParsedSet): number {
  assert.ok('value' in parsed, `expected a value, got ${JSON.stringify(parsed)}`);
  return parsed.value;
}

function errorOf(parsed: ParsedSet): string {
  assert.ok('error' in parsed, `expected an error, got ${JSON.stringify(parsed)}`);
  return parsed.error;
}

describe('state payloads', { timeout: 30_000 }, () => {
  test('an input is ON at level 1', () => {
    assert.deepEqual(pinStatePayloads(input(1)), [{ topic: 'state', payload: 'ON' }]);
    assert.deepEqual(pinStatePayloads(input(0)), [{ topic: 'state', payload: 'OFF' }]);
  });

  test('a digital output is ON away from its safe value, whichever level that is', () => {
    assert.deepEqual(pinStatePayloads(output(1, 0), 'switch'), [{ topic: 'state', payload: 'ON' }]);
    assert.deepEqual(pinStatePayloads(output(0, 0), 'switch'), [{ topic: 'state', payload: 'OFF' }]);
    assert.deepEqual(pinStatePayloads(output(0, 1), 'switch'), [{ topic: 'state', payload: 'ON' }]);
    assert.deepEqual(pinStatePayloads(output(1, 1), 'switch'), [{ topic: 'state', payload: 'OFF' }]);
    assert.deepEqual(pinStatePayloads(output(1, 0)), [{ topic: 'state', payload: 'ON' }], 'a switch by default');
    assert.deepEqual(pinStatePayloads(output(1, 0), 'fan'), [{ topic: 'state', payload: 'ON' }]);
  });

  test('a digital light shows the light JSON without a brightness', () => {
    assert.deepEqual(pinStatePayloads(output(1), 'light'), [{ topic: 'state', payload: '{"state":"ON"}' }]);
    assert.deepEqual(pinStatePayloads(output(0), 'light'), [{ topic: 'state', payload: '{"state":"OFF"}' }]);
  });

  test('a PWM number shows its duty in percent to one decimal', () => {
    assert.deepEqual(pinStatePayloads(pwm(0.25), 'number'), [{ topic: 'state', payload: '25' }]);
    assert.deepEqual(pinStatePayloads(pwm(1 / 3)), [{ topic: 'state', payload: '33.3' }]);
    assert.equal(dutyPercent(1), '100');
    assert.equal(dutyPercent(0), '0');
    assert.equal(dutyPercent(0.12345), '12.3');
    assert.equal(dutyPercent(0.0005), '0.1');
  });

  test('a PWM light shows its brightness 0–255 while on', () => {
    assert.deepEqual(pinStatePayloads(pwm(0.5), 'light'), [{ topic: 'state', payload: '{"state":"ON","brightness":128}' }]);
    assert.deepEqual(pinStatePayloads(pwm(1), 'light'), [{ topic: 'state', payload: '{"state":"ON","brightness":255}' }]);
    assert.deepEqual(pinStatePayloads(pwm(0), 'light'), [{ topic: 'state', payload: '{"state":"OFF"}' }]);
  });

  test('a PWM fan shows ON/OFF and a whole percentage', () => {
    assert.deepEqual(pinStatePayloads(pwm(0.604), 'fan'), [
      { topic: 'state', payload: 'ON' },
      { topic: 'percentage', payload: '60' },
    ]);
    assert.deepEqual(pinStatePayloads(pwm(0), 'fan'), [
      { topic: 'state', payload: 'OFF' },
      { topic: 'percentage', payload: '0' },
    ]);
  });

  test('a kind that does not fit the pin falls back to the pin default', () => {
    assert.equal(outputKind(true, 'switch'), 'number');
    assert.equal(outputKind(false, 'number'), 'switch');
    assert.equal(outputKind(true, 'fan'), 'fan');
    assert.deepEqual(pinStatePayloads(pwm(0.5), 'switch'), [{ topic: 'state', payload: '50' }]);
    assert.deepEqual(pinStatePayloads(output(1), 'number'), [{ topic: 'state', payload: 'ON' }]);
  });
});

describe('set payloads', { timeout: 30_000 }, () => {
  test('ON and OFF on a digital output: ON is the level that is not safe', () => {
    assert.equal(valueOf(parseSetPayload('switch', false, 'ON', { safeValue: 0 })), 1);
    assert.equal(valueOf(parseSetPayload('switch', false, 'OFF', { safeValue: 0 })), 0);
    assert.equal(valueOf(parseSetPayload('switch', false, 'ON', { safeValue: 1 })), 0);
    assert.equal(valueOf(parseSetPayload('switch', false, 'OFF', { safeValue: 1 })), 1);
    assert.equal(valueOf(parseSetPayload('fan', false, ' on ', { safeValue: 0 })), 1, 'case and spaces do not matter');
  });

  test('a digital output refuses anything but ON and OFF', () => {
    assert.match(errorOf(parseSetPayload('switch', false, '1', { safeValue: 0 })), /expected ON or OFF for a digital output, not "1"/);
    assert.match(errorOf(parseSetPayload('switch', false, '', { safeValue: 0 })), /not ""/);
    assert.match(errorOf(parseSetPayload('switch', false, 'TOGGLE', { safeValue: 0 })), /"TOGGLE"/);
  });

  test('a PWM number takes a duty in percent', () => {
    assert.equal(valueOf(parseSetPayload('number', true, '42.5', { safeValue: 0 })), 0.425);
    assert.equal(valueOf(parseSetPayload('number', true, '100', { safeValue: 0 })), 1);
    assert.equal(valueOf(parseSetPayload('number', true, '0', { safeValue: 0 })), 0);
    assert.equal(valueOf(parseSetPayload('number', true, 'OFF', { safeValue: 0.2 })), 0.2, 'OFF is the safe duty');
    for (const bad of ['101', '-1', '1e2', 'abc', '50%', '', '100.5', '0x10']) {
      assert.match(errorOf(parseSetPayload('number', true, bad, { safeValue: 0 })), /expected ON, OFF or a duty in percent, 0–100/, bad);
    }
  });

  test('ON without a level restores the last duty, or the end farthest from the safe one', () => {
    assert.equal(valueOf(parseSetPayload('number', true, 'ON', { safeValue: 0, lastOnDuty: 0.3 })), 0.3);
    assert.equal(valueOf(parseSetPayload('number', true, 'ON', { safeValue: 0 })), 1);
    assert.equal(valueOf(parseSetPayload('number', true, 'ON', { safeValue: 0, lastOnDuty: 0 })), 1, 'a last duty at the safe value is no "on"');
    assert.equal(valueOf(parseSetPayload('number', true, 'ON', { safeValue: 1 })), 0);
  });

  test('a PWM light takes Home Assistant light JSON', () => {
    assert.equal(valueOf(parseSetPayload('light', true, '{"state":"ON","brightness":255}', { safeValue: 0 })), 1);
    assert.equal(valueOf(parseSetPayload('light', true, '{"state": "ON", "brightness": 51}', { safeValue: 0 })), 0.2);
    assert.equal(valueOf(parseSetPayload('light', true, '{"state":"ON"}', { safeValue: 0, lastOnDuty: 0.4 })), 0.4);
    assert.equal(valueOf(parseSetPayload('light', true, '{"state":"ON"}', { safeValue: 0 })), 1, 'full at first');
    assert.equal(valueOf(parseSetPayload('light', true, '{"state":"OFF","brightness":12}', { safeValue: 0 })), 0);
    assert.equal(valueOf(parseSetPayload('light', true, 'OFF', { safeValue: 0 })), 0, 'plain OFF too');
  });

  test('a digital light ignores a brightness', () => {
    assert.equal(valueOf(parseSetPayload('light', false, '{"state":"ON","brightness":10}', { safeValue: 0 })), 1);
    assert.equal(valueOf(parseSetPayload('light', false, '{"state":"OFF"}', { safeValue: 0 })), 0);
    assert.equal(valueOf(parseSetPayload('light', false, '{"state":"ON"}', { safeValue: 1 })), 0);
  });

  test('bad light JSON says what is wrong', () => {
    const ctx = { safeValue: 0 };
    assert.match(errorOf(parseSetPayload('light', true, '{"state":"ON"', ctx)), /not valid JSON/);
    assert.match(errorOf(parseSetPayload('light', true, '{"brightness":10}', ctx)), /"state": "ON" or "OFF"/);
    assert.match(errorOf(parseSetPayload('light', true, '{"state":"on"}', ctx)), /"state": "ON" or "OFF"/);
    assert.match(errorOf(parseSetPayload('light', true, '{"state":"ON","brightness":300}', ctx)), /brightness 0–255/);
    assert.match(errorOf(parseSetPayload('light', true, '{"state":"ON","brightness":"high"}', ctx)), /brightness 0–255.*"\\"high\\""/);
    assert.match(errorOf(parseSetPayload('light', true, '{"state":"ON","brightness":-1}', ctx)), /brightness 0–255/);
    assert.match(errorOf(parseSetPayload('light', true, '[1]', ctx)), /expected ON, OFF or Home Assistant's light JSON/);
    assert.match(errorOf(parseSetPayload('light', true, '{}x', ctx)), /not valid JSON/);
    assert.match(errorOf(parseSetPayload('light', true, '50', ctx)), /light JSON/);
  });

  test('a PWM fan takes ON/OFF and a percentage', () => {
    assert.equal(valueOf(parseSetPayload('fan', true, '60', { safeValue: 0 })), 0.6);
    assert.equal(valueOf(parseSetPayload('fan', true, 'ON', { safeValue: 0, lastOnDuty: 0.6 })), 0.6);
    assert.equal(valueOf(parseSetPayload('fan', true, 'OFF', { safeValue: 0 })), 0);
    assert.match(errorOf(parseSetPayload('fan', true, 'fast', { safeValue: 0 })), /expected ON, OFF or a speed in percent, 0–100, not "fast"/);
  });

  test('a long payload is cut short in the error', () => {
    const error = errorOf(parseSetPayload('switch', false, 'x'.repeat(1000), { safeValue: 0 }));
    assert.ok(error.length < 150, error);
    assert.match(error, /x…"$/);
  });
});

describe('round trips', { timeout: 30_000 }, () => {
  test('every brightness comes back as it was sent', () => {
    for (let b = 1; b <= 255; b++) {
      const duty = valueOf(parseSetPayload('light', true, JSON.stringify({ state: 'ON', brightness: b }), { safeValue: 0 }));
      assert.deepEqual(pinStatePayloads(pwm(duty), 'light'), [{ topic: 'state', payload: JSON.stringify({ state: 'ON', brightness: b }) }]);
    }
  });

  test('a duty in percent to one decimal comes back as it was sent', () => {
    for (let tenths = 0; tenths <= 1000; tenths++) {
      const text = String(tenths / 10);
      const duty = valueOf(parseSetPayload('number', true, text, { safeValue: 0 }));
      assert.deepEqual(pinStatePayloads(pwm(duty), 'number'), [{ topic: 'state', payload: text }]);
    }
  });

  test('a fan percentage comes back as it was sent', () => {
    for (let p = 0; p <= 100; p++) {
      const duty = valueOf(parseSetPayload('fan', true, String(p), { safeValue: 0 }));
      assert.equal(pinStatePayloads(pwm(duty), 'fan')[1]?.payload, String(p));
    }
  });

  test('ON and OFF come back as ON and OFF for both safe levels', () => {
    for (const safeValue of [0, 1]) {
      for (const word of ['ON', 'OFF']) {
        const value = valueOf(parseSetPayload('switch', false, word, { safeValue }));
        assert.deepEqual(pinStatePayloads(output(value, safeValue), 'switch'), [{ topic: 'state', payload: word }], `safe ${safeValue}, ${word}`);
      }
    }
  });
});
