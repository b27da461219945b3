// Board rules that have no wire format of their own: what a refused write leaves behind,
// what a pin keeps when its mode changes, and what a reset restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Board } from '../../src/device/board.js';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { silentLogger, type Logger } from '../../src/device/logger.js';
import { PinCapabilityError } from '../../src/device/hal/types.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';
import { ProtocolError } from '../../src/protocol/errors.js';

async function board(raw: unknown, logger: Logger = silentLogger) {
  const clock = new ManualClock();
  const config = parseBoardConfig(raw);
  const hardware = createSimHardware(config, clock);
  const b = new Board(config, hardware, clock, logger);
  await b.start();
  return { b, clock, hardware };
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return err instanceof ProtocolError ? err.code : String(err);
  }
}

test('pwm on a configured output keeps its maximum lease, safe level and name', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({ max_lease_s: 100, pins: [{ pin: 9, name: 'lamp', mode: 'output', safe_value: 1, max_lease_s: 10 }] });
  assert.equal(code(() => b.pwm(9, 500, 0.5, 50)), 'lease_too_long');
  assert.equal(hardware.pwm.channel(9), undefined, 'a refused pwm leaves the pin digital');
  assert.equal(b.readPin(9), 1);
  assert.deepEqual(b.pwm(9, 500, 0.5, 5), { value: 0.5, safe_value: 1, expires_in_s: 5 });
  const pin = (b.state()['pins'] as Array<Record<string, unknown>>).find((p) => p['pin'] === 9);
  assert.equal(pin?.['name'], 'lamp');
  assert.equal(pin?.['mode'], 'pwm');
});

test('a pwm write without a timeout is refused before the pin changes', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({});
  assert.equal(code(() => b.pwm(7, 1000, 0.3, undefined)), 'missing_field');
  assert.equal(hardware.pwm.channel(7), undefined);
  assert.equal(code(() => b.readPin(7)), 'pin_not_setup');
});

test('setting a watched input up again ends the pin subscription', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({ pins: [{ pin: 6, mode: 'input' }] });
  const seen: number[] = [];
  b.watchPin(6, 'both', (level) => seen.push(level));
  hardware.gpio.drive(6, 1);
  b.setupPin({ pin: 6, mode: 'output' });
  assert.equal(hardware.gpio.watcherCount(6), 0);
  b.writePin(6, 1, 1);
  assert.deepEqual(seen, [1]);
});

test('a reset restarts the uptime and gives a new boot id', { timeout: 30_000 }, async () => {
  const { b, clock } = await board({});
  await clock.advance(5000);
  const before = b.state();
  assert.equal(before['uptime_s'], 5);
  b.reset();
  const after = b.state();
  assert.equal(after['uptime_s'], 0);
  assert.notEqual(after['boot_id'], before['boot_id']);
});

test('closing the board puts every leased output back to its safe value', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({ actuators: [{ name: 'relay', driver: 'digital', pin: 15, options: { active_low: true } }] });
  b.writePin(15, 1, 60);
  assert.equal(hardware.gpio.level(15), 0);
  b.close();
  assert.equal(hardware.gpio.level(15), 1);
});

test('a reset puts a leased output back to its safe value before releasing it', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({});
  b.setupPin({ pin: 2, mode: 'output', safe_value: 1 });
  b.writePin(2, 0, 600);
  assert.equal(hardware.gpio.level(2), 0);
  const events: string[] = [];
  const gpio = hardware.gpio;
  const write = gpio.write.bind(gpio);
  const release = gpio.release.bind(gpio);
  gpio.write = (pin, level) => {
    events.push(`write ${pin}=${level}`);
    write(pin, level);
  };
  gpio.release = (pin) => {
    events.push(`release ${pin}`);
    release(pin);
  };
  b.reset();
  assert.deepEqual(events, ['write 2=1', 'release 2']);
});

test('reads of one sensor that overlap share one conversation with the chip', { timeout: 30_000 }, async () => {
  const { b, clock, hardware } = await board({ i2c: [{ bus: 0 }], sensors: [{ name: 't', driver: 'tmp102' }] });
  const bus = hardware.buses.get(0);
  assert.ok(bus);
  let transfers = 0;
  bus.onTransfer = () => void transfers++;
  const reads = Array.from({ length: 20 }, () => b.readSensor('t'));
  await clock.advance(100);
  const results = await Promise.all(reads);
  assert.equal(new Set(results.map((r) => JSON.stringify(r))).size, 1);
  const perRead = transfers;
  transfers = 0;
  await b.readSensor('t');
  assert.equal(perRead, transfers, 'twenty overlapping reads cost the bus what one does');
});

/** "code: message" of a refusal, to hold both to their exact words. */
function refusal(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return err instanceof ProtocolError ? `${err.code}: ${err.message}` : String(err);
  }
}

