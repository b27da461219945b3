// LinuxGpio and the chip discovery over the fake kernel: the bytes of each line request, what
// the pins then do, edge events with the kernel's timestamps, debounce, watch and release, and
// the messages a user sees when a line is busy or the chip is not theirs to open.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/common/clock.js';
import { findMainChip, listChips, mapPins, readLines, type GpioChip, type LineRef } from '../../../src/device/backends/linux/gpio-chips.js';
import * as uapi from '../../../src/device/backends/linux/gpio-uapi.js';
import { LinuxGpio } from '../../../src/device/backends/linux/gpio.js';
import { KernelError } from '../../../src/device/backends/linux/kernel.js';
import type { Level } from '../../../src/device/hal/types.js';
import { FakeKernel, type FakeLineOptions } from '../../support/fake-kernel.js';

const F = uapi.LineFlag;

/** struct gpio_v2_line_request offsets from <linux/gpio.h> (uapi-headers.test.ts checks them against gcc). */
const REQ = { offsets0: 0, consumer: 256, flags: 288, numAttrs: 296, attr0Id: 320, attr0Value: 328, attr0Mask: 336, numLines: 560, eventBufferSize: 564 };

/** A Raspberry Pi 4's header chip: GPIO 0–8 pulled up at power-on, the rest down. */
function pi4Lines(): FakeLineOptions[] {
  return Array.from({ length: 58 }, (_, i) => ({ name: `GPIO${i}`, bias: i <= 8 ? 'pull-up' : 'pull-down' }));
}

function rig(extraLines: Record<string, string> = {}) {
  const clock = new ManualClock();
  const kernel = new FakeKernel({ clock });
  const chip = kernel.addChip({ label: 'pinctrl-bcm2711', lines: pi4Lines() });
  const expander = kernel.addChip({ label: 'raspberrypi-exp-gpio', lines: ['BT_ON', 'WL_ON', 'PWR_LED_OFF', 'GLOBAL_RESET'] });
  const { pins } = mapPins(kernel, kernel.devRoot, { gpioChip: 'auto', lines: extraLines, pinCount: 30 });
  const gpio = new LinuxGpio({ kernel, clock, pins });
  return { clock, kernel, chip, expander, gpio };
}

function lastRequest(kernel: FakeKernel): Buffer {
  const sent = kernel.ioctls.filter((c) => c.request === uapi.GPIO_V2_GET_LINE_IOCTL).at(-1)?.sent;
  assert.ok(sent, 'a line request was sent');
  return sent;
}

function countOf(kernel: FakeKernel, request: number): number {
  return kernel.ioctls.filter((c) => c.request === request).length;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('expected an error');
}

