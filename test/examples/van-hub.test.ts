// The camper van of examples/hub.yaml, run as it ships: the hub with that file, the Pi's own board
// of examples/van-pi.yaml that the hub dials, and the two Picos of examples/van-tank.yaml and
// examples/van-cab.yaml as simulated boards that dial the hub (test/examples/van.ts). Then the
// outside world is played (a cold tank, a hot and damp cabin, a button press, a full tank) and
// every rule and binding of the file must act on the boards' pins.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SimAht10 } from '../../src/device/sim/chips/aht10.js';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { exampleYaml, startVanHub, until, type VanHub } from './van.js';

describe('examples/hub.yaml: the camper van, its Picos simulated', { timeout: 120_000 }, () => {
  let van: VanHub;
  let tank: LinkedBoard;
  let cab: LinkedBoard;

  before(async () => {
    van = await startVanHub();
    const linked = async (file: string): Promise<LinkedBoard> => {
      const board = exampleYaml(file);
      const id = String(board['name']);
      return startLinkedBoard({ port: van.hub.link.port, token: await van.register(id), id, config: board, keepaliveMs: null });
    };
    tank = await linked('van-tank.yaml');
    cab = await linked('van-cab.yaml');
    await van.allOnline();
  });

  after(async () => {
    await cab?.close();
    await tank?.close();
    await van?.close();
  });

  const level = (board: LinkedBoard, pin: number) => board.hardware.gpio.level(pin);

  test('a tank near freezing heats its pad and lights the blue LED; warmer water turns both off', async () => {
    const [probe] = await tank.hardware.oneWire.scan(22);
    assert.ok(probe !== undefined, 'the tank probe of van-tank.yaml is on pin 22');
    tank.hardware.oneWire.setTemperature(probe, 2);
    await until('the heating pad (tank pin 17) and the frost LED (cab pin 10) on', () => level(tank, 17) === 1 && level(cab, 10) === 1);
    tank.hardware.oneWire.setTemperature(probe, 12);
    await until('both off once the water is at 12 °C', () => level(tank, 17) === 0 && level(cab, 10) === 0);
    const rules = await van.rules();
    assert.equal(rules.get('tank-frost-heater')?.fired, 1);
    assert.equal(rules.get('tank-frost-led')?.fired, 1);
  });

  test("the cabin air measured on the Pi lights the cab's red and yellow LEDs", async () => {
    // startVanHub made the cabin hot (33 °C) and damp (80 %).
    await until('red (cab pin 11) and yellow (cab pin 12) on for 33 °C and 80 %', () => level(cab, 11) === 1 && level(cab, 12) === 1);
    van.pi.hardware.chip(1, 0x38, SimAht10).set({ temperature: 22, humidity: 50 });
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
    assert.equal((await van.rules()).get('pump-button')?.fired, 2);
  });

  test("the buzzer sounds while the tank's float switch is up, and stops when the tank board goes", async () => {
    tank.hardware.gpio.drive(6, 1);
    await until('the buzzer (cab pin 16) on while the tank is full', () => level(cab, 16) === 1);
    tank.hardware.gpio.drive(6, 0);
    await until('the buzzer off when the float switch drops', () => level(cab, 16) === 0);
    tank.hardware.gpio.drive(6, 1);
    await until('the buzzer on again', () => level(cab, 16) === 1);
    for (const [name, rule] of await van.rules()) assert.equal(rule.lastError, null, `${name}: ${String(rule.lastError)}`);
    await tank.close();
    // The binding's lease is 6 s: the cab board itself silences the buzzer once the hub stops renewing.
    await until('the buzzer silent once the tank board is gone', () => level(cab, 16) === 0);
  });
});
