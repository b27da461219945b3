// The camper van of examples/hub.yaml with its two Picos running the firmware (under CPython on
// the machine shims, as a Pico W): the board files examples/van-tank.yaml and
// examples/van-cab.yaml, as JSON, are what the firmware reads from config/device.json, unchanged
// (docs/firmware.md), and the boards dial the hub of examples/hub.yaml (test/examples/van.ts).
// The tank probe's readings reach the hub with the quantity its rules name, and the rules and the
// binding act on the firmware's pins. (The shims' DS18B20 stays at 21 °C, so the frost rules,
// run in van-hub.test.ts, do not fire here.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';
import { exampleYaml, startVanHub, until, type VanHub } from './van.js';

describe('examples/hub.yaml: the camper van, its Picos on the firmware', { timeout: 120_000, skip: SKIP_WITHOUT_PYTHON3 }, () => {
  let van: VanHub;
  let tank: FirmwareBoard;
  let cab: FirmwareBoard;

  before(async () => {
    van = await startVanHub();
    const pico = async (file: string): Promise<FirmwareBoard> => {
      const config = exampleYaml(file);
      const id = String(config['name']);
      const args = ['--hub', `127.0.0.1:${van.hub.link.port}`, '--id', id, '--token', await van.register(id), '--no-listen', '--machine', 'Raspberry Pi Pico W with RP2040'];
      return startFirmwareBoard(config, { args });
    };
    tank = await pico('van-tank.yaml');
    cab = await pico('van-cab.yaml');
    await van.allOnline();
  });

  after(async () => {
    await cab?.close();
    await tank?.close();
    await van?.close();
  });

  const level = async (board: FirmwareBoard, pin: number) => (await board.state()).levels[String(pin)];

  test("the tank probe's temperature reaches the hub, as the frost rules read it", async () => {
    const reading = await until('a reading of the tank probe at the hub', async () =>
      (await van.hub.facade.sensors('van-tank')).some((s) => s.sensor === 'tank' && s.quantity === 'temperature'),
    );
    assert.ok(reading);
    const tankSensor = (await van.hub.facade.sensors('van-tank')).find((s) => s.sensor === 'tank');
    assert.equal(tankSensor?.lastValue, 21, "the shims' DS18B20");
    assert.equal(tankSensor?.unit, '°C');
  });

  test("the cabin rules light the firmware cab's red and yellow LEDs", async () => {
    // startVanHub made the cabin hot (33 °C) and damp (80 %).
    await until(`red (pin 11) and yellow (pin 12) on (cab console: ${cab.stderr()})`, async () => (await level(cab, 11)) === 1 && (await level(cab, 12)) === 1);
  });

  test("the cab button toggles the tank's pump, and the float switch sounds the cab's buzzer", async () => {
    await cab.control('drive 14 0');
    await until(`the pump (tank pin 15) on after a press (tank console: ${tank.stderr()})`, async () => (await level(tank, 15)) === 1);
    await cab.control('drive 14 1');
    await tank.control('drive 6 1');
    await until('the buzzer (cab pin 16) on while the tank is full', async () => (await level(cab, 16)) === 1);
    await tank.control('drive 6 0');
    await until('the buzzer off when the float switch drops', async () => (await level(cab, 16)) === 0);
    for (const [name, rule] of await van.rules()) assert.equal(rule.lastError, null, `${name}: ${String(rule.lastError)}`);
  });
});