void describe('LinuxGpio: line requests as bytes', { timeout: 30_000 }, () => {
  void test('an input with a pull-up: the line offset, "tether", INPUT|BIAS_PULL_UP, one line, no attributes', () => {
    const { kernel, chip, gpio } = rig();
    gpio.setupInput(17, 'up');
    const req = lastRequest(kernel);
    assert.equal(req.length, 592);
    assert.equal(req.readUInt32LE(REQ.offsets0), 17);
    assert.equal(req.subarray(REQ.consumer, REQ.consumer + 7).toString('latin1'), 'tether\0');
    assert.equal(req.readBigUInt64LE(REQ.flags), 4n | 256n);
    assert.equal(req.readUInt32LE(REQ.numAttrs), 0);
    assert.equal(req.readUInt32LE(REQ.numLines), 1);
    assert.equal(req.readUInt32LE(REQ.eventBufferSize), 64);
    assert.deepEqual(chip.config(17), { consumer: 'tether', flags: F.INPUT | F.BIAS_PULL_UP, debounceUs: 0 });
  });

  void test('pull down and no pull: BIAS_PULL_DOWN and BIAS_DISABLED (not "as is", which would keep a power-on pull)', () => {
    const { kernel, gpio } = rig();
    gpio.setupInput(20, 'down');
    assert.equal(lastRequest(kernel).readBigUInt64LE(REQ.flags), 4n | 512n);
    gpio.setupInput(21, 'none');
    assert.equal(lastRequest(kernel).readBigUInt64LE(REQ.flags), 4n | 1024n);
  });

  void test('a debounce is one DEBOUNCE attribute (id 3) in microseconds, for this line (mask 1)', () => {
    const { kernel, chip, gpio } = rig();
    gpio.setupInput(22, 'up', { debounceMs: 5 });
    const req = lastRequest(kernel);
    assert.equal(req.readUInt32LE(REQ.numAttrs), 1);
    assert.equal(req.readUInt32LE(REQ.attr0Id), 3);
    assert.equal(req.readUInt32LE(REQ.attr0Value), 5000);
    assert.equal(req.readBigUInt64LE(REQ.attr0Mask), 1n);
    assert.equal(chip.config(22)?.debounceUs, 5000);
  });

  void test('an output: OUTPUT plus the drive flag, and its level as an OUTPUT_VALUES attribute (id 2) in the same request', () => {
    const { kernel, chip, gpio } = rig();
    gpio.setupOutput(23, 1);
    let req = lastRequest(kernel);
    assert.equal(req.readBigUInt64LE(REQ.flags), 8n);
    assert.equal(req.readUInt32LE(REQ.numAttrs), 1);
    assert.equal(req.readUInt32LE(REQ.attr0Id), 2);
    assert.equal(req.readBigUInt64LE(REQ.attr0Value), 1n);
    assert.equal(req.readBigUInt64LE(REQ.attr0Mask), 1n);
    assert.equal(chip.level(23), 1);
    gpio.setupOutput(24, 0, { drive: 'open_drain' });
    req = lastRequest(kernel);
    assert.equal(req.readBigUInt64LE(REQ.flags), 8n | 64n);
    assert.equal(req.readBigUInt64LE(REQ.attr0Value), 0n);
    gpio.setupOutput(25, 1, { drive: 'open_source' });
    assert.equal(lastRequest(kernel).readBigUInt64LE(REQ.flags), 8n | 128n);
  });
});

void describe('LinuxGpio: what the pins do', { timeout: 30_000 }, () => {
  void test('a floating input reads its pull: up 1, down 0; no pull reads the floating level even where the pad was pulled up at power-on', () => {
    const { chip, gpio } = rig();
    gpio.setupInput(9, 'up'); // pulled down at power-on
    assert.equal(gpio.read(9), 1);
    assert.equal(chip.bias(9), 'pull-up');
    gpio.setupInput(4, 'down'); // pulled up at power-on
    assert.equal(gpio.read(4), 0);
    gpio.setupInput(5, 'none'); // pulled up at power-on; floating reads 0 here
    assert.equal(chip.bias(5), 'disabled');
    assert.equal(gpio.read(5), 0);
    chip.drive(5, 1);
    assert.equal(gpio.read(5), 1);
  });

  void test('write sets the line, each write is one SET_VALUES with its monotonic time', async () => {
    const { clock, kernel, chip, gpio } = rig();
    gpio.setupOutput(18, 0);
    await clock.advance(3);
    gpio.write(18, 1);
    assert.equal(chip.level(18), 1);
    assert.equal(gpio.read(18), 1);
    await clock.advance(2);
    gpio.write(18, 0);
    assert.equal(chip.level(18), 0);
    const base = kernel.monotonicNs() - 5_000_000n;
    assert.deepEqual(
      kernel.writes.map((w) => [w.offset, w.value, w.atNs - base]),
      [
        [18, 1, 3_000_000n],
        [18, 0, 5_000_000n],
      ],
    );
  });

  void test('open drain drives low and lets go for high; open source drives high and lets go for low', () => {
    const { chip, gpio } = rig();
    gpio.setupOutput(10, 0, { drive: 'open_drain' }); // pulled down at power-on
    assert.equal(chip.level(10), 0);
    chip.drive(10, 1); // an outside pull-up
    assert.equal(chip.level(10), 0, 'driven low wins');
    gpio.write(10, 1);
    assert.equal(chip.level(10), 1, 'released: the outside pull-up shows');
    gpio.setupOutput(11, 1, { drive: 'open_source' });
    assert.equal(chip.level(11), 1);
    gpio.write(11, 0);
    assert.equal(chip.level(11), 0, 'released: the power-on pull-down shows');
  });

  void test('reconfiguring a held pin is one SET_CONFIG on its request, never a second request', () => {
    const { kernel, chip, gpio } = rig();
    gpio.setupInput(5, 'up');
    gpio.setupOutput(5, 1);
    gpio.setupInput(5, 'down');
    assert.equal(countOf(kernel, uapi.GPIO_V2_GET_LINE_IOCTL), 1);
    assert.equal(countOf(kernel, uapi.GPIO_V2_LINE_SET_CONFIG_IOCTL), 2);
    assert.deepEqual(chip.config(5), { consumer: 'tether', flags: F.INPUT | F.BIAS_PULL_DOWN, debounceUs: 0 });
  });

  void test('has() is the pin map: offsets on the main chip below pin_count, and lines taken by name from another chip', () => {
    const { chip, expander, gpio } = rig({ '29': 'PWR_LED_OFF' });
    assert.equal(gpio.has(0), true);
    assert.equal(gpio.has(28), true);
    assert.equal(gpio.has(30), false);
    gpio.setupOutput(29, 1);
    assert.equal(expander.level(2), 1);
    assert.equal(chip.config(29), undefined);
    assert.throws(() => gpio.setupInput(30, 'none'), RangeError);
  });

  void test('reading a pin not set up, or writing an input, says what to do', () => {
    const { gpio } = rig();
    assert.throws(() => gpio.read(3), /pin 3 is not set up; set it up as an input or an output first/);
    gpio.setupInput(3, 'up');
    assert.throws(() => gpio.write(3, 1), /pin 3 is not an output; set it up as an output first/);
    assert.throws(() => gpio.watch(4, () => {}), /pin 4 is not set up/);
  });
});

