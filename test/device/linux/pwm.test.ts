// LinuxPwm: which pin runs how (software, a configured channel, the Raspberry Pi map), what it
// says for a pin that cannot, and what a lease expiry and close() leave behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../../../src/common/clock.js';
import { boardKind, detectBoardModel } from '../../../src/device/backends/linux/board-model.js';
import { PinCapabilityError } from '../../../src/device/hal/types.js';
import { LinuxPwm } from '../../../src/device/backends/linux/pwm.js';
import { createSysfsParts } from '../../../src/device/backends/linux/sysfs-parts.js';
import { parseBoardConfig } from '../../../src/device/config.js';
import { SimGpio } from '../../../src/device/sim/sim-gpio.js';
import { fakePwmKernel, PI4_PWM, PI5_FAN_PWM, PI5_PWM, pwmChip, tempRoots, writeTree, type TempRoots } from './fake-sysfs.js';

type Backend = ConstructorParameters<typeof LinuxPwm>[0]['backend'];

void describe('LinuxPwm', { timeout: 30_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => (roots = tempRoots()));
  afterEach(() => roots.cleanup());

  const file = (rel: string) => readFileSync(join(roots.sys, 'class/pwm', rel), 'utf8').trim();
  function open(kind: 'pi' | 'pi5' | 'other', backend: Partial<Backend> = {}) {
    const kernel = fakePwmKernel(roots);
    const clock = new ManualClock();
    const gpio = new SimGpio(30);
    const pwm = new LinuxPwm({ roots, backend: { pwm: [], software_pwm: [], ...backend }, gpio, clock, kind, io: kernel.io, sleepSync: kernel.sleep, exportTimeoutMs: 100 });
    return { kernel, clock, gpio, pwm };
  }

  void test('on a Pi 0–4, GPIO 18 and 19 are channels 0 and 1 of the chip whose node is pwm@7e20c000', () => {
    pwmChip(roots, 0, PI4_PWM);
    const { pwm } = open('pi');
    assert.deepEqual(pwm.route(18), { kind: 'hardware', from: 'map', chip: 0, channel: 0 });
    assert.deepEqual(pwm.route(13), { kind: 'hardware', from: 'map', chip: 0, channel: 1 });
    pwm.set(19, 25_000, 0.4);
    assert.equal(file('pwmchip0/pwm1/duty_cycle'), '16000');
    assert.equal(file('pwmchip0/pwm1/enable'), '1');
  });

  void test('on a Pi 5, GPIO 18 is channel 2 of the RP1 PWM0 chip, found past the fan’s chip', () => {
    pwmChip(roots, 0, PI5_FAN_PWM);
    pwmChip(roots, 2, PI5_PWM);
    const { pwm } = open('pi5');
    assert.deepEqual(pwm.route(18), { kind: 'hardware', from: 'map', chip: 2, channel: 2 });
    assert.deepEqual(pwm.route(12), { kind: 'hardware', from: 'map', chip: 2, channel: 0 });
    pwm.set(18, 25_000, 0.7);
    assert.equal(file('pwmchip2/pwm2/duty_cycle'), '28000');
  });

  void test('backend.pwm names a channel for any pin and overrides the map; backend.software_pwm wins over both', () => {
    pwmChip(roots, 0, PI4_PWM);
    pwmChip(roots, 3, { ...PI4_PWM, device: 'pca9685', ofName: '/i2c/pwm@40', compatible: 'nxp,pca9685-pwm' });
    const { pwm } = open('pi', { pwm: [{ pin: 18, chip: 3, channel: 1 }, { pin: 5, chip: 3, channel: 0 }], software_pwm: [19] });
    assert.deepEqual(pwm.route(18), { kind: 'hardware', from: 'config', chip: 3, channel: 1 });
    assert.deepEqual(pwm.route(5), { kind: 'hardware', from: 'config', chip: 3, channel: 0 });
    assert.deepEqual(pwm.route(19), { kind: 'software' });
  });

  void test('a pin that cannot run PWM is refused, naming the pins that can and the config line', () => {
    pwmChip(roots, 0, PI4_PWM);
    const { pwm } = open('pi', { software_pwm: [22] });
    assert.throws(
      () => pwm.set(23, 100, 0.5),
      (err: Error) =>
        err instanceof PinCapabilityError &&
        err.pin === 23 &&
        err.message.startsWith('GPIO 23 cannot run PWM here: hardware PWM pins: 12, 13, 18, 19') &&
        err.message.includes('dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2') &&
        err.message.includes('software PWM pins: 22') &&
        err.message.includes('backend: { software_pwm: [22, 23] }'),
    );
    assert.doesNotThrow(() => pwm.stop(23), 'stopping a pin that cannot run PWM does nothing');
    const other = open('other');
    assert.throws(() => other.pwm.set(18, 100, 0.5), /GPIO 18 cannot run PWM here: hardware PWM pins: none; software PWM pins: none\. .*software_pwm: \[18\]/);
  });

  void test('a Pi pin without the overlay loaded gets the overlay line, the backend.pwm form and the software option', () => {
    const { pwm } = open('pi');
    assert.throws(
      () => pwm.set(12, 1000, 0.5),
      (err: Error) =>
        err.message.includes(`there is no PWM chip under ${join(roots.sys, 'class/pwm')}:`) &&
        err.message.includes('add dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4 to /boot/firmware/config.txt and reboot') &&
        err.message.includes('backend.pwm: [{ pin: 12, chip: N, channel: M }]') &&
        err.message.includes('backend.software_pwm: [12]'),
    );
  });

  void test('two pins on one channel cannot run at once', () => {
    pwmChip(roots, 0, PI4_PWM);
    const { pwm } = open('pi');
    pwm.set(18, 1000, 0.5);
    assert.throws(() => pwm.set(12, 1000, 0.5), (err: Error) => err instanceof PinCapabilityError && /GPIO 12 and GPIO 18 share channel 0 of pwmchip0/.test(err.message));
    pwm.stop(18);
    assert.doesNotThrow(() => pwm.set(12, 1000, 0.5));
  });

  void test('a lease expiry (set 0.7, then safe 0) and close() leave every output off, exported channels in place', async () => {
    pwmChip(roots, 0, PI4_PWM);
    const { pwm, kernel, clock, gpio } = open('pi', { software_pwm: [23] });
    pwm.set(18, 25_000, 0.7);
    pwm.set(23, 100, 0.7);
    await clock.advance(3);
    assert.equal(gpio.level(23), 1);
    // What the board does when the lease ends, and again as it closes.
    pwm.set(18, 25_000, 0);
    pwm.set(23, 100, 0);
    assert.equal(file('pwmchip0/pwm0/duty_cycle'), '0');
    assert.equal(gpio.level(23), 0);
    pwm.close();
    assert.equal(file('pwmchip0/pwm0/duty_cycle'), '0');
    assert.equal(file('pwmchip0/pwm0/enable'), '1', 'left enabled at duty 0: the pin is held low after the process exits');
    assert.equal(kernel.writes.some((w) => w.includes('unexport')), false);
    assert.equal(gpio.level(23), 0);
    assert.equal(clock.pendingTimers, 0);
  });

  void test('close() leaves a software pin that was still pulsing low', async () => {
    const { pwm, clock, gpio } = open('other', { software_pwm: [6] });
    pwm.set(6, 50, 0.9);
    await clock.advance(5);
    assert.equal(gpio.level(6), 1);
    pwm.close();
    assert.equal(gpio.level(6), 0);
    assert.equal(clock.pendingTimers, 0);
  });

  void test('validates frequency and duty before touching anything', () => {
    pwmChip(roots, 0, PI4_PWM);
    const { pwm, kernel } = open('pi');
    assert.throws(() => pwm.set(18, -1, 0.5), RangeError);
    assert.throws(() => pwm.set(18, 100, 2), RangeError);
    assert.deepEqual(kernel.writes, []);
  });
});

