// The assembled Linux backend end to end: openLinuxHardware on a fake Raspberry Pi 4 (the fake
// kernel's GPIO chip and I2C adapter, prepared /sys, /dev and /proc folders) under a real Board,
// as `tether device` runs it — the PyMoDAQ thermal bench's sensors, fan and heater with their
// leases, edges with the kernel's timestamps, what close() leaves on the pins, and the one
// message a user gets when the machine lacks what the config needs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { BoardEvent } from '../../../src/protocol/events.js';
import { groupName } from '../../../src/device/backends/linux/access.js';
import { BackendUnavailableError } from '../../../src/device/backends/index.js';
import { I2C_FUNC_SMBUS_QUICK, I2C_FUNCS } from '../../../src/device/backends/linux/i2c-uapi.js';
import type { LinuxDeps } from '../../../src/device/backends/linux/index.js';
import { Board } from '../../../src/device/board.js';
import type { BoardConfig } from '../../../src/device/config.js';
import type { Level } from '../../../src/device/hal/types.js';
import { silentLogger } from '../../../src/device/logger.js';
import { benchConfig, fakePi4, MODEL, PI, SOURCE, type Pi } from './fake-pi.js';
import { devNode, tempRoots, withClock, type TempRoots } from './fake-sysfs.js';

/** The level the heater's line was set to at each SET_VALUES, with the clock time in ms. */
function heaterWrites(pi: Pi, fromMs: number): Array<[Level, number]> {
  const offset = 5n * 86_400n * 1_000_000_000n;
  return pi.kernel.writes.filter((w) => w.offset === 23 && Number(w.atNs - offset) / 1e6 >= fromMs).map((w) => [w.value, Number(w.atNs - offset) / 1e6]);
}