void describe('LinuxGpio: edges', { timeout: 30_000 }, () => {
  void test('an edge arrives with the kernel timestamp turned into board time, even when read late', async () => {
    const { clock, chip, gpio } = rig();
    gpio.setupInput(17, 'down');
    const seen: [Level, number | undefined][] = [];
    gpio.watch(17, (level, at) => seen.push([level, at]));
    assert.equal(chip.config(17)?.flags, F.INPUT | F.BIAS_PULL_DOWN | F.EDGE_RISING | F.EDGE_FALLING);
    await clock.advance(10);
    chip.drive(17, 1);
    await clock.advance(7); // the event is read at 17 ms
    assert.deepEqual(seen, [[1, 10]]);
    await clock.advance(3);
    chip.drive(17, 0);
    chip.drive(17, 1);
    chip.drive(17, 0);
    await clock.advance(1);
    assert.deepEqual(seen.slice(1), [
      [0, 20],
      [1, 20],
      [0, 20],
    ]);
  });

  void test('debounce: a change shorter than the period is dropped; a held one is reported once, at when it settled', async () => {
    const { clock, chip, gpio } = rig();
    gpio.setupInput(17, 'up', { debounceMs: 5 });
    const seen: [Level, number | undefined][] = [];
    gpio.watch(17, (level, at) => seen.push([level, at]));
    await clock.advance(100);
    chip.drive(17, 0);
    await clock.advance(2);
    chip.drive(17, 1); // back after 2 ms
    await clock.advance(10);
    assert.deepEqual(seen, []);
    await clock.advance(88);
    chip.drive(17, 0); // 200 ms: a bouncing press
    await clock.advance(1);
    chip.drive(17, 1);
    await clock.advance(1);
    chip.drive(17, 0); // settles at 202 ms
    assert.equal(gpio.read(17), 1, 'the debounced level has not moved yet');
    await clock.advance(10);
    assert.deepEqual(seen, [[0, 202]]);
    assert.equal(gpio.read(17), 0);
  });

  void test('stopping the last watch turns edge detection off and ends the kernel watch; another watch gets only new edges', async () => {
    const { clock, kernel, chip, gpio } = rig();
    gpio.setupInput(17, 'down');
    const first: Level[] = [];
    const second: Level[] = [];
    const stop1 = gpio.watch(17, (level) => first.push(level));
    const stop2 = gpio.watch(17, (level) => second.push(level));
    chip.drive(17, 1);
    await clock.advance(1);
    stop1();
    assert.equal(kernel.watchCount, 1);
    chip.drive(17, 0);
    await clock.advance(1);
    stop2();
    assert.equal(kernel.watchCount, 0);
    assert.equal(chip.config(17)?.flags, F.INPUT | F.BIAS_PULL_DOWN);
    chip.drive(17, 1);
    await clock.advance(1);
    assert.deepEqual(first, [1]);
    assert.deepEqual(second, [1, 0]);
    stop2(); // a second stop is harmless
    const third: Level[] = [];
    gpio.watch(17, (level) => third.push(level));
    chip.drive(17, 0);
    await clock.advance(1);
    assert.deepEqual(third, [0]);
  });

  void test('edges left unread when a watch stopped are not handed to the next watch', async () => {
    const { clock, chip, gpio } = rig();
    gpio.setupInput(17, 'down');
    const first: Level[] = [];
    const stop = gpio.watch(17, (level) => first.push(level));
    chip.drive(17, 1);
    stop(); // before the event was read
    await clock.advance(5);
    const next: [Level, number | undefined][] = [];
    gpio.watch(17, (level, at) => next.push([level, at]));
    await clock.advance(1);
    assert.deepEqual(next, []);
    chip.drive(17, 0);
    await clock.advance(1);
    assert.deepEqual(first, []);
    assert.deepEqual(next, [[0, 6]]);
  });

  void test('an output cannot be watched, and making a watched input an output ends the watch', async () => {
    const { clock, kernel, chip, gpio } = rig();
    gpio.setupOutput(12, 0);
    assert.throws(() => gpio.watch(12, () => {}), /pin 12 is an output; edges can be watched only on an input/);
    gpio.setupInput(13, 'down');
    const seen: Level[] = [];
    const stop = gpio.watch(13, (level) => seen.push(level));
    gpio.setupOutput(13, 1);
    assert.equal(kernel.watchCount, 0);
    assert.equal(chip.config(13)?.flags, F.OUTPUT);
    stop();
    await clock.advance(1);
    assert.deepEqual(seen, []);
  });
});

