// Idle or silent clients never lock a board's owner out (protocol.md §1, fairness): the device
// runtime over real TCP on loopback, with a clock the test moves. A connection with no scope (a
// board with tokens) or no request yet (without) is closed 10 s after it opened and gives way to
// a newcomer on a full board; proven connections stay, and a board full of them refuses.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import type { Logger } from '../../src/device/logger.js';
import { startDevice, type RunningDevice } from '../../src/device/runtime.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import { LineClient } from '../support/line-client.js';

const TOKEN = 'owner-token-0123456789';
const RELAY = { name: 'fair', pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }] };
const WITH_TOKEN = { ...RELAY, auth: { tokens: [{ token: TOKEN, scope: 'actuate' }] } };

interface Rig {
  device: RunningDevice;
  hardware: SimHardware;
  clock: ManualClock;
  log: { debug: string[]; warn: string[] };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function board(raw: unknown, maxConnections?: number): Promise<Rig> {
  const clock = new ManualClock();
  const config = parseBoardConfig(raw);
  const hardware = createSimHardware(config, clock);
  const log = { debug: [] as string[], warn: [] as string[] };
  const logger: Logger = { debug: (m) => log.debug.push(m), info: () => undefined, warn: (m) => log.warn.push(m), error: (m) => log.warn.push(m) };
  const device = await startDevice({ config, hardware, clock, logger, host: '127.0.0.1', port: 0, ...(maxConnections !== undefined ? { maxConnections } : {}) });
  cleanups.push(() => device.close());
  return { device, hardware, clock, log };
}

async function connect(rig: Rig): Promise<LineClient> {
  const c = await LineClient.connect(rig.device.port);
  cleanups.push(() => c.close());
  return c;
}

/** Opens `n` connections one after another, so the board sees them in this order. */
async function connectMany(rig: Rig, n: number): Promise<LineClient[]> {
  const clients: LineClient[] = [];
  for (let i = 0; i < n; i++) clients.push(await connect(rig));
  return clients;
}

/** A round trip on a connection the board answers: everything sent before it has been handled. */
async function roundTrip(c: LineClient): Promise<void> {
  assert.equal((await c.request({ action: 'ping', id: 'sync' }))['id'], 'sync');
}

/** Gives the sockets the board closed time to report it. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

describe('security: fairness in direct mode (device runtime)', { timeout: 60_000 }, () => {
  test("security: a board's owner gets in with 64 idle clients connected", async () => {
    const rig = await board(WITH_TOKEN);
    const idle = await connectMany(rig, 64);
    const owner = await connect(rig);
    assert.deepEqual(await owner.request({ action: 'auth', token: TOKEN }), { action: 'auth', token: '***', scope: 'actuate', ok: true });
    const write = await owner.request({ action: 'write_pin', pin: 15, value: 1, timeout: 5 });
    assert.equal(write['ok'], true, JSON.stringify(write));
    assert.equal(rig.hardware.gpio.level(15), 1);
    await idle[0]?.waitClosed();
    await settle();
    assert.deepEqual(
      idle.map((c) => c.closed),
      idle.map((_, i) => i === 0),
      'the oldest idle connection gave way, and only it',
    );
  });

  test('security: more idle clients push out idle ones, never the authenticated owner', async () => {
    const rig = await board(WITH_TOKEN, 4);
    const owner = await connect(rig);
    await owner.request({ action: 'auth', token: TOKEN });
    const idle = await connectMany(rig, 3);
    const later = await connectMany(rig, 5);
    await roundTrip(owner);
    await settle();
    assert.equal(owner.closed, false);
    assert.deepEqual(
      [...idle, ...later].map((c) => c.closed),
      [true, true, true, true, true, false, false, false],
    );
  });

  test('security: a connection without a token is closed 10 s after it opened; an authenticated one may stay silent for hours', async () => {
    const rig = await board(WITH_TOKEN);
    const silent = await connect(rig);
    const pinger = await connect(rig);
    const owner = await connect(rig);
    await roundTrip(pinger); // a request, but no scope: still closed at 10 s
    await owner.request({ action: 'auth', token: TOKEN });
    await rig.clock.advance(9_999);
    await settle();
    assert.equal(silent.closed || pinger.closed, false, 'not before 10 s');
    await rig.clock.advance(1);
    await silent.waitClosed();
    await pinger.waitClosed();
    await rig.clock.advance(3_600_000);
    await roundTrip(owner);
  });

  test('security: without tokens a silent connection is closed after 10 s, one that sent a request stays, and a board full of those refuses', async () => {
    const rig = await board({ ...RELAY, auth: 'none' }, 2);
    const talker = await connect(rig);
    const silent = await connect(rig);
    await roundTrip(talker);
    const newcomer = await connect(rig);
    await silent.waitClosed();
    await roundTrip(newcomer);
    const refused = await connect(rig);
    await refused.waitClosed();
    await assert.rejects(refused.nextLine(100), /closed/, 'closed without a reply');
    await rig.clock.advance(20_000);
    await roundTrip(talker);
    await roundTrip(newcomer);
  });

  test('security: evictions are logged at debug each and at warn once a minute in aggregate', async () => {
    const rig = await board(WITH_TOKEN);
    await connectMany(rig, 64);
    const newcomers = await connectMany(rig, 10);
    await roundTrip(newcomers[9] as LineClient);
    const closing = (lines: string[]) => lines.filter((l) => l.includes('had not authenticated'));
    assert.equal(closing(rig.log.debug).length, 10, rig.log.debug.join('\n'));
    assert.deepEqual(closing(rig.log.warn).length, 1, rig.log.warn.join('\n'));
    assert.match(rig.log.warn[0] ?? '', /closed 1 connection in the last minute .*auth within 10 s/);
    // At 10 s the 64 still unproven are closed; at 60 s one line counts them with the 9 evictions.
    await rig.clock.advance(60_000);
    assert.equal(closing(rig.log.warn).length, 2, rig.log.warn.join('\n'));
    assert.match(rig.log.warn[1] ?? '', /^closed 73 connections in the last minute/);
  });
});