test('writes under lease: each refusal names its code and says why', { timeout: 30_000 }, async () => {
  const { b, clock } = await board({
    max_lease_s: 100,
    pins: [{ pin: 6, mode: 'input' }, { pin: 2, mode: 'output' }],
    actuators: [
      { name: 'relay', driver: 'digital', pin: 15 },
      { name: 'fan', driver: 'pwm', pin: 8, options: { freq: 1000 } },
    ],
  });
  assert.equal(refusal(() => b.writePin(6, 1, 5)), 'pin_conflict: pin 6 is an input; set it up with mode "output" before writing to it');
  assert.equal(refusal(() => b.writePin(2, 1, undefined)), 'missing_field: timeout: required to write 1 to pin 2 (its safe value is 0); the board restores the safe value when the timeout ends');
  assert.equal(refusal(() => b.writePin(2, 1, 101)), "lease_too_long: timeout: 101 s is longer than pin 2's maximum lease of 100 s; renew a shorter lease before it ends instead");
  assert.deepEqual(b.writePin(2, 1, 100), { value: 1, safe_value: 0, expires_in_s: 100 }, 'a lease of exactly the maximum is allowed');
  await clock.advance(10_500);
  assert.equal(refusal(() => b.pwm(2, 500, 0.5, 5)), 'pin_conflict: pin 2 holds a lease (value 1, 89.5 s left); write its safe value 0 first');
  assert.equal(refusal(() => b.pwm(6, 500, 0.5, 5)), 'pin_conflict: pin 6 is an input; pwm needs a free pin, an output without a lease, or a PWM actuator');
  assert.equal(refusal(() => b.pwm(15, 500, 0.5, 5)), 'pin_conflict: pin 15 is the digital actuator "relay"; use write_pin');
  assert.equal(refusal(() => b.pwm(7, 500, 0.5, 101)), "lease_too_long: timeout: 101 s is longer than pin 7's maximum lease of 100 s; renew a shorter lease before it ends instead");
  assert.equal(refusal(() => b.writePin(8, 1, 5)), 'pin_conflict: pin 8 is a PWM output; use the pwm action');
  assert.deepEqual(b.pwm(7, 500, 0.5, 5), { value: 0.5, safe_value: 0, expires_in_s: 5 });
  assert.equal(refusal(() => b.writePin(7, 1, 5)), 'pin_conflict: pin 7 is a PWM output; use the pwm action, or setup_pin to make it digital again');
  // Once its safe value is written the output holds no lease, and pwm may take it over.
  assert.equal(b.writePin(2, 0, 5), null);
  assert.deepEqual(b.pwm(2, 500, 0.5, 5), { value: 0.5, safe_value: 0, expires_in_s: 5 });
});

test('writing the safe value with a timeout ends the lease and starts none', { timeout: 30_000 }, async () => {
  const { b, clock, hardware } = await board({ pins: [{ pin: 2, mode: 'output' }] });
  const events: unknown[] = [];
  b.onEvent((e) => events.push(e));
  assert.deepEqual(b.writePin(2, 1, 60), { value: 1, safe_value: 0, expires_in_s: 60 });
  assert.equal(b.writePin(2, 0, 60), null);
  assert.equal(hardware.gpio.level(2), 0);
  await clock.advance(120_000);
  assert.deepEqual(events, [], 'no lease was left to expire');
});

test('a PWM actuator driven again stays the actuator, at the duty and frequency of the last write', { timeout: 30_000 }, async () => {
  const { b, clock, hardware } = await board({ actuators: [{ name: 'fan', driver: 'pwm', pin: 8, safe_value: 0, options: { freq: 1000 } }] });
  assert.deepEqual(b.pwm(8, 1000, 0.3, 5), { value: 0.3, safe_value: 0, expires_in_s: 5 });
  assert.deepEqual(hardware.pwm.channel(8), { freq: 1000, duty: 0.3 });
  await clock.advance(1000);
  assert.deepEqual(b.pwm(8, 2000, 0.6, 5), { value: 0.6, safe_value: 0, expires_in_s: 5 });
  assert.deepEqual(hardware.pwm.channel(8), { freq: 2000, duty: 0.6 });
  assert.equal(refusal(() => b.writePin(8, 1, 5)), 'pin_conflict: pin 8 is a PWM output; use the pwm action', 'still the fixed actuator');
  await clock.advance(4999);
  assert.equal(hardware.pwm.channel(8)?.duty, 0.6, 'the renewed lease runs from the second write');
});