void describe('detectBoardModel', { timeout: 30_000 }, () => {
  test('reads the device-tree model (NUL-terminated) from sys, else proc, and sorts Pi 5 from the others', () => {
    const roots = tempRoots();
    try {
      assert.deepEqual(detectBoardModel(roots), { model: undefined, kind: 'other' });
      writeTree(join(roots.proc, 'device-tree'), { model: 'Raspberry Pi 4 Model B Rev 1.4\0' });
      assert.deepEqual(detectBoardModel(roots), { model: 'Raspberry Pi 4 Model B Rev 1.4', kind: 'pi' });
      writeTree(join(roots.sys, 'firmware/devicetree/base'), { model: 'Raspberry Pi 5 Model B Rev 1.0\0' });
      assert.deepEqual(detectBoardModel(roots), { model: 'Raspberry Pi 5 Model B Rev 1.0', kind: 'pi5' });
      assert.equal(boardKind('Raspberry Pi Compute Module 5 Rev 1.0'), 'pi5');
      assert.equal(boardKind('Raspberry Pi 500 Rev 1.0'), 'pi5');
      assert.equal(boardKind('Raspberry Pi Zero 2 W Rev 1.0'), 'pi');
      assert.equal(boardKind('Raspberry Pi Compute Module 4 Rev 1.1'), 'pi');
      assert.equal(boardKind('Radxa ROCK 5B'), 'other');
    } finally {
      roots.cleanup();
    }
  });
});

void describe('createSysfsParts', { timeout: 30_000 }, () => {
  test('builds every sysfs part on one set of roots, with the board model from the device tree', async () => {
    const roots = tempRoots();
    try {
      writeTree(join(roots.sys, 'firmware/devicetree/base'), { model: 'Raspberry Pi 5 Model B Rev 1.0\0' });
      writeTree(join(roots.sys, 'class/thermal/thermal_zone0'), { type: 'cpu-thermal\n', temp: '51000\n' });
      writeTree(join(roots.proc, 'net'), { wireless: 'h1\nh2\n wlan0: 0000   60.  -52.  -256 0 0 0 0 0 0\n' });
      const config = parseBoardConfig({ backend: { kind: 'linux', software_pwm: [23], wifi: 'wlan0' } });
      const clock = new ManualClock();
      const gpio = new SimGpio(30);
      const parts = createSysfsParts(config, { roots, gpio, clock });
      assert.deepEqual(parts.model, { model: 'Raspberry Pi 5 Model B Rev 1.0', kind: 'pi5' });
      assert.equal(await parts.cpuTemperature(), 51);
      assert.equal(parts.signal(), -52);
      assert.deepEqual(parts.pwm.route(23), { kind: 'software' });
      parts.pwm.set(23, 100, 0.5);
      assert.equal(clock.pendingTimers, 1);
      parts.close();
      assert.equal(clock.pendingTimers, 0);
      assert.equal(gpio.level(23), 0);
      await assert.rejects(parts.oneWire.scan(4), /dtoverlay=w1-gpio/);
      await assert.rejects(parts.dht.read(4), /dtoverlay=dht11,gpiopin=4/);
    } finally {
      roots.cleanup();
    }
  });
});
