// Hardware PWM through a prepared /sys/class/pwm whose writes go through a fake kernel that
// refuses duty_cycle > period and creates an exported channel a moment later.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { listPwmChips, SysfsPwm } from '../../../src/device/backends/linux/sysfs-pwm.js';
import { fakePwmKernel, PI4_PWM, pwmChip, tempRoots, writeTree, type TempRoots } from './fake-sysfs.js';

void describe('SysfsPwm', { timeout: 30_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => {
    roots = tempRoots();
    pwmChip(roots, 0, PI4_PWM);
  });
  afterEach(() => roots.cleanup());

  const file = (rel: string) => readFileSync(join(roots.sys, 'class/pwm', rel), 'utf8').trim();
  const open = (options: Parameters<typeof fakePwmKernel>[1] = {}) => {
    const kernel = fakePwmKernel(roots, options);
    return { kernel, pwm: new SysfsPwm({ roots, io: kernel.io, sleepSync: kernel.sleep, exportTimeoutMs: 200 }) };
  };

  void test('exports the channel, waits for it, then writes duty, period and enable in nanoseconds', () => {
    const { kernel, pwm } = open();
    pwm.set({ chip: 0, channel: 1 }, 25_000, 0.7);
    assert.deepEqual(kernel.writes, ['pwmchip0/export=1', 'pwmchip0/pwm1/period=40000', 'pwmchip0/pwm1/duty_cycle=28000', 'pwmchip0/pwm1/enable=1']);
    assert.ok(kernel.sleeps >= 1, 'waited for the kernel to create pwm1/');
    assert.deepEqual(pwm.read({ chip: 0, channel: 1 }), { periodNs: 40_000, dutyNs: 28_000, enabled: true, polarity: 'normal' });
  });

  void test('a lease ending at safe duty 0 puts duty_cycle back to 0 and keeps the channel enabled, so the pin is held low', () => {
    const { kernel, pwm } = open();
    pwm.set({ chip: 0, channel: 0 }, 25_000, 0.7);
    kernel.writes.length = 0;
    pwm.set({ chip: 0, channel: 0 }, 25_000, 0);
    assert.deepEqual(kernel.writes, ['pwmchip0/pwm0/duty_cycle=0']);
    assert.equal(file('pwmchip0/pwm0/duty_cycle'), '0');
    assert.equal(file('pwmchip0/pwm0/enable'), '1');
    assert.equal(file('pwmchip0/pwm0/period'), '40000');
  });

  void test('changing frequency writes period and duty in the order the kernel accepts, both ways', () => {
    const { kernel, pwm } = open();
    const ch = { chip: 0, channel: 0 };
    pwm.set(ch, 25_000, 0.7);
    kernel.writes.length = 0;
    // Slower: the new duty (900 µs) exceeds the old period (40 µs), so the period goes first.
    pwm.set(ch, 1000, 0.9);
    assert.deepEqual(kernel.writes, ['pwmchip0/pwm0/period=1000000', 'pwmchip0/pwm0/duty_cycle=900000']);
    kernel.writes.length = 0;
    // Faster: the old duty (900 µs) exceeds the new period (20 µs), so the duty goes first.
    pwm.set(ch, 50_000, 0.5);
    assert.deepEqual(kernel.writes, ['pwmchip0/pwm0/duty_cycle=10000', 'pwmchip0/pwm0/period=20000']);
    assert.deepEqual(pwm.read(ch), { periodNs: 20_000, dutyNs: 10_000, enabled: true, polarity: 'normal' });
    kernel.writes.length = 0;
    pwm.set(ch, 50_000, 0.5);
    assert.deepEqual(kernel.writes, [], 'nothing is rewritten when nothing changes');
  });

  void test('stop writes duty 0 before disabling', () => {
    const { kernel, pwm } = open();
    pwm.set({ chip: 0, channel: 0 }, 1000, 0.5);
    kernel.writes.length = 0;
    pwm.stop({ chip: 0, channel: 0 });
    assert.deepEqual(kernel.writes, ['pwmchip0/pwm0/duty_cycle=0', 'pwmchip0/pwm0/enable=0']);
    assert.equal(file('pwmchip0/pwm0/enable'), '0');
    pwm.set({ chip: 0, channel: 0 }, 1000, 0.25);
    assert.equal(file('pwmchip0/pwm0/enable'), '1');
    assert.equal(file('pwmchip0/pwm0/duty_cycle'), '250000');
  });

  void test('stop on a channel left running by an earlier run still writes duty 0, then disables; a channel never exported is left alone', () => {
    writeTree(join(roots.sys, 'class/pwm/pwmchip0/pwm1'), { period: '40000\n', duty_cycle: '30000\n', enable: '1\n', polarity: 'normal\n' });
    const { kernel, pwm } = open();
    pwm.stop({ chip: 0, channel: 1 });
    pwm.stop({ chip: 0, channel: 0 });
    assert.deepEqual(kernel.writes, ['pwmchip0/pwm1/duty_cycle=0', 'pwmchip0/pwm1/enable=0']);
  });

  void test('a channel found enabled is disabled before it is configured, and an inversed polarity set back to normal', () => {
    writeTree(join(roots.sys, 'class/pwm/pwmchip0/pwm0'), { period: '1000000\n', duty_cycle: '500000\n', enable: '1\n', polarity: 'inversed\n' });
    const { kernel, pwm } = open();
    pwm.set({ chip: 0, channel: 0 }, 1000, 0.5);
    assert.deepEqual(kernel.writes, ['pwmchip0/pwm0/enable=0', 'pwmchip0/pwm0/polarity=normal', 'pwmchip0/pwm0/enable=1']);
    assert.equal(kernel.writes.some((w) => w.endsWith('/export')), false, 'an exported channel is not exported again');
  });

  void test('waits for udev to open the new channel to our group', () => {
    const { kernel, pwm } = open({ udevDelay: 3 });
    pwm.set({ chip: 0, channel: 0 }, 100, 0.5);
    assert.ok(kernel.sleeps >= 4, `slept ${kernel.sleeps} times`);
    assert.equal(file('pwmchip0/pwm0/enable'), '1');
  });

  void test('an export the process may not write names the gpio group and the udev rule', () => {
    const { kernel, pwm } = open();
    kernel.failWrite('pwmchip0/export', 'EACCES');
    assert.throws(
      () => pwm.set({ chip: 0, channel: 0 }, 100, 0.5),
      (err: Error) => /cannot write .*pwmchip0\/export: permission denied \(EACCES\)/.test(err.message) && /gpio group/.test(err.message) && /99-com\.rules/.test(err.message) && /usermod -aG gpio/.test(err.message),
    );
  });

  void test('a channel udev never opens to us fails after the timeout with the same advice', () => {
    const { pwm } = open({ udevDelay: 1_000_000 });
    assert.throws(() => pwm.set({ chip: 0, channel: 0 }, 100, 0.5), /permission denied 200 ms after the export; .*gpio group/);
  });

  void test('a channel the kernel never creates, a busy channel, a channel past npwm and a missing chip each say so', () => {
    const never = open({ neverCreate: true });
    assert.throws(() => never.pwm.set({ chip: 0, channel: 0 }, 100, 0.5), /pwmchip0\/pwm0 did not appear within 200 ms/);
    const busy = open();
    busy.kernel.failWrite('pwmchip0/export', 'EBUSY');
    assert.throws(() => busy.pwm.set({ chip: 0, channel: 1 }, 100, 0.5), /pwmchip0 channel 1 is in use by a kernel driver/);
    assert.throws(() => busy.pwm.set({ chip: 0, channel: 2 }, 100, 0.5), /pwmchip0 has 2 channels \(0–1\), not channel 2/);
    assert.throws(() => busy.pwm.set({ chip: 3, channel: 0 }, 100, 0.5), /no PWM chip .*pwmchip3 \(found pwmchip0\)/);
  });

  void test('a period the kernel refuses is a RangeError naming the frequency', () => {
    const { kernel, pwm } = open();
    pwm.set({ chip: 0, channel: 0 }, 100, 0.5);
    kernel.failWrite('pwmchip0/pwm0/period', 'EINVAL');
    assert.throws(() => pwm.set({ chip: 0, channel: 0 }, 40_000_000, 0.5), (err: Error) => err instanceof RangeError && /25 ns \(40000000 Hz\)/.test(err.message));
    assert.throws(() => pwm.set({ chip: 0, channel: 0 }, 5e9, 0.5), RangeError);
  });
});

void describe('listPwmChips', { timeout: 30_000 }, () => {
  test('lists each chip with its channel count, exported channels and device-tree node', () => {
    const roots = tempRoots();
    try {
      pwmChip(roots, 0, PI4_PWM);
      writeTree(join(roots.sys, 'class/pwm/pwmchip0/pwm1'), { period: '0\n' });
      writeTree(join(roots.sys, 'class/pwm/pwmchip2'), { npwm: '4\n' });
      assert.deepEqual(listPwmChips(roots), [
        { chip: 0, path: join(roots.sys, 'class/pwm/pwmchip0'), npwm: 2, exported: [1], device: 'fe20c000.pwm', ofName: '/soc/pwm@7e20c000', compatible: ['brcm,bcm2835-pwm'] },
        { chip: 2, path: join(roots.sys, 'class/pwm/pwmchip2'), npwm: 4, exported: [], device: undefined, ofName: undefined, compatible: [] },
      ]);
    } finally {
      roots.cleanup();
    }
  });
});