void describe('Linux backend: the PyMoDAQ thermal bench on a fake Raspberry Pi 4', { timeout: 60_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => (roots = tempRoots()));
  afterEach(() => roots.cleanup());

  void test('sensors, fan and heater under leases, info, and what close() leaves on the pins', async () => {
    const pi = fakePi4(roots);
    pi.chips.aht10.set({ temperature: 21.5, humidity: 40 });
    const temps = [25.0625, 30.5, 19.75, 22.125];
    pi.chips.tmp102.forEach((t, i) => t.set({ temperature: temps[i] }));
    pi.chips.emc2101.set({ temperature: 35, external_temperature: 41.25 });
    const config = benchConfig();
    const hardware = await pi.open(config);
    const board = new Board(config, hardware, pi.clock, silentLogger);
    const events: BoardEvent[] = [];
    board.onEvent((e) => events.push(e));
    await withClock(pi.clock, board.start(), 2000, 10);

    const info = board.info();
    assert.equal(info['platform'], 'linux');
    assert.equal(info['board'], MODEL);
    assert.equal(info['rssi'], -52);

    const read = async (name: string) => (await withClock(pi.clock, board.readSensor(name), 2000, 10)).values;
    assert.deepEqual(await read('rh_out'), { temperature: 21.5, humidity: 40 });
    for (const [i, name] of ['t_heater', 't_sink', 't_in', 't_out'].entries()) assert.deepEqual(await read(name), { temperature: temps[i] }, name);
    assert.deepEqual(await read('t_emc'), { temperature: 35, external_temperature: 41.25 });
    assert.deepEqual(await read('cpu'), { temperature: 47.23 });
    // Every register read went out as one I2C_RDWR with a repeated start, on bus 1.
    assert.ok(pi.adapter?.transfers.some((t) => t.messages.length === 2 && t.messages[0]?.addr === 0x48));

    // At start the fan's channel was exported and set to its safe duty, the heater's line held low, the relay high.
    assert.ok(pi.pwmKernel.writes.includes('pwmchip0/export=0'), pi.pwmKernel.writes.join(' '));
    assert.equal(pi.pwmFile('pwmchip0/pwm0/period'), '40000');
    assert.equal(pi.pwmFile('pwmchip0/pwm0/duty_cycle'), '0');
    assert.equal(pi.chip.isOutput(23), true);
    assert.equal(pi.chip.level(23), 0);
    assert.equal(pi.chip.level(24), 1);

    // The fan at 70 % for 5 s: 28 µs of the 40 µs period, enabled; then back to its safe duty 0.
    const fanLease = board.pwm(18, 25000, 0.7, 5);
    assert.deepEqual(fanLease, { value: 0.7, safe_value: 0, expires_in_s: 5 });
    assert.equal(pi.pwmFile('pwmchip0/pwm0/period'), '40000');
    assert.equal(pi.pwmFile('pwmchip0/pwm0/duty_cycle'), '28000');
    assert.equal(pi.pwmFile('pwmchip0/pwm0/enable'), '1');
    assert.equal(pi.pwmFile('pwmchip0/pwm0/polarity'), 'normal');
    await pi.clock.advance(4999);
    assert.equal(pi.pwmFile('pwmchip0/pwm0/duty_cycle'), '28000', 'held until the lease ends');
    await pi.clock.advance(1);
    assert.equal(pi.pwmFile('pwmchip0/pwm0/duty_cycle'), '0');
    assert.deepEqual(events, [{ event: 'lease_expired', pin: 18, name: 'fan', value: 0, held: 0.7 }]);

    // The heater at 30 % for 1 s in software at 100 Hz: line 23 high 3 ms, low 7 ms, each cycle.
    const start = pi.clock.now();
    assert.deepEqual(board.pwm(23, 100, 0.3, 1), { value: 0.3, safe_value: 0, expires_in_s: 1 });
    await pi.clock.advance(25);
    assert.deepEqual(heaterWrites(pi, start), [
      [1, start],
      [0, start + 3],
      [1, start + 10],
      [0, start + 13],
      [1, start + 20],
      [0, start + 23],
    ]);
    await pi.clock.advance(975);
    const during = heaterWrites(pi, start);
    assert.equal(during.filter(([v]) => v === 1).length, 100, 'one rise per 10 ms cycle for the lease’s 1 s');
    assert.equal(during.at(-1)?.[0], 0, 'the expiry left line 23 low');
    assert.deepEqual(events.at(-1), { event: 'lease_expired', pin: 23, name: 'heater', value: 0, held: 0.3 });
    const afterExpiry = pi.clock.now();
    await pi.clock.advance(500);
    assert.deepEqual(heaterWrites(pi, afterExpiry + 1), [], 'no toggles after the expiry');
    assert.equal(pi.chip.level(23), 0);

    // Running again, then the process leaves: the board restores safe values, the backend closes.
    board.pwm(18, 25000, 0.5, 60);
    board.pwm(23, 100, 0.6, 60);
    assert.equal(board.writePin(24, 0, 60)?.value, 0);
    await pi.clock.advance(4);
    assert.equal(pi.chip.level(23), 1, 'mid-cycle: the heater is on');
    board.close();
    hardware.close();
    assert.equal(pi.pwmFile('pwmchip0/pwm0/duty_cycle'), '0');
    assert.equal(pi.pwmFile('pwmchip0/pwm0/enable'), '1', 'the channel keeps running at duty 0: the pin is held low');
    assert.equal(pi.chip.isOutput(23), true, 'the heater line stays an output after close');
    assert.equal(pi.chip.level(23), 0);
    assert.equal(pi.chip.isOutput(24), true);
    assert.equal(pi.chip.level(24), 1, 'the active-low relay keeps its safe high level');
    assert.equal(pi.chip.config(23), undefined, 'no request holds the line');
    assert.equal(pi.kernel.openFdCount, 0);
    assert.equal(pi.kernel.watchCount, 0);
    assert.equal(pi.kernel.disposed, 1);
    hardware.close();
    assert.equal(pi.kernel.disposed, 1, 'a second close() does nothing');
    const writesAtClose = pi.kernel.writes.length;
    await pi.clock.advance(1000);
    assert.equal(pi.kernel.writes.length, writesAtClose, 'no timer toggles a line after close');
    assert.equal(pi.clock.pendingTimers, 0);
  });

  void test('closing the backend while the heater pulses, before the board restored it, leaves its line low with no timer', async () => {
    const pi = fakePi4(roots);
    const config = benchConfig();
    const hardware = await pi.open(config);
    const board = new Board(config, hardware, pi.clock, silentLogger);
    await withClock(pi.clock, board.start(), 2000, 10);
    board.pwm(23, 100, 0.5, 60);
    await pi.clock.advance(2);
    assert.equal(pi.chip.level(23), 1);
    hardware.close();
    assert.equal(pi.chip.level(23), 0);
    assert.equal(pi.kernel.openFdCount, 0);
    const writes = pi.kernel.writes.length;
    await pi.clock.advance(50);
    assert.equal(pi.kernel.writes.length, writes, 'software PWM stopped with the backend');
  });

  void test('an edge on a watched input reaches a board subscription with when it happened, debounced by the kernel', async () => {
    const pi = fakePi4(roots);
    const config = benchConfig();
    const hardware = await pi.open(config);
    await pi.clock.advance(1000);
    const board = new Board(config, hardware, pi.clock, silentLogger);
    try {
      await withClock(pi.clock, board.start(), 2000, 10);
      assert.equal(pi.chip.config(17)?.debounceUs, 10_000, 'debounce_ms reached the kernel as a 10 ms debounce attribute');
      assert.equal(pi.chip.config(27)?.debounceUs, 0);
      const seen: Array<{ pin: number; level: Level; uptime: number | undefined }> = [];
      const watch = (pin: number) => board.watchPin(pin, 'both', (level, at) => seen.push({ pin, level, uptime: at === undefined ? undefined : board.uptimeAt(at) }));
      const stopDoor = watch(17);
      const stopFlow = watch(27);
      await pi.clock.advance(4000 - pi.clock.now());
      assert.equal(board.readPin(17), 1, 'the door input idles high on its pull-up');

      // The door contact bounces at 4000–4003 ms (uptime 3000–3003) and settles low: one edge,
      // from the level that held, stamped by the kernel when its 10 ms wait ended.
      pi.chip.drive(17, 0);
      await pi.clock.advance(2);
      pi.chip.drive(17, 1);
      await pi.clock.advance(1);
      pi.chip.drive(17, 0);
      await pi.clock.advance(9);
      assert.deepEqual(seen, [], 'still bouncing as far as the kernel knows');
      await pi.clock.advance(20);
      assert.deepEqual(seen, [{ pin: 17, level: 0, uptime: 3003 }]);

      // The flow sensor's edge at 5000 ms is read 40 ms later: it still says 4000 ms of uptime.
      await pi.clock.advance(5000 - pi.clock.now());
      pi.chip.drive(27, 1);
      await pi.clock.advance(40);
      assert.deepEqual(seen.at(-1), { pin: 27, level: 1, uptime: 4000 });
      assert.equal(seen.length, 2);
      stopDoor();
      stopFlow();
      assert.equal(pi.kernel.watchCount, 0);
    } finally {
      board.close();
      hardware.close();
    }
    assert.equal(pi.kernel.openFdCount, 0);
  });
});

