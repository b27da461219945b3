import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Backoff } from '../../src/protocol/link/backoff.js';
import { negotiateKeepalive, parseLinkMessage } from '../../src/protocol/link/messages.js';

function code(message: Record<string, unknown>): string {
  try {
    parseLinkMessage(message);
    return 'ok';
  } catch (err) {
    return err instanceof ProtocolError ? `${err.code}: ${err.message}` : String(err);
  }
}

test('a minimal hello gets its defaults', { timeout: 30_000 }, () => {
  const hello = parseLinkMessage({ link: 'hello', protocol: 1, device_id: 'greenhouse-1', token: 't', boot_id: 'b1' });
  assert.deepEqual(hello, { link: 'hello', protocol: 1, device_id: 'greenhouse-1', token: 't', boot_id: 'b1', firmware: '', capabilities: [], rx: { stream: null, last: 0 } });
});

test('bad link messages name the field', { timeout: 30_000 }, () => {
  assert.equal(code({ link: 'hello', protocol: 1, token: 't', boot_id: 'b' }), 'missing_field: device_id: required');
  assert.match(code({ link: 'hello', protocol: 1, device_id: 'no spaces', token: 't', boot_id: 'b' }), /^bad_field: device_id: /);
  assert.match(code({ link: 'msg', seq: -1, body: {} }), /^bad_field: seq: expected a sequence number/);
  assert.match(code({ link: 'msg', seq: 2 ** 32, body: {} }), /^bad_field: seq/);
  assert.equal(code({ link: 'msg', seq: 0, body: { action: 'ping' } }), 'ok', '0 is a number after a wrap');
  assert.match(code({ link: 'toString' }), /^unknown_action: /);
  assert.match(code({ link: 'close', reason: 'bored' }), /^bad_field: reason/);
});

test('the hub bounds the keepalive a board asks for; an outage is 3.5 intervals of silence', { timeout: 30_000 }, () => {
  assert.deepEqual(negotiateKeepalive(undefined), { keepalive_ms: 1000, outage_ms: 3500 });
  assert.deepEqual(negotiateKeepalive(10), { keepalive_ms: 200, outage_ms: 700 });
  assert.deepEqual(negotiateKeepalive(1e9), { keepalive_ms: 60_000, outage_ms: 210_000 });
});

test('backoff: full jitter under a ceiling that doubles to the maximum and resets after a welcome', { timeout: 30_000 }, () => {
  const top = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999 });
  assert.deepEqual(Array.from({ length: 6 }, () => top.next()), [99, 199, 399, 799, 999, 999]);
  top.reset();
  assert.equal(top.next(), 99);
  const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.equal(low.next(), 0, 'a first retry may be immediate');
});