test('a PWM lease that runs out restores the safe duty, not 1 − duty', { timeout: 30_000 }, async () => {
  const { b, clock, hardware } = await board({ pins: [{ pin: 9, name: 'lamp', mode: 'output', safe_value: 1 }] });
  const events: unknown[] = [];
  b.onEvent((e) => events.push(e));
  b.pwm(9, 500, 0.25, 5);
  assert.deepEqual(hardware.pwm.channel(9), { freq: 500, duty: 0.25 });
  await clock.advance(4999);
  assert.equal(hardware.pwm.channel(9)?.duty, 0.25);
  await clock.advance(1);
  assert.deepEqual(hardware.pwm.channel(9), { freq: 500, duty: 1 });
  assert.deepEqual(events, [{ event: 'lease_expired', pin: 9, name: 'lamp', value: 1, held: 0.25 }]);
  b.pwm(7, 1000, 0.3, 2);
  await clock.advance(2000);
  assert.deepEqual(hardware.pwm.channel(7), { freq: 1000, duty: 0 });
  assert.deepEqual(events[1], { event: 'lease_expired', pin: 7, value: 0, held: 0.3 });
});

// The board's own log is where a user reading a service's journal learns that a lease ended.
test('an ended lease is logged with the pin, its name and the value restored', { timeout: 30_000 }, async () => {
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, info: (m) => void lines.push(m) };
  const { b, clock } = await board({ name: 't', pins: [{ pin: 25, name: 'led', mode: 'output', value: 0 }, { pin: 2, mode: 'output', safe_value: 1 }] }, logger);
  b.writePin(25, 1, 1);
  b.writePin(2, 0, 2);
  await clock.advance(2000);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('lease')),
    ['lease on pin 25 (led) ended: restored 0', 'lease on pin 2 ended: restored 1'],
  );
});

test('the line options of the config reach the backend: an input debounce, an output drive', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({
    pins: [{ pin: 4, mode: 'input', pull: 'up', debounce_ms: 5 }],
    actuators: [{ name: 'bell', driver: 'digital', pin: 5, options: { drive: 'open_drain' } }],
  });
  assert.deepEqual(hardware.gpio.lineOptions(4), { debounceMs: 5, drive: 'push_pull' });
  assert.equal(hardware.gpio.lineOptions(5).drive, 'open_drain');
  // setup_pin of the same input again keeps the config's debounce.
  b.setupPin({ pin: 4, mode: 'input', pull: 'down' });
  assert.equal(hardware.gpio.lineOptions(4).debounceMs, 5);
});

test('an edge carries the time the backend says it happened, as uptime', { timeout: 30_000 }, async () => {
  const { b, clock, hardware } = await board({ pins: [{ pin: 4, mode: 'input' }] });
  await clock.advance(1000);
  const seen: Array<[number, number | undefined]> = [];
  // A backend that timestamps edges (the kernel does) calls back with `at`; the simulator does not.
  const gpio = hardware.gpio;
  const original = gpio.watch.bind(gpio);
  let emitWithTime: ((level: 0 | 1, at?: number) => void) | undefined;
  gpio.watch = (pin, onChange) => {
    emitWithTime = onChange;
    return original(pin, onChange);
  };
  const stop = b.watchPin(4, 'both', (level, at) => seen.push([level, at === undefined ? undefined : b.uptimeAt(at)]));
  hardware.gpio.drive(4, 1);
  emitWithTime?.(0, clock.now() - 250);
  stop();
  assert.deepEqual(seen, [
    [1, undefined],
    [0, 750],
  ]);
});

test('pwm on a pin the backend cannot run PWM on is unsupported, with the backend\'s advice', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({});
  hardware.pwm.set = (pin) => {
    throw new PinCapabilityError(pin, `pin ${pin} has no PWM here; add it to backend.software_pwm`);
  };
  let caught: unknown;
  try {
    b.pwm(7, 100, 0.5, 10);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolError);
  assert.equal(caught.code, 'unsupported');
  assert.match(caught.message, /backend\.software_pwm/);
  assert.equal(code(() => b.readPin(7)), 'pin_not_setup', 'the refused pin is left free');
});

test('a 1-Wire or DHT sensor\'s data pin cannot be set up or driven by a client', { timeout: 30_000 }, async () => {
  const { b } = await board({ sensors: [{ name: 'soil', driver: 'ds18b20', options: { pin: 22 } }] });
  assert.equal(code(() => b.setupPin({ pin: 22, mode: 'output' })), 'pin_conflict');
  assert.equal(code(() => b.pwm(22, 100, 0.5, 10)), 'pin_conflict');
  assert.throws(() => b.readPin(22), /data pin of the sensor "soil" \(ds18b20\)/);
});

test('a digital output turned to PWM gives its GPIO line back before PWM starts', { timeout: 30_000 }, async () => {
  const { b, hardware } = await board({});
  b.setupPin({ pin: 9, mode: 'output' });
  assert.equal(hardware.gpio.mode(9), 'output');
  b.pwm(9, 500, 0.5, 5);
  assert.equal(hardware.gpio.mode(9), 'unused');
  assert.deepEqual(hardware.pwm.channel(9), { freq: 500, duty: 0.5 });
});