void describe('Linux backend: start-up problems in one message', { timeout: 60_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => (roots = tempRoots()));
  afterEach(() => roots.cleanup());

  /** The message of the refused start; the backend must leave nothing open. */
  async function refusal(pi: Pi, config: Readonly<BoardConfig>, deps: Partial<LinuxDeps> = {}): Promise<string> {
    let message: string | undefined;
    await assert.rejects(pi.open(config, deps), (err: unknown) => {
      assert.ok(err instanceof BackendUnavailableError, String(err));
      message = err.message;
      return true;
    });
    assert.ok(message !== undefined);
    assert.ok(message.startsWith(`${SOURCE}: `), message);
    assert.equal(pi.kernel.openFdCount, 0, 'no fd stays open after a refused start');
    assert.equal(pi.kernel.disposed, 1);
    assert.deepEqual(pi.pwmKernel.writes, [], 'nothing was exported');
    return message;
  }

  void test('I2C off: names /dev/i2c-1 under the dev root and the config.txt line that turns it on', async () => {
    const pi = fakePi4(roots, { i2c: false });
    const message = await refusal(pi, benchConfig());
    assert.ok(message.includes(`I2C bus 1 — i2c[0]: ${join(roots.dev, 'i2c-1')} does not exist`), message);
    assert.ok(message.includes('dtparam=i2c_arm=on'), message);
    assert.ok(message.includes('raspi-config nonint do_i2c 0'), message);
    assert.ok(message.endsWith(`(tether doctor --config ${SOURCE} shows all it looked at)`), message);
  });

  void test('no PWM overlay: GPIO 18 gets the dtoverlay=pwm-2chan line', async () => {
    const pi = fakePi4(roots, { pwmOverlay: false });
    const message = await refusal(pi, benchConfig());
    assert.ok(message.includes('pin 18 as hardware PWM — actuators[0] (fan)'), message);
    assert.ok(message.includes(`there is no PWM chip under ${join(roots.sys, 'class/pwm')}: add dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2 to /boot/firmware/config.txt`), message);
    assert.ok(!message.includes('actuators[1] (heater)'), 'the heater runs in software and needs no overlay');
  });

  void test('a GPIO chip only root may open: the udev rule and the gpio group, for the user the service runs as', async () => {
    const pi = fakePi4(roots);
    const path = devNode(roots, 'gpiochip0', { mode: 0o600 });
    // What the kernel does for that user.
    pi.kernel.deny(path);
    pi.kernel.deny(join(roots.dev, 'gpiochip1'));
    devNode(roots, 'gpiochip1', { mode: 0o600 });
    const message = await refusal(pi, benchConfig(), { identity: PI });
    assert.ok(message.includes(`${path} (-rw------- root:root) cannot be opened by pi`), message);
    assert.ok(message.includes('SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"'), message);
    assert.ok(message.includes('sudo usermod -aG gpio $USER'), message);
    const item = message.split('\n').find((l) => l.includes('gpiochip0 (-rw-------'));
    assert.equal(
      item?.slice(4, item.indexOf(`: ${path}`)),
      'pin 17 as an input — pins[0] (door); pin 27 as an input — pins[1] (flow); pin 24 as an output — pins[2] (pump_n); pin 23 as software PWM — actuators[1] (heater)',
      'one item, with its fix once, for every pin on the chip',
    );
    assert.equal(message.split('KERNEL=="gpiochip*"').length, 2);
  });

  void test('an I2C adapter of a group the user is not in: join that group', async () => {
    const pi = fakePi4(roots);
    // The user is in the gpio group (gid 1000 here), not in the adapter's.
    for (const chip of ['gpiochip0', 'gpiochip1']) devNode(roots, chip, { gid: 1000 });
    const path = devNode(roots, 'i2c-1', { mode: 0o660, gid: 20 });
    pi.kernel.deny(path);
    const group = groupName(20) ?? '20';
    const message = await refusal(pi, benchConfig(), { identity: PI });
    assert.ok(message.includes(`I2C bus 1 — i2c[0]: ${path} (-rw-rw---- root:${group}) cannot be opened by pi`), message);
    assert.ok(message.includes(`belongs to the group ${group}: add your user to the ${group} group (sudo usermod -aG ${group} $USER)`), message);
    assert.ok(!message.includes('gpiochip'), 'the GPIO chips are the user’s to open');
  });

  void test('a line another consumer holds: names the holder', async () => {
    const pi = fakePi4(roots);
    pi.chip.claim(17, 'w1-gpio');
    const message = await refusal(pi, benchConfig());
    assert.ok(message.includes('pin 17 as an input — pins[0] (door): gpiochip0 line 17 "GPIO17" is in use by w1-gpio'), message);
    assert.ok(message.includes('turn off the interface that claims the pin'), message);
  });

  void test('a DHT22 without its IIO device: the dht11 overlay for its pin', async () => {
    const pi = fakePi4(roots);
    const config = benchConfig({ sensors: [{ name: 'rh_room', driver: 'dht22', options: { pin: 4 } }] });
    const message = await refusal(pi, config);
    assert.ok(message.includes('a DHT22 on pin 4 — sensors[0] (rh_room): no dht11 IIO device'), message);
    assert.ok(message.includes('add dtoverlay=dht11,gpiopin=4 to /boot/firmware/config.txt and reboot'), message);
  });

  void test('a failure past the survey (an adapter that can do only SMBus) is refused the same way, closing what was opened', async () => {
    const pi = fakePi4(roots, { i2cFuncs: I2C_FUNC_SMBUS_QUICK });
    const message = await refusal(pi, benchConfig());
    assert.equal(message, `${SOURCE}: I2C bus 1 (${join(roots.dev, 'i2c-1')}) can do only SMBus transfers, not the plain I2C transfers Tether uses; choose another bus`);
    assert.ok(pi.kernel.ioctls.some((c) => c.request === I2C_FUNCS), 'the adapter was opened and asked');
  });

  void test('every problem of the config at once, each with its fix', async () => {
    const pi = fakePi4(roots, { i2c: false, pwmOverlay: false });
    pi.chip.claim(17, 'w1-gpio');
    const config = benchConfig({ sensors: [{ name: 'rh_out', driver: 'aht10', bus: 1, address: 0x38 }, { name: 'rh_room', driver: 'dht22', options: { pin: 4 } }] });
    const message = await refusal(pi, config);
    const items = message.split('\n').filter((l) => l.startsWith('  - '));
    assert.deepEqual(
      items.map((l) => l.slice(4, l.indexOf(':'))),
      ['pin 17 as an input — pins[0] (door)', 'pin 18 as hardware PWM — actuators[0] (fan)', 'I2C bus 1 — i2c[0]', 'a DHT22 on pin 4 — sensors[1] (rh_room)'],
    );
    for (const fix of ['turn off the interface that claims the pin', 'dtoverlay=pwm-2chan,pin=18', 'dtparam=i2c_arm=on', 'dtoverlay=dht11,gpiopin=4']) assert.ok(message.includes(fix), `${fix} in ${message}`);
  });
});
