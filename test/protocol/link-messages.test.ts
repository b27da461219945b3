import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Backoff, QUICK_TIMEOUTS } from '../../src/protocol/link/backoff.js';
import { msgSchema, negotiateKeepalive, parseLinkMessage } from '../../src/protocol/link/messages.js';
import { prng } from '../support/prng.js';

function code(message: Record<string, unknown>): string {
  try {
    parseLinkMessage(message);
    return 'ok';
  } catch (err) {
    return err instanceof ProtocolError ? `${err.code}: ${err.message}` : String(err);
  }
}

const NONCE = '00112233445566778899aabbccddeeff';
const PROOF = 'ab'.repeat(32);

test('a minimal hello gets its defaults', { timeout: 30_000 }, () => {
  const hello = parseLinkMessage({ link: 'hello', protocol: 2, device_id: 'greenhouse-1', nonce: NONCE, boot_id: 'b1' });
  assert.deepEqual(hello, { link: 'hello', protocol: 2, device_id: 'greenhouse-1', nonce: NONCE, boot_id: 'b1', firmware: '', capabilities: [], rx: { stream: null, last: 0 } });
});

test('bad link messages name the field', { timeout: 30_000 }, () => {
  assert.equal(code({ link: 'hello', protocol: 2, nonce: NONCE, boot_id: 'b' }), 'missing_field: device_id: required');
  assert.match(code({ link: 'hello', protocol: 2, device_id: 'no spaces', nonce: NONCE, boot_id: 'b' }), /^bad_field: device_id: /);
  assert.equal(code({ link: 'hello', protocol: 2, device_id: 'd', boot_id: 'b' }), 'missing_field: nonce: required');
  for (const nonce of [NONCE.toUpperCase(), NONCE.slice(1), `${NONCE}0`, 17]) {
    assert.match(code({ link: 'hello', protocol: 2, device_id: 'd', nonce, boot_id: 'b' }), /^bad_field: nonce: /, String(nonce));
  }
  assert.equal(code({ link: 'hello', protocol: 2, device_id: 'd', nonce: NONCE, boot_id: 'b', max_frame: 256 }), 'ok');
  assert.equal(code({ link: 'hello', protocol: 2, device_id: 'd', nonce: NONCE, boot_id: 'b', max_frame: 1_048_576 }), 'ok');
  for (const maxFrame of [255, 1_048_577, 4096.5, '4096']) {
    assert.match(code({ link: 'hello', protocol: 2, device_id: 'd', nonce: NONCE, boot_id: 'b', max_frame: maxFrame }), /^bad_field: max_frame/, String(maxFrame));
  }
  assert.equal(code({ link: 'challenge', nonce: NONCE, proof: PROOF }), 'ok');
  assert.match(code({ link: 'challenge', nonce: NONCE, proof: PROOF.slice(2) }), /^bad_field: proof: /);
  assert.equal(code({ link: 'challenge', proof: PROOF }), 'missing_field: nonce: required');
  assert.equal(code({ link: 'auth', proof: PROOF }), 'ok');
  assert.match(code({ link: 'auth', proof: PROOF.toUpperCase() }), /^bad_field: proof: /);
  assert.match(code({ link: 'msg', seq: -1, body: {} }), /^bad_field: seq: expected a sequence number/);
  assert.match(code({ link: 'msg', seq: 2 ** 32, body: {} }), /^bad_field: seq/);
  assert.equal(code({ link: 'msg', seq: 0, body: { action: 'ping' } }), 'ok', '0 is a number after a wrap');
  assert.match(code({ link: 'toString' }), /^unknown_action: /);
  assert.match(code({ link: 'close', reason: 'bored' }), /^bad_field: reason/);
});

