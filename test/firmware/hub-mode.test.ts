// The MicroPython firmware (under CPython, on the shims) in hub mode against the real hub: the
// shared vectors that make sense through the hub's command API, then an outage through the
// fault proxy with store-and-forward, exactly-once replies and a lease that ends on the board.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { JsonObject } from '../../src/protocol/codec.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { mismatch } from '../support/match.js';
import { eventually, startTestHub } from '../support/test-hub.js';
import { loadVectorFiles, type VectorCase } from '../support/vectors.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Hub = Awaited<ReturnType<typeof startTestHub>>;

async function linkedFirmware(hub: Hub, port: number, config: unknown, manualClock: boolean): Promise<FirmwareBoard> {
  const { token } = await hub.store.addDevice('pico');
  const board = await startFirmwareBoard(config, { manualClock, args: ['--hub', `127.0.0.1:${port}`, '--id', 'pico', '--token', token, '--keepalive-ms', '200', '--no-listen'] });
  cleanups.push(() => board.close());
  await eventually(async () => ((await hub.deviceLink('pico'))?.online ? true : undefined), `the firmware board online at the hub (stderr: ${board.stderr()})`, 10_000);
  return board;
}

/** A case runs through the hub when it speaks on one connection, with JSON requests only. */
function throughHub(vcase: VectorCase): boolean {
  return vcase.steps.every((s) => (s.client ?? 'a') === 'a' && s.disconnect === undefined && s.send_text === undefined && s.send_hex === undefined);
}

const isEvent = (m: unknown) => typeof m === 'object' && m !== null && 'event' in m;

async function runThroughHub(hub: Hub, board: FirmwareBoard, vcase: VectorCase): Promise<void> {
  const seen = (await hub.facade.events({ device: 'pico', type: 'lease_expired' })).length;
  let expired = 0;
  for (const [index, step] of vcase.steps.entries()) {
    const where = `${vcase.name}, step ${index + 1}`;
    if (step.advance_ms !== undefined) await board.advance(step.advance_ms);
    const expect = step.expect ?? [];
    if (step.send !== undefined) {
      const reply = await hub.facade.command('pico', step.send);
      const diff = mismatch(expect[0], reply);
      if (diff) throw new Error(`${where}: reply: ${diff}`);
    }
    // Events reach the hub as link messages; per-connection seq is replaced by the link's numbers.
    for (const e of expect.filter(isEvent) as JsonObject[]) {
      expired++;
      const stored = await eventually(async () => (await hub.facade.events({ device: 'pico', type: 'lease_expired' }))[seen + expired - 1], `${where}: ${JSON.stringify(e)}`);
      const want = { ...e };
      delete want['seq'];
      delete want['ts'];
      const { boot_id: bootId, ...data } = stored.data;
      assert.equal(typeof bootId, 'string');
      const diff = mismatch(want, { event: stored.type, ...data });
      if (diff) throw new Error(`${where}: event: ${diff}`);
    }
  }
}

describe('firmware in hub mode: the shared vectors through the hub', { timeout: 240_000 }, () => {
  for (const file of loadVectorFiles().filter((f) => f.file === 'actions.json' || f.file === 'leases.json')) {
    for (const vcase of file.cases.filter(throughHub)) {
      test(`${file.file}: ${vcase.name}`, async () => {
        const hub = await startTestHub();
        cleanups.push(() => hub.close());
        const board = await linkedFirmware(hub, hub.link.port, file.board, true);
        try {
          await runThroughHub(hub, board, vcase);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n--- firmware stderr ---\n${board.stderr()}`, { cause: err });
        }
      });
    }
  }
});

describe('firmware in hub mode: outages', { timeout: 60_000 }, () => {
  const SENSOR_BOARD = {
    name: 'greenhouse',
    auth: 'none',
    i2c: [{ bus: 0, sda: 4, scl: 5 }],
    pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
    sensors: [{ name: 'air', driver: 'aht10', address: '0x38' }],
  };

  test('readings taken during a black hole arrive afterwards in order; a lease set before it still ends on the board', async () => {
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 } } });
    cleanups.push(() => hub.close());
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hub.link.port } });
    cleanups.push(() => proxy.close());
    const board = await linkedFirmware(hub, proxy.port, SENSOR_BOARD, false);
    const readings = async () => (await hub.facade.readings({ device: 'pico', sensor: 'air', from: 0, to: Date.now() + 60_000 })).filter((r) => r.quantity === 'temperature');
    await eventually(async () => ((await readings()).length >= 3 ? true : undefined), 'readings before the outage');
    const reply = await hub.facade.command('pico', { action: 'write_pin', pin: 15, value: 1, timeout: 1 });
    assert.equal(reply['ok'], true);
    const before = (await readings()).length;
    const outageStart = Date.now();
    proxy.blackhole();
    await new Promise((r) => setTimeout(r, 1500));
    // The lease ended on the board during the outage, with nobody to tell.
    const state = await board.state();
    assert.equal(state.levels['15'], 0, 'the relay is off again although the hub could not be reached');
    proxy.heal();
    const after = await eventually(async () => {
      const r = await readings();
      return r.some((x) => x.ts > outageStart + 300 && x.ts < outageStart + 1200) ? r : undefined;
    }, 'readings stamped inside the outage', 15_000);
    assert.ok(after.length > before + 5, `readings queued during the outage arrived (${before} → ${after.length})`);
    assert.ok(after.every((r, i) => i === 0 || r.ts >= (after[i - 1] as { ts: number }).ts), 'in order');
    const expired = await eventually(() => hub.facade.events({ device: 'pico', type: 'lease_expired' }), 'lease_expired after the outage');
    assert.equal(expired.length, 1, 'the expiry arrived exactly once');
    assert.equal(expired[0]?.data['pin'], 15);
    const link = (await board.state()).link;
    assert.ok(link !== null && link.connections >= 2, 'the board dialled again by itself');
  });

  test('commands sent while the board is away fail at once; a command after the heal runs once', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hub.link.port } });
    cleanups.push(() => proxy.close());
    await linkedFirmware(hub, proxy.port, SENSOR_BOARD, false);
    proxy.dropAll();
    proxy.refuse(true);
    await eventually(async () => ((await hub.deviceLink('pico'))?.online === false ? true : undefined), 'offline');
    await assert.rejects(hub.facade.command('pico', { action: 'ping' }), (e: { code?: string }) => e.code === 'device_offline');
    proxy.refuse(false);
    await eventually(async () => ((await hub.deviceLink('pico'))?.online ? true : undefined), 'online again', 10_000);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => hub.facade.command('pico', { action: 'ping', id: i })));
    assert.deepEqual(replies.map((r) => r['id']), Array.from({ length: 20 }, (_, i) => i));
  });
});