void describe('LinuxGpio: release', { timeout: 30_000 }, () => {
  void test('release makes the line an input without pull, then closes its request', () => {
    const { kernel, chip, gpio } = rig();
    gpio.setupOutput(18, 1);
    const fds = kernel.openFdCount;
    gpio.release(18);
    assert.equal(kernel.openFdCount, fds - 1);
    assert.equal(chip.config(18), undefined, 'no request holds the line');
    assert.equal(chip.isOutput(18), false);
    assert.equal(chip.bias(18), 'disabled');
    assert.equal(chip.level(18), 0);
    assert.throws(() => gpio.read(18), /not set up/);
    gpio.release(18); // releasing a free pin is harmless
  });

  void test('the fake keeps a closed output driven, as the Pi 5 does: so the step above is what frees it', () => {
    const clock = new ManualClock();
    const kernel = new FakeKernel({ clock });
    const chip = kernel.addChip({ label: 'pinctrl-rp1', lines: 54 });
    const chipFd = kernel.open(chip.path, 'readwrite');
    const req = uapi.encodeLineRequest({ offsets: [7], consumer: 'other', config: { flags: F.OUTPUT, attrs: [{ attr: { id: 'output_values', values: 1n }, mask: 1n }] } });
    kernel.ioctl(chipFd, uapi.GPIO_V2_GET_LINE_IOCTL, req);
    kernel.close(uapi.requestFd(req));
    assert.equal(chip.isOutput(7), true);
    assert.equal(chip.level(7), 1);
  });

  void test('releasing a watched pin ends the watch before the request closes; close() frees every line and the chip', async () => {
    const { clock, kernel, chip, gpio } = rig();
    gpio.setupInput(17, 'down');
    const seen: Level[] = [];
    const stop = gpio.watch(17, (level) => seen.push(level));
    gpio.release(17); // the fake throws if a watched fd is closed
    assert.equal(kernel.watchCount, 0);
    stop();
    chip.drive(17, 1);
    await clock.advance(1);
    assert.deepEqual(seen, []);
    gpio.setupOutput(18, 1);
    gpio.setupInput(19, 'up');
    gpio.close();
    assert.equal(kernel.openFdCount, 0);
    // Closed as the process leaves, an output keeps the (safe) level it was left at.
    assert.equal(chip.isOutput(18), true);
    assert.equal(chip.level(18), 1);
  });
});

