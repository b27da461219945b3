// Fuzz: ≥ 10,000 generated and mutated frames over one TCP connection. Every non-blank frame
// must get exactly one reply, in order, and the board must still answer correctly afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LineClient } from '../support/line-client.js';
import { startSimDevice } from '../support/sim-device.js';
import { VECTOR_DIR } from '../support/vectors.js';
import { prng } from '../support/prng.js';

const FRAMES = 12_000;
const BATCH = 400;


// reset and sleep are left out on purpose: they make the board stop answering for a while.
const SEEDS: object[] = [
  { action: 'ping', id: 1 },
  { action: 'get_version' },
  { action: 'get_info' },
  { action: 'get_resource_info', time_sent: 1732000000000000000 },
  { action: 'list_actions' },
  { action: 'setup_pin', pin: 2, mode: 'output', value: 0 },
  { action: 'setup_pin', pin: 6, mode: 'input', pull: 'up' },
  { action: 'write_pin', pin: 2, value: 1, timeout: 5 },
  { action: 'write_pin', pin: '25', value: '1', timeout: '0.5' },
  { action: 'read_pin', pin: 2 },
  { action: 'pwm', pin: 7, freq: 1000, duty: 0.25, timeout: 3 },
  { action: 'read_adc', pin: 26 },
  { action: 'i2c_scan', bus: 0 },
  { action: 'list_sensors' },
  { action: 'read_sensor', name: 'air' },
  { action: 'subscribe', pin: 6, edge: 'both' },
  { action: 'unsubscribe', sub: 1 },
  { action: 'get_state' },
  { action: 'auth', token: 'x' },
];
const WEIRD: unknown[] = [null, true, -1, 1e308, -0, 2 ** 53 + 1, '', 'toString', '__proto__', 'constructor', [], {}, [1, [2, [3]]], { a: { b: {} } }, 'é✓😀', '\u0000', 1.5, '0x10', ' 7 ', 'NaN', 'Infinity'];
const KEYS = ['action', 'pin', 'value', 'timeout', 'mode', 'pull', 'freq', 'duty', 'name', 'sub', 'bus', 'id', '__proto__', 'constructor', 'edge', 'sensor', 'interval_ms', 'safe_value'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function structured(rand: () => number): Buffer {
  const base = { ...(pick(rand, SEEDS) as Record<string, unknown>) };
  const edits = Math.floor(rand() * 3);
  for (let i = 0; i < edits; i++) {
    const key = pick(rand, KEYS);
    if (rand() < 0.2) delete base[key];
    else base[key] = pick(rand, WEIRD);
  }
  return Buffer.from(JSON.stringify(base));
}

function mutated(rand: () => number): Buffer {
  const bytes = Buffer.from(structured(rand));
  const edits = 1 + Math.floor(rand() * 4);
  let out = bytes;
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * Math.max(1, out.length));
    const kind = rand();
    if (kind < 0.4) out[at] = Math.floor(rand() * 256);
    else if (kind < 0.6) out = out.subarray(0, at);
    else if (kind < 0.8) out = Buffer.concat([out.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), out.subarray(at)]);
    else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(rand() * 8))]);
  }
  return out;
}

/** Thousands of nested arrays fit in a frame; echoing them must not exhaust the board's stack. */
function deeplyNested(rand: () => number): Buffer {
  const depth = 1 + Math.floor(rand() * 15_000);
  const [open, close] = rand() < 0.5 ? ['[', ']'] : ['{"a":', '}'];
  return Buffer.from(`{"action":"ping","x":${open.repeat(depth)}${close.repeat(depth)}}`);
}

function frame(rand: () => number): Buffer {
  const r = rand();
  let bytes: Buffer;
  if (r < 0.45) bytes = structured(rand);
  else if (r < 0.9) bytes = mutated(rand);
  else if (r < 0.95) bytes = Buffer.from(JSON.stringify(pick(rand, WEIRD)) ?? 'undefined');
  else if (r < 0.97) bytes = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
  else if (r < 0.985) bytes = deeplyNested(rand);
  else bytes = Buffer.alloc(FRAME_LIMIT + 1 + Math.floor(rand() * 4000), 'a');
  // A newline inside would split the frame in two; the count below wants one frame per line.
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) bytes[i] = 0x20;
  return bytes;
}

/** Mirrors the framing rule: a line of only spaces, tabs and CRs gets no reply. */
function isBlank(bytes: Buffer): boolean {
  const body = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes;
  return body.every((b) => b === 0x20 || b === 0x09 || b === 0x0d);
}

const FRAME_LIMIT = 80_000;
const board = JSON.parse(readFileSync(join(VECTOR_DIR, 'board.json'), 'utf8')) as Record<string, unknown>;
const sim = await startSimDevice({ ...board, max_frame_bytes: FRAME_LIMIT });
after(() => sim.close());

test(`fuzz: ${FRAMES} frames get one well-formed reply each and the board still works`, { timeout: 120_000 }, async () => {
  const rand = prng(20261121);
  const client = await LineClient.connect(sim.port);
  let expected = 0;
  let received = 0;
  const codes = new Map<string, number>();
  for (let sent = 0; sent < FRAMES; sent += BATCH) {
    const frames = Array.from({ length: Math.min(BATCH, FRAMES - sent) }, () => frame(rand));
    const wanted = frames.filter((f) => !isBlank(f)).length;
    expected += wanted;
    await client.write(Buffer.concat(frames.flatMap((f) => [f, Buffer.from('\n')])));
    for (let i = 0; i < wanted; i++) {
      const line = await client.nextLine(10_000);
      const reply = JSON.parse(line) as Record<string, unknown>;
      // Fuzzed subscriptions and pull changes may produce real edge events; they are not replies.
      if (typeof reply['event'] === 'string' && !('ok' in reply)) {
        i--;
        continue;
      }
      assert.equal(typeof reply['ok'], 'boolean', `reply without ok: ${line}`);
      if (reply['ok'] === false) {
        const error = reply['error'] as { code: string; message: string };
        assert.equal(typeof error.message, 'string');
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        assert.notEqual(error.code, 'internal', `internal error for a fuzzed frame: ${line}`);
      }
      received++;
    }
  }
  assert.equal(received, expected);
  assert.ok(expected >= 10_000, `only ${expected} non-blank frames`);
  for (const code of ['bad_utf8', 'bad_json', 'not_an_object', 'frame_too_large', 'unknown_action', 'missing_field', 'bad_field']) {
    assert.ok((codes.get(code) ?? 0) > 0, `the fuzz never produced ${code}: ${JSON.stringify([...codes])}`);
  }
  // Nothing is left over on the first connection, and a fresh one works end to end.
  assert.deepEqual(await client.request({ action: 'ping', id: 'after-fuzz' }), { action: 'ping', id: 'after-fuzz', ok: true });
  client.close();
  const fresh = await LineClient.connect(sim.port);
  assert.equal((await fresh.request({ action: 'setup_pin', pin: 3, mode: 'output', value: 0 }))['ok'], true);
  assert.equal((await fresh.request({ action: 'write_pin', pin: 3, value: 1, timeout: 1 }))['ok'], true);
  assert.deepEqual(await fresh.request({ action: 'read_pin', pin: 3 }), { action: 'read_pin', pin: 3, value: 1, ok: true });
  fresh.close();
});
