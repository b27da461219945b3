// The readable output of tether send and tether watch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PLAIN_STYLE, formatEvent, formatFailure, formatReply, formatValue, styleFor } from '../../src/cli/format.js';

void describe('formatReply', { timeout: 30_000 }, () => {
  void it('prints the request, an arrow, and what the reply adds', () => {
    const read = { action: 'read_pin', pin: 2 };
    assert.equal(formatReply(read, { ...read, value: 0, ok: true }), 'read_pin pin=2 → ok value=0');
    const write = { action: 'write_pin', pin: 2, value: 1, timeout: 5 };
    assert.equal(formatReply(write, { ...write, lease: { value: 1, expires_in_s: 5 }, ok: true }), 'write_pin pin=2 value=1 timeout=5 → ok lease: 1 for 5 s');
    assert.equal(formatReply({ action: 'write_pin', pin: 2, value: 0 }, { action: 'write_pin', pin: 2, value: 0, lease: null, ok: true }), 'write_pin pin=2 value=0 → ok no lease (pin at its safe value)');
    assert.equal(formatReply({ action: 'ping' }, { action: 'ping', ok: true }), 'ping → ok');
    assert.equal(formatReply({ action: 'get_version' }, { action: 'get_version', version: '0.1.0', protocol: 1, ok: true }), 'get_version → ok version=0.1.0 protocol=1');
  });

  void it('prints error replies with their code and message', () => {
    const read = { action: 'read_pin', pin: 2 };
    const reply = { ...read, ok: false, error: { code: 'pin_not_setup', message: 'pin 2 is not set up; send setup_pin first' } };
    assert.equal(formatReply(read, reply), 'read_pin pin=2 → error pin_not_setup: pin 2 is not set up; send setup_pin first');
  });

  void it('shows sensors, readings, scans and lists compactly', () => {
    const rs = { action: 'read_sensor', name: 'air' };
    assert.equal(
      formatReply(rs, { ...rs, values: { temperature: 21.5, humidity: 40.25 }, units: { temperature: '°C', humidity: '%' }, ok: true }),
      'read_sensor name=air → ok temperature=21.5 °C humidity=40.25 %',
    );
    assert.equal(formatReply({ action: 'i2c_scan' }, { action: 'i2c_scan', bus: 0, addresses: [0x38, 0x4c], ok: true }), 'i2c_scan → ok bus=0 addresses: 0x38, 0x4c');
    assert.equal(formatReply({ action: 'list_actions' }, { action: 'list_actions', actions: ['ping', 'reset'], ok: true }), 'list_actions → ok actions: ping, reset');
    assert.equal(
      formatReply({ action: 'list_sensors' }, { action: 'list_sensors', sensors: [{ name: 'air', driver: 'aht10', quantities: { temperature: '°C' } }], ok: true }),
      'list_sensors → ok sensors: air (aht10; temperature °C)',
    );
    assert.equal(formatReply({ action: 'get_info' }, { action: 'get_info', info: { board: 'Pico W', mem_free: 1000, caps: ['gpio'] }, ok: true }), 'get_info → ok info: board="Pico W" mem_free=1000 caps=["gpio"]');
    assert.equal(formatReply({ action: 'read_adc', pin: 26 }, { action: 'read_adc', pin: 26, raw: 32768, volts: 1.65, ok: true }), 'read_adc pin=26 → ok raw=32768 volts=1.650');
  });

  void it('never prints a token', () => {
    const auth = { action: 'auth', token: 'secret-secret-secret' };
    assert.equal(formatReply(auth, { ...auth, scope: 'admin', ok: true }), 'auth token=*** → ok scope=admin');
  });

  void it('quotes strings that would read as something else', () => {
    assert.equal(formatValue('2'), '"2"');
    assert.equal(formatValue('true'), '"true"');
    assert.equal(formatValue('two words'), '"two words"');
    assert.equal(formatValue(''), '""');
    assert.equal(formatValue('output'), 'output');
  });

  void it('prints requests that got no reply', () => {
    assert.equal(formatFailure({ action: 'ping' }, 'timeout', 'no reply'), 'ping → failed timeout: no reply');
  });
});

void describe('formatEvent', { timeout: 30_000 }, () => {
  void it('prints the time, the event, its fields and where it came from', () => {
    const at = new Date(2024, 0, 1, 14, 2, 3, 120);
    assert.equal(formatEvent({ event: 'edge', pin: 22, value: 1, sub: 1, seq: 4, ts: 12345 }, at), '14:02:03.120 edge pin=22 value=1 (sub 1, seq 4, board t=12.345 s)');
    assert.equal(
      formatEvent({ event: 'reading', sensor: 'air', values: { temperature: 21.5 }, units: { temperature: '°C' }, sub: 2, seq: 5, ts: 1000 }, at),
      '14:02:03.120 reading sensor=air temperature=21.5 °C (sub 2, seq 5, board t=1.000 s)',
    );
  });
});

void describe('styleFor', { timeout: 30_000 }, () => {
  void it('uses no colour codes unless stdout is a terminal, and honours NO_COLOR', () => {
    assert.equal(styleFor({ isTTY: false }, {}), PLAIN_STYLE);
    assert.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }), PLAIN_STYLE);
    assert.notEqual(styleFor({ isTTY: true }, {}), PLAIN_STYLE);
    assert.ok(formatReply({ action: 'ping' }, { action: 'ping', ok: true }, styleFor({ isTTY: true }, {})).includes('\u001b[32mok'));
  });
});