test('a msg frame reads as msgSchema reads it: the same message, the same errors', { timeout: 30_000 }, () => {
  const good = [
    { link: 'msg', seq: 7, body: { event: 'reading', values: { t: 1 } } },
    { link: 'msg', seq: 0, ack: 2 ** 32 - 1, body: {} },
    { link: 'msg', seq: 1, ack: 3, body: { id: 'x' }, extra: 'dropped' },
  ];
  for (const m of good) assert.deepEqual(parseLinkMessage(m), msgSchema.parse(m), JSON.stringify(m));
  // The body is the one that arrived, not a copy: a `__proto__` key stays a key, not a prototype.
  const odd = parseLinkMessage(JSON.parse('{"link":"msg","seq":5,"body":{"__proto__":{"a":1}}}') as Record<string, unknown>);
  assert.equal(odd.link === 'msg' && Object.hasOwn(odd.body, '__proto__') && !('a' in odd.body), true);
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ link: 'msg', body: {} }, 'missing_field: seq: required'],
    [{ link: 'msg', seq: 1 }, 'missing_field: body: required'],
    [{ link: 'msg', seq: 1.5, body: {} }, 'bad_field: seq: '],
    [{ link: 'msg', seq: '1', body: {} }, 'bad_field: seq: '],
    [{ link: 'msg', seq: 1, ack: -1, body: {} }, 'bad_field: ack: '],
    [{ link: 'msg', seq: 1, ack: null, body: {} }, 'bad_field: ack: '],
    [{ link: 'msg', seq: 1, body: [] }, 'bad_field: body: '],
    [{ link: 'msg', seq: 1, body: null }, 'bad_field: body: '],
    [{ link: 'msg', seq: 1, body: 'ping' }, 'bad_field: body: '],
  ];
  for (const [m, expected] of bad) assert.ok(code(m).startsWith(expected), `${JSON.stringify(m)}: ${code(m)}`);
});

test('a hello of another link protocol is unsupported before its fields are read', { timeout: 30_000 }, () => {
  // Link protocol 1: the token in the hello, no nonce.
  assert.match(code({ link: 'hello', protocol: 1, device_id: 'd', token: 'a-board-token-0123456789', boot_id: 'b' }), /^unsupported: .*link protocol 1 .*update the board's firmware/);
  assert.match(code({ link: 'hello', protocol: 3, device_id: 'd', nonce: NONCE, boot_id: 'b' }), /^unsupported: this hub speaks link protocol 2, the board sent 3/);
  assert.equal(code({ link: 'hello', device_id: 'd', nonce: NONCE, boot_id: 'b' }), 'missing_field: protocol: required');
  // A protocol-2 hello carries no token: one that does is not one this hub reads it from.
  assert.equal(Object.hasOwn(parseLinkMessage({ link: 'hello', protocol: 2, device_id: 'd', nonce: NONCE, boot_id: 'b', token: 'x' }), 'token'), false);
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

test('backoff: a few timeouts in a row are retried at once, then they back off like failures', { timeout: 30_000 }, () => {
  const b = new Backoff({ initialMs: 100, maxMs: 30_000, random: () => 0.999 });
  b.next();
  b.next();
  const quick = Array.from({ length: QUICK_TIMEOUTS }, () => b.timedOut());
  assert.deepEqual(quick, [99, 99, 99], 'quick retries stay under the first ceiling and leave it as it is');
  assert.deepEqual([b.timedOut(), b.timedOut(), b.timedOut()], [399, 799, 1598], 'a black-holed hub is dialled less and less often');
  b.reset();
  assert.deepEqual(Array.from({ length: QUICK_TIMEOUTS + 1 }, () => b.timedOut()), [99, 99, 99, 99], 'a welcome starts the count over');
  b.next();
  assert.equal(b.timedOut(), 99, 'a refused attempt in between starts the count over');
});

test('backoff: a thousand boards that lost the hub at once spread their redials over each window', { timeout: 30_000 }, () => {
  const boards = Array.from({ length: 1000 }, (_, i) => new Backoff({ initialMs: 100, maxMs: 30_000, random: prng(7000 + i) }));
  const at = boards.map(() => 0);
  for (let attempt = 1; attempt <= 8; attempt++) {
    const ceiling = 100 * 2 ** (attempt - 1);
    const waits = boards.map((b) => b.next());
    waits.forEach((w, i) => (at[i] = (at[i] as number) + w));
    assert.ok(waits.every((w) => w >= 0 && w < ceiling), `redial ${attempt}: every wait within [0, ${ceiling})`);
    // Ten equal parts of the window each get about a tenth of the boards: no burst, no empty stretch.
    const parts = Array.from({ length: 10 }, () => 0);
    for (const w of waits) parts[Math.floor((w / ceiling) * 10)]! += 1;
    assert.ok(parts.every((n) => n >= 60 && n <= 140), `redial ${attempt}: ${parts.join(' ')} boards per tenth of the window`);
  }
  // By the eighth redial the boards dial over seconds, not in one instant.
  const sorted = [...at].sort((a, b) => a - b);
  assert.ok((sorted[899] as number) - (sorted[99] as number) > 5000, `the middle 80 % of the eighth redials span ${(sorted[899] as number) - (sorted[99] as number)} ms`);
});
