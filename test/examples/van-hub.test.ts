// The camper van of examples/hub.yaml, run as it ships: the hub with that file (only its data
// folder and ports moved, to a temp folder and free loopback ports), the Pi's own board of
// examples/van-pi.yaml that the hub dials, and the two Picos of examples/van-tank.yaml and
// examples/van-cab.yaml as simulated boards that dial the hub. Then the outside world is played
// (a cold tank, a hot and damp cabin, a button press, a full tank) and every rule and binding of
// the file must act on the boards' pins.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadBoardConfig } from '../../src/device/config.js';
import { silentLogger } from '../../src/device/logger.js';
import { SimAht10 } from '../../src/device/sim/chips/aht10.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { REPO_ROOT } from '../support/micropython.js';
import { startRealTimeSim, type RealTimeSim } from '../support/sim-device.js';
import { eventually, tempDataDir } from '../support/test-hub.js';

const example = (name: string): string => join(REPO_ROOT, 'examples', name);
const yamlOf = (name: string): Record<string, unknown> => parseYaml(readFileSync(example(name), 'utf8')) as Record<string, unknown>;

// Readings come every 2 s from the tank and every 5 s from the Pi (the file's telemetry), so a
// rule may take two intervals to act; a loaded machine may be slower still.
const WAIT_MS = 20_000;

interface RuleView {
  name: string;
  fired: number;
  lastError: string | null;
}

describe('examples/hub.yaml: the camper van', { timeout: 120_000 }, () => {
  let pi: RealTimeSim;
  let hub: Hub;
  let tank: LinkedBoard;
  let cab: LinkedBoard;

  before(async () => {
    pi = await startRealTimeSim(await loadBoardConfig(example('van-pi.yaml')));
    // A hot, damp cabin from the start: the Pi's first reading (one telemetry interval after the
    // hub subscribes) already acts, and the cabin test needs to wait for only one more.
    pi.hardware.chip(1, 0x38, SimAht10).set({ temperature: 33, humidity: 80 });
    const raw = yamlOf('hub.yaml');
    const [piDevice, ...others] = raw['devices'] as Array<Record<string, unknown>>;
    assert.equal(piDevice?.['address'], '127.0.0.1:12345', 'the hub dials the Pi board on its listen address');
    assert.deepEqual(others, []);
    const config = parseHubConfig(
      {
        ...raw,
        data: tempDataDir(),
        link: { ...(raw['link'] as object), port: 0 },
        http: { ...(raw['http'] as object), port: 0 },
        devices: [{ ...piDevice, address: `127.0.0.1:${pi.device.port}` }],
      },
      'examples/hub.yaml',
    );
    hub = await startHub({ config, logger: silentLogger });
    const linked = async (file: string): Promise<LinkedBoard> => {
      const board = yamlOf(file);
      const id = String(board['name']);
      const { token } = hub.store.addDevice(id, {});
      return startLinkedBoard({ port: hub.link.port, token, id, config: board, keepaliveMs: null });
    };
    tank = await linked('van-tank.yaml');
    cab = await linked('van-cab.yaml');
    for (const id of ['van-pi', 'van-tank', 'van-cab']) {
      await eventually(() => (hub.facade.device(id)?.online === true ? true : undefined), `${id} linked to the hub`, WAIT_MS);
    }
  });

  after(async () => {
    await cab?.close();
    await tank?.close();
    await hub?.close();
    await pi?.close();
  });

  /** The rules as GET /api/rules shows them, by name. */
  const rules = async (): Promise<Map<string, RuleView>> => {
    const response = await fetch(`http://127.0.0.1:${hub.http.port}/api/rules`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } });
    const body = (await response.json()) as { rules: RuleView[] };
    return new Map(body.rules.map((r) => [r.name, r]));
  };
  const level = (board: LinkedBoard, pin: number) => board.hardware.gpio.level(pin);
  const until = (what: string, check: () => boolean) => eventually(() => (check() ? true : undefined), what, WAIT_MS);

  test('a tank near freezing heats its pad and lights the blue LED; warmer water turns both off', async () => {
    const [probe] = await tank.hardware.oneWire.scan(22);
    assert.ok(probe !== undefined, 'the tank probe of van-tank.yaml is on pin 22');
    tank.hardware.oneWire.setTemperature(probe, 2);
    await until('the heating pad (tank pin 17) and the frost LED (cab pin 10) on', () => level(tank, 17) === 1 && level(cab, 10) === 1);
    tank.hardware.oneWire.setTemperature(probe, 12);
    await until('both off once the water is at 12 °C', () => level(tank, 17) === 0 && level(cab, 10) === 0);
    const fired = await rules();
    assert.equal(fired.get('tank-frost-heater')?.fired, 1);
    assert.equal(fired.get('tank-frost-led')?.fired, 1);
  });

  test("the cabin air measured on the Pi lights the cab's red and yellow LEDs", async () => {
    const cabin = pi.hardware.chip(1, 0x38, SimAht10);
    await until('red (cab pin 11) and yellow (cab pin 12) on for 33 °C and 80 %', () => level(cab, 11) === 1 && level(cab, 12) === 1);
    cabin.set({ temperature: 22, humidity: 50 });
    await until('both off for 22 °C and 50 %', () => level(cab, 11) === 0 && level(cab, 12) === 0);
  });

  test('the cab button toggles the pump on the tank board, press after press', async () => {
    const press = async () => {
      cab.hardware.gpio.drive(14, 0);
      await new Promise((r) => setTimeout(r, 50));
      cab.hardware.gpio.drive(14, 1);
    };
    assert.equal(level(tank, 15), 0, 'the pump starts off');
    await press();
    await until('the pump (tank pin 15) on after a press', () => level(tank, 15) === 1);
    await press();
    await until('the pump off after a second press', () => level(tank, 15) === 0);
    assert.equal((await rules()).get('pump-button')?.fired, 2);
  });

  test("the buzzer sounds while the tank's float switch is up, and stops when the tank board goes", async () => {
    tank.hardware.gpio.drive(6, 1);
    await until('the buzzer (cab pin 16) on while the tank is full', () => level(cab, 16) === 1);
    tank.hardware.gpio.drive(6, 0);
    await until('the buzzer off when the float switch drops', () => level(cab, 16) === 0);
    tank.hardware.gpio.drive(6, 1);
    await until('the buzzer on again', () => level(cab, 16) === 1);
    for (const [name, rule] of await rules()) assert.equal(rule.lastError, null, `${name}: ${String(rule.lastError)}`);
    await tank.close();
    // The binding's lease is 6 s: the cab board itself silences the buzzer once the hub stops renewing.
    await until('the buzzer silent once the tank board is gone', () => level(cab, 16) === 0);
  });
});
