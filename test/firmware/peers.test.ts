// Boards following boards without a hub (docs/firmware.md, Following other boards): two
// firmware boards under CPython on loopback, the examples' RGB case, where B follows A's
// buttons, relay and chip temperature; then a firmware board following a TypeScript board. A
// followed board that dies leaves B's outputs at their safe values within the lease.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { loadBoardConfig } from '../../src/device/config.js';
import { REPO_ROOT, startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { startRealTimeSim } from '../support/sim-device.js';
import { eventually } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const example = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'firmware', name), 'utf8')) as Record<string, unknown>;
const READ_TOKEN = 'rgb-a-read-token-change-me';
const ADMIN_TOKEN = 'rgb-a-admin-token-change-me';
// Generous: the lease is 2 s; a loaded CI machine may be slow to notice and to answer.
const SLACK_MS = 6000;

/** Board B of the example, following A on this port, its token in a file. */
async function startB(port: number): Promise<FirmwareBoard> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-peers-'));
  const tokenFile = join(dir, 'rgb-a.token');
  writeFileSync(tokenFile, `${READ_TOKEN}\n`);
  const b = example('peers-rgb-b.json');
  const [peer] = b['peers'] as Array<Record<string, unknown>>;
  assert.ok(peer !== undefined);
  peer['port'] = port;
  peer['token_file'] = tokenFile;
  const board = await startFirmwareBoard(b);
  cleanups.push(() => board.close());
  return board;
}

async function until(board: FirmwareBoard, what: string, check: (s: Awaited<ReturnType<FirmwareBoard['state']>>) => boolean): Promise<void> {
  await eventually(async () => (check(await board.state()) ? true : undefined), `${what} (B's console: ${board.stderr()})`, 10_000);
}

const near = (x: number | undefined, want: number) => x !== undefined && Math.abs(x - want) < 0.05;

/** Kills the followed board; B's followed outputs are safe (0) within the lease, plus slack. */
async function killAndExpectSafe(kill: () => Promise<void>, b: FirmwareBoard, leaseMs: number): Promise<void> {
  const t0 = Date.now();
  await kill();
  await until(b, 'every followed output back at its safe value', (s) => s.levels['15'] === 0 && (s.duty['16'] ?? 0) === 0 && (s.duty['17'] ?? 0) === 0);
  const took = Date.now() - t0;
  assert.ok(took <= leaseMs + SLACK_MS, `the outputs went safe ${took} ms after the followed board died; the lease is ${leaseMs} ms`);
}

describe('firmware board follows a firmware board (examples/firmware/peers-rgb-*.json)', { timeout: 90_000 }, () => {
  test('inputs, an output and a sensor quantity drive B; A dead leaves B safe within the lease', async () => {
    const a = await startFirmwareBoard(example('peers-rgb-a.json'));
    cleanups.push(() => a.close());
    const b = await startB(a.port);
    // Pin 15 has a pull-up (blue follows it inverted: dark); 14 has a pull-down (green dark).
    await a.control('chip_temp 30');
    await until(b, 'red at duty 0.5 for 30 °C in [20, 40]', (s) => near(s.duty['16'], 0.5));
    await a.control('drive 14 1');
    await until(b, 'green on with A\'s button 14', (s) => near(s.duty['17'], 1));
    await a.control('drive 14 0');
    await until(b, 'green off again', (s) => (s.duty['17'] ?? 0) === 0);
    await a.control('drive 15 0');
    await until(b, 'blue on while button 15 is low (invert)', (s) => near(s.duty['18'], 1));
    await a.control('chip_temp 36');
    await until(b, 'alarm on above 35 °C', (s) => s.levels['3'] === 1 && near(s.duty['16'], 0.8));
    await a.control('chip_temp 33');
    await until(b, 'alarm stays on between the thresholds', (s) => near(s.duty['16'], 0.65));
    assert.equal((await b.state()).levels['3'], 1, 'hysteresis: 33 °C is between off (30) and on (35)');
    const owner = await connect({ host: '127.0.0.1', port: a.port, token: ADMIN_TOKEN });
    cleanups.push(() => owner.close());
    await owner.writePin(2, 1, { timeout: 60 });
    await until(b, 'B\'s led follows A\'s relay', (s) => s.levels['15'] === 1);
    await owner.close();
    await a.control('drive 14 1');
    await until(b, 'green on before A dies', (s) => near(s.duty['17'], 1));
    await killAndExpectSafe(() => a.close(), b, 2000);
  });

  test('a peer with a wrong token is refused, and nothing on B moves', async () => {
    const a = await startFirmwareBoard({ ...example('peers-rgb-a.json'), auth: { tokens: [{ token: 'another-token-0123456789', scope: 'read' }] } });
    cleanups.push(() => a.close());
    const b = await startB(a.port);
    await a.control('chip_temp 30');
    await a.control('drive 14 1');
    await eventually(() => (b.stderr().includes('refused the token') ? true : undefined), `B says A refused its token (B's console: ${b.stderr()})`, 10_000);
    const s = await b.state();
    assert.equal(s.duty['16'] ?? 0, 0, 'red stays at its safe duty');
    assert.equal(s.duty['17'] ?? 0, 0, 'green stays at its safe duty');
  });
});

describe('firmware board follows a TypeScript board (examples/peers-rgb-a.yaml)', { timeout: 60_000 }, () => {
  test('the sim board\'s button and temperature drive B; closing it leaves B safe within the lease', async () => {
    const config = await loadBoardConfig(join(REPO_ROOT, 'examples', 'peers-rgb-a.yaml'));
    const { device, hardware, close } = await startRealTimeSim(config);
    cleanups.push(close);
    const b = await startB(device.port);
    hardware.adc.setChipTemperature(25);
    await until(b, 'red at duty 0.25 for 25 °C', (s) => near(s.duty['16'], 0.25));
    hardware.gpio.drive(14, 1);
    await until(b, 'green on with the sim board\'s button 14', (s) => near(s.duty['17'], 1));
    device.board.writePin(2, 1, 60);
    await until(b, 'B\'s led follows the sim board\'s relay', (s) => s.levels['15'] === 1);
    await killAndExpectSafe(close, b, 2000);
  });
});
