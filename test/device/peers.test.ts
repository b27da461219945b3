// Boards following boards without a hub, in the TypeScript runtime (docs/board-config.md#peers):
// the peers section of the board config, the mapping, and two simulated boards of the examples
// (examples/peers-rgb-*.yaml) where B mirrors A on its RGB LED and goes dark when A dies.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ManualClock, SystemClock } from '../../src/common/clock.js';
import { Board } from '../../src/device/board.js';
import { ConfigError, loadBoardConfig, parseBoardConfig, type BoardConfig } from '../../src/device/config.js';
import { mappedValue, startPeers } from '../../src/device/peers.js';
import { startDevice } from '../../src/device/runtime.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import { REPO_ROOT } from '../support/micropython.js';
import { startRealTimeSim, type RealTimeSim } from '../support/sim-device.js';
import { eventually } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const exampleFile = (name: string) => join(REPO_ROOT, 'examples', name);

function problemsOf(raw: unknown): string[] {
  try {
    parseBoardConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return assert.fail('the config was accepted');
}

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

const base = (follow: unknown[], peer: Record<string, unknown> = {}) => ({
  auth: 'none',
  actuators: [{ name: 'red', driver: 'pwm', pin: 16 }],
  pins: [{ pin: 25, name: 'led', mode: 'output', value: 0 }],
  peers: [{ name: 'a', host: '127.0.0.1', follow, ...peer }],
});

describe('board config: peers', { timeout: 10_000 }, () => {
  test('the examples parse, with the defaults the firmware gives', () => {
    const b = parseBoardConfig(parseYaml(readFileSync(exampleFile('peers-rgb-b.yaml'), 'utf8')));
    assert.equal(b.peers.length, 1);
    assert.deepEqual(b.peers[0]?.follow.map((r) => r.to), ['red', 'green', 'blue', 'led', 'alarm']);
    const plain = parseBoardConfig(base([{ input: 14, to: 'led' }]));
    assert.deepEqual({ port: plain.peers[0]?.port, lease_s: plain.peers[0]?.lease_s, every_ms: plain.peers[0]?.every_ms }, { port: 12345, lease_s: 3, every_ms: 1000 });
    // The firmware's JSON example is the same config (only listen differs in form).
    const fw = JSON.parse(readFileSync(exampleFile('firmware/peers-rgb-b.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(parseBoardConfig(fw).peers[0]?.follow, b.peers[0]?.follow);
  });

  test('each problem names its field path', () => {
    // Field checks first; the checks across fields run once every field is well formed.
    const fields = problemsOf(base([{ input: 14 }], { colour: 'red' }));
    assert.ok(fields.some((p) => /^peers\[0\]: Unrecognized key: "colour"/.test(p)), fields.join('\n'));
    assert.ok(fields.some((p) => /^peers\[0\]\.follow\[0\]\.to: expected an actuator name/.test(p)), fields.join('\n'));
    const problems = problemsOf(
      base(
        [
          { sensor: 'chip', quantity: 'temperature', to: 'led', range: [20, 40] },
          { output: 2, input: 3, to: 'red' },
          { sensor: 'chip', to: 'red' },
          { input: 5, to: 'red', threshold: { on: 1, off: 0 } },
          { input: 6, to: 'nothing' },
        ],
        { lease_s: 1 },
      ),
    );
    for (const want of [
      /^peers\[0\]\.lease_s: expected at least two every_ms/,
      /^peers\[0\]\.follow\[0\]\.to: a range gives a duty/,
      /^peers\[0\]\.follow\[1\]: expected exactly one of input, output or sensor/,
      /^peers\[0\]\.follow\[2\]\.quantity: expected the quantity/,
      /^peers\[0\]\.follow\[2\]: expected range/,
      /^peers\[0\]\.follow\[3\]: an input rule copies the level/,
      /^peers\[0\]\.follow\[4\]\.to: expected an actuator name/,
    ]) {
      assert.ok(problems.some((p) => want.test(p)), `${String(want)} in:\n${problems.join('\n')}`);
    }
  });

  test('an output driven twice, a lease over the maximum and two tokens are refused', () => {
    const problems = problemsOf(base([{ input: 14, to: 'led' }, { output: 2, to: 25 }], { lease_s: 7200, token: 'a-read-token-0123456789', token_file: 'a.token' }));
    assert.ok(problems.includes('peers[0].follow[1].to: pin 25 is already driven by peers[0].follow[0]'), problems.join('\n'));
    const short = base([{ input: 14, to: 'red' }], { lease_s: 3 });
    short.actuators[0] = { ...short.actuators[0], max_lease_s: 1 } as (typeof short.actuators)[0];
    const lines = problemsOf(short);
    assert.ok(lines.includes("peers[0].follow[0].to: its max_lease_s is 1 s, shorter than peers[0].lease_s (3 s): every write would be refused; lower lease_s or raise the output's max_lease_s"), lines.join('\n'));
    assert.ok(problems.includes('peers[0].lease_s: longer than max_lease_s (3600 s)'), problems.join('\n'));
    assert.ok(problems.includes('peers[0].token: give token or token_file, not both'), problems.join('\n'));
  });
});

describe('peer mapping', { timeout: 10_000 }, () => {
  test('copies, inverts, scales with a clamp, and holds between thresholds as the firmware does', () => {
    const rules = parseBoardConfig(
      base([
        { input: 14, to: 'led' },
        { sensor: 's', quantity: 'q', to: 'red', range: [20, 40], duty: [0.2, 1] },
      ]),
    ).peers[0]?.follow;
    assert.ok(rules !== undefined);
    const [copy, lin] = rules;
    assert.ok(copy !== undefined && lin !== undefined);
    assert.equal(mappedValue(copy, 1, undefined), 1);
    assert.equal(mappedValue({ ...copy, invert: true }, 1, undefined), 0);
    assert.deepEqual([10, 20, 30, 40, 50].map((v) => mappedValue(lin, v, undefined)), [0.2, 0.2, 0.6, 1, 1]);
    const fan = { sensor: 's', quantity: 'q', to: 'led', threshold: { on: 35, off: 30 } };
    assert.deepEqual([29, 33, 36].map((v) => mappedValue(fan, v, undefined)), [0, 0, 1]);
    assert.equal(mappedValue(fan, 33, 1), 1);
    const heater = { sensor: 's', quantity: 'q', to: 'led', threshold: { on: 18, off: 20 } };
    assert.deepEqual([17, 19, 21].map((v) => mappedValue(heater, v, undefined)), [1, 0, 0]);
    assert.equal(mappedValue(heater, 19, 1), 1);
  });
});

async function startSim(config: Readonly<BoardConfig>): Promise<RealTimeSim> {
  const sim = await startRealTimeSim(config);
  cleanups.push(sim.close);
  return sim;
}

const duty = (hw: SimHardware, pin: number) => hw.pwm.channel(pin)?.duty ?? 0;

describe('a sim board follows a sim board (examples/peers-rgb-*.yaml)', { timeout: 60_000 }, () => {
  test('buttons, relay and temperature drive B; A closed leaves B safe within the lease', async () => {
    const a = await startSim(await loadBoardConfig(exampleFile('peers-rgb-a.yaml')));
    const dir = mkdtempSync(join(tmpdir(), 'tether-peers-'));
    const tokenFile = join(dir, 'rgb-a.token');
    writeFileSync(tokenFile, 'rgb-a-read-token-change-me\n');
    const raw = parseYaml(readFileSync(exampleFile('peers-rgb-b.yaml'), 'utf8')) as { peers: Array<Record<string, unknown>> };
    raw.peers = raw.peers.map((p) => ({ ...p, port: a.device.port, token_file: tokenFile }));
    const b = await startSim(parseBoardConfig({ ...raw, listen: { host: '127.0.0.1', port: 0 } }));
    a.hardware.adc.setChipTemperature(30);
    await eventually(() => (Math.abs(duty(b.hardware, 16) - 0.5) < 0.05 ? true : undefined), 'red at 0.5 for 30 °C', 10_000);
    a.hardware.gpio.drive(14, 1);
    await eventually(() => (duty(b.hardware, 17) === 1 ? true : undefined), "green with A's button", 10_000);
    a.hardware.gpio.drive(15, 0);
    await eventually(() => (duty(b.hardware, 18) === 1 ? true : undefined), 'blue while button 15 is low (invert)', 10_000);
    a.device.board.writePin(2, 1, 60);
    await eventually(() => (b.hardware.gpio.level(15) === 1 ? true : undefined), "B's led follows A's relay", 10_000);
    a.hardware.adc.setChipTemperature(36);
    await eventually(() => (b.hardware.gpio.level(3) === 1 ? true : undefined), 'alarm above 35 °C', 10_000);
    const t0 = Date.now();
    await a.close();
    await eventually(
      () => (duty(b.hardware, 16) === 0 && duty(b.hardware, 17) === 0 && b.hardware.gpio.level(15) === 0 && b.hardware.gpio.level(3) === 0 ? true : undefined),
      'every followed output back at its safe value',
      10_000,
    );
    // Generous: the lease is 2 s; a loaded CI machine may be slow.
    assert.ok(Date.now() - t0 <= 2000 + 6000, `safe ${Date.now() - t0} ms after A closed`);
  });

  test('a rule the peer refuses is said once, and the other rules go on', async () => {
    const a = await startSim(await loadBoardConfig(exampleFile('peers-rgb-a.yaml')));
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
    const config = parseBoardConfig(
      base(
        [
          { sensor: 'no_such_sensor', quantity: 'temperature', to: 'led', threshold: { on: 1, off: 0 } },
          { input: 14, to: 'red' },
        ],
        { port: a.device.port, token: 'rgb-a-read-token-change-me' },
      ),
    );
    const clock = new SystemClock();
    const hardware = createSimHardware(config, clock);
    const device = await startDevice({ config, hardware, clock, host: '127.0.0.1', port: 0, logger });
    cleanups.push(() => device.close());
    a.hardware.gpio.drive(14, 1);
    await eventually(() => (duty(hardware, 16) === 1 ? true : undefined), 'red follows button 14 although the other rule was refused', 10_000);
    assert.equal(warnings.filter((w) => w.includes('refused subscribe')).length, 1, warnings.join('\n'));
    assert.equal(hardware.gpio.level(25), 0, 'the refused rule drives nothing');
  });

  test('two refused rules are each said once, however they alternate', async () => {
    const a = await startSim(await loadBoardConfig(exampleFile('peers-rgb-a.yaml')));
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
    const config = parseBoardConfig(
      base(
        [
          { input: 20, to: 'led' },
          { input: 21, to: 'red' },
        ],
        { port: a.device.port, token: 'rgb-a-read-token-change-me', every_ms: 50, lease_s: 1 },
      ),
    );
    const clock = new SystemClock();
    const device = await startDevice({ config, hardware: createSimHardware(config, clock), clock, host: '127.0.0.1', port: 0, logger });
    cleanups.push(() => device.close());
    await eventually(() => (warnings.filter((w) => w.includes('refused read_pin')).length >= 2 ? true : undefined), 'both refusals said', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refusals = warnings.filter((w) => w.includes('refused'));
    assert.equal(refusals.length, 4, `each refused subscribe and read_pin once over ten polls:\n${refusals.join('\n')}`);
  });

  test('close() ends the follower at once, also in the backoff after its peer went away', async () => {
    const a = await startSim(await loadBoardConfig(exampleFile('peers-rgb-a.yaml')));
    const config = parseBoardConfig(base([{ input: 14, to: 'led' }], { port: a.device.port, token: 'rgb-a-read-token-change-me', every_ms: 1000, lease_s: 2 }));
    const clock = new ManualClock();
    const hardware = createSimHardware(config, clock);
    const board = new Board(config, hardware, clock, quietLogger);
    await board.start();
    const peers = await startPeers(config, board, clock, quietLogger);
    cleanups.push(() => peers.close());
    await eventually(() => (peers.status()[0]?.up === true ? true : undefined), 'linked to a', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await a.close();
    // The poll's 1 s pause, then the reconnect backoff, on a clock only this test moves.
    for (let t = 0; t < 1100; t += 50) {
      await clock.advance(50);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closed = await Promise.race([peers.close().then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 3000, 'still closing after 3 s'))]);
    assert.equal(closed, 'closed');
    assert.equal(clock.pendingTimers, 0, 'no timer of the follower is left');
  });

  test('a token file that cannot be read stops the start, naming the field', async () => {
    const config = parseBoardConfig(base([{ input: 14, to: 'led' }], { token_file: join(tmpdir(), 'no-such-dir-tether', 'a.token') }));
    const clock = new SystemClock();
    await assert.rejects(startDevice({ config, hardware: createSimHardware(config, clock), clock, host: '127.0.0.1', port: 0 }), (err: Error) => {
      assert.match(err.message, /peers\[0\]\.token_file: .*cannot read .*a\.token/s);
      return true;
    });
  });
});
