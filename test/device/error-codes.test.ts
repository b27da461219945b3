// Every code in the error catalogue, produced by a real bad input over TCP, and the board
// still answering afterwards.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEMO_BOARD_CONFIG } from '../../src/device/demo-board.js';
import { ERROR_CODES, LINK_ONLY_CODES, type BoardErrorCode } from '../../src/protocol/errors.js';
import { LineClient } from '../support/line-client.js';
import { startSimDevice, type SimDevice } from '../support/sim-device.js';

const TOKEN = 'read-only-token-0123456789';
const sims: SimDevice[] = [];
after(async () => {
  for (const s of sims) await s.close();
});

const sim = await startSimDevice({ ...DEMO_BOARD_CONFIG, max_frame_bytes: 1024 });
const guarded = await startSimDevice({ ...DEMO_BOARD_CONFIG, auth: { tokens: [{ token: TOKEN, scope: 'read' }] } });
sims.push(sim, guarded);

type Producer = (c: LineClient, g: LineClient) => Promise<Record<string, unknown>>;

async function raw(c: LineClient, bytes: string | Buffer): Promise<Record<string, unknown>> {
  await c.write(bytes);
  return c.next();
}

const BOARD_CODES = ERROR_CODES.filter((code): code is BoardErrorCode => !(LINK_ONLY_CODES as readonly string[]).includes(code));

const PRODUCERS: Record<BoardErrorCode, Producer> = {
  bad_utf8: (c) => raw(c, Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a])),
  bad_json: (c) => raw(c, '{"action":"ping",}\n'),
  not_an_object: (c) => raw(c, '["ping"]\n'),
  frame_too_large: (c) => raw(c, `{"action":"ping","pad":"${'x'.repeat(2000)}"}\n`),
  unknown_action: (c) => c.request({ action: 'launch' }),
  missing_field: (c) => c.request({ action: 'read_pin' }),
  bad_field: (c) => c.request({ action: 'setup_pin', pin: 2, mode: 'open-drain' }),
  pin_not_setup: (c) => c.request({ action: 'read_pin', pin: 3 }),
  pin_conflict: (c) => c.request({ action: 'setup_pin', pin: 4, mode: 'output' }),
  unsupported: (c) => c.request({ action: 'sleep', deep: true, time_ms: 1000 }),
  sensor_error: async (c) => {
    const chip = sim.hardware.buses.get(0)?.detach(0x49);
    await c.send({ action: 'read_sensor', name: 't_sink' });
    await new Promise((r) => setTimeout(r, 10));
    await sim.clock.advance(500);
    const reply = await c.next();
    if (chip) sim.hardware.buses.get(0)?.attach(chip);
    return reply;
  },
  lease_too_long: (c) => c.request({ action: 'write_pin', pin: 15, value: 1, timeout: 3601 }),
  limit_exceeded: async (c) => {
    const subs: number[] = [];
    for (let i = 0; i < 32; i++) subs.push((await c.request({ action: 'subscribe', pin: 22 }))['sub'] as number);
    const refused = await c.request({ action: 'subscribe', pin: 22 });
    for (const sub of subs) await c.request({ action: 'unsubscribe', sub });
    return refused;
  },
  unauthorized: async (_c, g) => {
    assert.equal((await g.request({ action: 'auth', token: TOKEN }))['scope'], 'read');
    return g.request({ action: 'write_pin', pin: 15, value: 1, timeout: 1 });
  },
  internal: async (c) => {
    // A backend that fails in a way no driver expected: the board reports it and keeps going.
    const gpio = sim.hardware.gpio;
    const read = gpio.read.bind(gpio);
    gpio.read = () => {
      throw new Error('GPIO chip went away');
    };
    try {
      return await c.request({ action: 'read_pin', pin: 22 });
    } finally {
      gpio.read = read;
    }
  },
};

test('every error code is produced by a real bad input, with a message, and the connection stays usable', { timeout: 30_000 }, async () => {
  const c = await LineClient.connect(sim.port);
  const g = await LineClient.connect(guarded.port);
  try {
    assert.deepEqual(Object.keys(PRODUCERS).sort(), [...BOARD_CODES].sort(), 'a producer for every code a board sends');
    for (const code of BOARD_CODES) {
      const reply = await PRODUCERS[code](c, g);
      assert.equal(reply['ok'], false, `${code}: ${JSON.stringify(reply)}`);
      const error = reply['error'] as { code: string; message: string };
      assert.equal(error.code, code, `expected ${code}, got ${JSON.stringify(reply)}`);
      assert.ok(error.message.length > 10, `${code} has a message that says something: ${error.message}`);
      assert.deepEqual(await c.request({ action: 'ping', id: code }), { action: 'ping', id: code, ok: true });
    }
  } finally {
    c.close();
    g.close();
  }
});

test('an internal error names the action and asks to be reported', { timeout: 30_000 }, async () => {
  const c = await LineClient.connect(sim.port);
  const gpio = sim.hardware.gpio;
  const read = gpio.read.bind(gpio);
  gpio.read = () => {
    throw new Error('GPIO chip went away');
  };
  try {
    const reply = await c.request({ action: 'read_pin', pin: 22 });
    assert.deepEqual(reply['error'], { code: 'internal', message: 'internal error in read_pin: GPIO chip went away; please report it' });
  } finally {
    gpio.read = read;
    c.close();
  }
});