void describe('LinuxGpio: errors a user can act on', { timeout: 30_000 }, () => {
  void test('a line a kernel driver holds: the pin, the line, the chip and the holder, and what to do', () => {
    const { chip, gpio } = rig();
    chip.claim(4, 'w1-gpio');
    const err = thrown(() => gpio.setupInput(4, 'up'));
    assert.equal(err.name, 'GpioSetupError');
    assert.match(err.message, /^pin 4 \(GPIO4, line 4 of gpiochip0 "pinctrl-bcm2711"\) is already in use by "w1-gpio": stop the program that holds it, or turn off the interface that claims it/);
    assert.match(err.message, /gpioinfo gpiochip0 shows each line's user/);
  });

  void test('a line another Tether holds names that consumer', () => {
    const { kernel, clock, gpio } = rig();
    const { pins } = mapPins(kernel, kernel.devRoot, { gpioChip: 'auto', lines: {}, pinCount: 30 });
    const other = new LinuxGpio({ kernel, clock, pins, consumer: 'tether-bench' });
    other.setupOutput(6, 0);
    assert.match(thrown(() => gpio.setupOutput(6, 1)).message, /pin 6 .* is already in use by "tether-bench"/);
  });

  void test('a chip the user may not open: the device path and the gpio group', () => {
    const { kernel, gpio } = rig();
    kernel.deny('/dev/gpiochip0');
    assert.equal(
      thrown(() => gpio.setupInput(17, 'up')).message,
      'cannot open /dev/gpiochip0 for pin 17 (GPIO17, line 17 of gpiochip0 "pinctrl-bcm2711"): permission denied — add your user to the gpio group (sudo usermod -aG gpio $USER), then log out and in again',
    );
  });

  void test('settings the kernel refuses (EINVAL) say so with what was asked', () => {
    const clock = new ManualClock();
    const kernel = new FakeKernel({ clock });
    const chip = kernel.addChip({ label: 'pinctrl-bcm2835', lines: 54 });
    const main: GpioChip = { path: chip.path, name: chip.name, label: chip.label, lines: 54 };
    const pins = new Map<number, LineRef>([[60, { chip: main, offset: 60, name: '' }]]);
    const gpio = new LinuxGpio({ kernel, clock, pins });
    assert.match(thrown(() => gpio.setupInput(60, 'up', { debounceMs: 2 })).message, /^the kernel refused the settings for pin 60 \(line 60 of gpiochip0 "pinctrl-bcm2835"\) \(input, pull up, debounce 2 ms\)/);
  });
});

void describe('GPIO chips: listing, the main chip, line info', { timeout: 30_000 }, () => {
  void test('listChips takes only gpiochipN, in number order', () => {
    const kernel = new FakeKernel({ clock: new ManualClock() });
    kernel.addChip({ name: 'gpiochip10', label: 'ten', lines: 1 });
    kernel.addChip({ name: 'gpiochip2', label: 'two', lines: 3 });
    assert.deepEqual(
      listChips(kernel, '/dev').map((c) => [c.name, c.label, c.lines, c.path]),
      [
        ['gpiochip2', 'two', 3, '/dev/gpiochip2'],
        ['gpiochip10', 'ten', 1, '/dev/gpiochip10'],
      ],
    );
    assert.deepEqual(listChips(kernel, '/nowhere'), []);
  });

  void test('auto finds the Raspberry Pi header chip by label (the Pi 5 RP1 among the SoC chips), or says what it found', () => {
    const kernel = new FakeKernel({ clock: new ManualClock() });
    kernel.addChip({ name: 'gpiochip0', label: 'gpio-brcmstb@107d508500', lines: 32 });
    kernel.addChip({ name: 'gpiochip4', label: 'pinctrl-rp1', lines: 54 });
    assert.equal(findMainChip(kernel, '/dev', 'auto').name, 'gpiochip4');
    assert.equal(findMainChip(kernel, '/dev', 'gpiochip0').label, 'gpio-brcmstb@107d508500');
    assert.equal(findMainChip(kernel, '/dev', '/dev/gpiochip0').name, 'gpiochip0');
    assert.equal(findMainChip(kernel, '/dev', 'pinctrl-rp1').name, 'gpiochip4');
    assert.throws(() => findMainChip(kernel, '/dev', 'mcp23017'), /backend.gpio_chip: no GPIO chip is labelled "mcp23017"; found gpiochip0 "gpio-brcmstb@107d508500", gpiochip4 "pinctrl-rp1"/);
    assert.throws(() => findMainChip(kernel, '/dev', 'gpiochip7'), /\/dev\/gpiochip7 does not exist/);
    const other = new FakeKernel({ clock: new ManualClock() });
    other.addChip({ label: 'tegra234-gpio', lines: 164 });
    assert.throws(() => findMainChip(other, '/dev', 'auto'), /none of the GPIO chips is a Raspberry Pi's .* found gpiochip0 "tegra234-gpio"\. Set backend.gpio_chip/);
    const none = new FakeKernel({ clock: new ManualClock() });
    assert.throws(() => findMainChip(none, '/dev', 'auto'), /no GPIO chips in \/dev: .*Linux 5.10 or later with CONFIG_GPIO_CDEV/);
  });

  void test('readLines shows each line: name, holder, direction, bias, edges and debounce', () => {
    const { kernel, chip, gpio } = rig();
    gpio.setupInput(17, 'up', { debounceMs: 5 });
    gpio.watch(17, () => {});
    gpio.setupOutput(18, 1, { drive: 'open_drain' });
    chip.claim(4, 'w1-gpio');
    const main = findMainChip(kernel, kernel.devRoot, 'auto');
    const lines = readLines(kernel, main);
    assert.equal(lines.length, 58);
    assert.deepEqual(lines[17], { offset: 17, name: 'GPIO17', consumer: 'tether', used: true, direction: 'input', activeLow: false, drive: 'push_pull', bias: 'pull-up', edges: 'both', debounceUs: 5000 });
    assert.deepEqual(lines[18], { offset: 18, name: 'GPIO18', consumer: 'tether', used: true, direction: 'output', activeLow: false, drive: 'open_drain', bias: 'as-is', edges: 'none', debounceUs: undefined });
    assert.equal(lines[4]?.consumer, 'w1-gpio');
    assert.equal(lines[4]?.used, true);
    assert.deepEqual([lines[20]?.used, lines[20]?.consumer, lines[20]?.direction], [false, '', 'input']);
  });

  void test('a backend.lines name no chip has is an error naming the config line', () => {
    const kernel = new FakeKernel({ clock: new ManualClock() });
    kernel.addChip({ label: 'pinctrl-bcm2711', lines: pi4Lines() });
    assert.throws(() => mapPins(kernel, '/dev', { gpioChip: 'auto', lines: { '7': 'RELAY_1' }, pinCount: 30 }), /backend.lines.7: no GPIO line is named "RELAY_1" on gpiochip0; gpioinfo lists the line names/);
  });
});

void describe('the fake kernel answers as Linux does', { timeout: 30_000 }, () => {
  function requestWith(flags: bigint, attrs: uapi.ConfigAttribute[] = []) {
    const kernel = new FakeKernel({ clock: new ManualClock() });
    const chip = kernel.addChip({ label: 'pinctrl-bcm2711', lines: 8 });
    const fd = kernel.open(chip.path, 'readwrite');
    const req = uapi.encodeLineRequest({ offsets: [1], consumer: 'x', config: { flags, attrs } });
    return { kernel, chip, fd, req, send: () => kernel.ioctl(fd, uapi.GPIO_V2_GET_LINE_IOCTL, req) };
  }

  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof KernelError);
      return err.code;
    }
    return 'ok';
  };

  void test('flag combinations the kernel refuses are EINVAL', () => {
    const cases: [string, bigint, uapi.ConfigAttribute[]][] = [
      ['input and output', F.INPUT | F.OUTPUT, []],
      ['edges on an output', F.OUTPUT | F.EDGE_RISING, []],
      ['edges without a direction', F.EDGE_FALLING, []],
      ['open drain and open source', F.OUTPUT | F.OPEN_DRAIN | F.OPEN_SOURCE, []],
      ['open drain on an input', F.INPUT | F.OPEN_DRAIN, []],
      ['a pull without a direction', F.BIAS_PULL_UP, []],
      ['two pulls', F.INPUT | F.BIAS_PULL_UP | F.BIAS_PULL_DOWN, []],
      ['USED is not a request flag', F.INPUT | F.USED, []],
      ['debounce on an output', F.OUTPUT, [{ attr: { id: 'debounce', periodUs: 1000 }, mask: 1n }]],
    ];
    for (const [what, flags, attrs] of cases) assert.equal(codeOf(requestWith(flags, attrs).send), 'EINVAL', what);
    assert.equal(codeOf(requestWith(F.INPUT | F.BIAS_PULL_UP | F.EDGE_RISING | F.EDGE_FALLING).send), 'ok');
    const padded = requestWith(F.INPUT);
    padded.req[uapi.LINE_REQUEST.padding] = 1;
    assert.equal(codeOf(padded.send), 'EINVAL', 'non-zero padding');
  });

  void test('a held line is EBUSY; SET_VALUES on an input is EPERM; an unknown path is ENOENT', () => {
    const { kernel, chip, fd, req, send } = requestWith(F.INPUT);
    send();
    assert.equal(codeOf(() => kernel.ioctl(fd, uapi.GPIO_V2_GET_LINE_IOCTL, Buffer.from(req))), 'EBUSY');
    const values = uapi.encodeLineValues({ bits: 1n, mask: 1n });
    assert.equal(codeOf(() => kernel.ioctl(uapi.requestFd(req), uapi.GPIO_V2_LINE_SET_VALUES_IOCTL, values)), 'EPERM');
    assert.equal(codeOf(() => kernel.open('/dev/gpiochip9', 'readwrite')), 'ENOENT');
    kernel.deny(chip.path);
    assert.equal(codeOf(() => kernel.open(chip.path, 'readwrite')), 'EACCES');
  });

  void test('active low: values and edge ids are logical', async () => {
    const clock = new ManualClock();
    const kernel = new FakeKernel({ clock });
    const chip = kernel.addChip({ label: 'pinctrl-bcm2711', lines: 8 });
    const fd = kernel.open(chip.path, 'readwrite');
    const req = uapi.encodeLineRequest({ offsets: [2], consumer: 'x', config: { flags: F.INPUT | F.ACTIVE_LOW | F.BIAS_DISABLED | F.EDGE_RISING | F.EDGE_FALLING, attrs: [] } });
    kernel.ioctl(fd, uapi.GPIO_V2_GET_LINE_IOCTL, req);
    const line = uapi.requestFd(req);
    const values = uapi.encodeLineValues({ bits: 0n, mask: 1n });
    kernel.ioctl(line, uapi.GPIO_V2_LINE_GET_VALUES_IOCTL, values);
    assert.equal(uapi.decodeLineValues(values).bits, 1n, 'physical 0 reads active');
    chip.drive(2, 1);
    await clock.advance(1);
    const buf = Buffer.alloc(uapi.LINE_EVENT.size * 4);
    assert.equal(kernel.read(line, buf), uapi.LINE_EVENT.size);
    assert.equal(uapi.decodeLineEvent(buf).id, uapi.EventId.FALLING_EDGE, 'physical rise is a logical fall');
  });

  void test('a full event buffer drops its oldest events; sequence numbers show the gap', () => {
    const kernel = new FakeKernel({ clock: new ManualClock() });
    const chip = kernel.addChip({ label: 'pinctrl-bcm2711', lines: 8 });
    const fd = kernel.open(chip.path, 'readwrite');
    const req = uapi.encodeLineRequest({ offsets: [3], consumer: 'x', config: { flags: F.INPUT | F.BIAS_DISABLED | F.EDGE_RISING | F.EDGE_FALLING, attrs: [] }, eventBufferSize: 2 });
    kernel.ioctl(fd, uapi.GPIO_V2_GET_LINE_IOCTL, req);
    for (const level of [1, 0, 1] as const) chip.drive(3, level);
    const buf = Buffer.alloc(uapi.LINE_EVENT.size * 4);
    assert.equal(kernel.read(uapi.requestFd(req), buf), 2 * uapi.LINE_EVENT.size);
    assert.deepEqual([0, 1].map((i) => uapi.decodeLineEvent(buf, i * uapi.LINE_EVENT.size).lineSeqno), [2, 3]);
    assert.equal(kernel.read(uapi.requestFd(req), buf), 0, 'nothing left: 0, as EAGAIN on a non-blocking fd');
  });
});
