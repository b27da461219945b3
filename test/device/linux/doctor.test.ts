// `tether doctor` on a fake Raspberry Pi 4 (fake kernel, prepared /sys, /dev and /proc): what a
// healthy Pi shows and each problem with its fix — I2C off, the PWM overlay missing, a device
// this user may not open — and the exit code a script sees.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Command } from 'commander';
import type { CliContext } from '../../../src/cli/context.js';
import { registerDoctor } from '../../../src/cli/doctor-command.js';
import { groupName, type Identity } from '../../../src/device/backends/linux/access.js';
import { benchRaw, fakePi4, MODEL, PI, type Pi, type PiOptions } from './fake-pi.js';
import { devNode, tempRoots, type TempRoots } from './fake-sysfs.js';

interface Run {
  lines: string[];
  text: string;
  code: number;
}

async function doctor(pi: Pi, args: string[], identity: Identity = PI): Promise<Run> {
  const lines: string[] = [];
  let code = 0;
  const ctx: CliContext = { out: (l) => lines.push(l), err: (l) => lines.push(`tether: ${l}`), stdoutIsTTY: false, fail: (c) => (code = Math.max(code, c)) };
  const program = new Command().exitOverride();
  registerDoctor(program, ctx, { kernel: pi.kernel, identity, env: pi.env });
  await program.parseAsync(['doctor', ...args], { from: 'user' });
  return { lines, text: lines.join('\n'), code };
}

/** A Pi set up as Raspberry Pi OS does it: the devices belong to groups the user `pi` is in. */
function healthyPi(roots: TempRoots, options: PiOptions = {}): Pi {
  const pi = fakePi4(roots, options);
  for (const node of ['gpiochip0', 'gpiochip1', ...(options.i2c === false ? [] : ['i2c-1'])]) devNode(roots, node, { gid: 1000 });
  // The kernel makes export write-only; the udev rule gives it to the gpio group.
  const exportFile = join(roots.sys, 'class/pwm/pwmchip0/export');
  if (options.pwmOverlay !== false) {
    chownSync(exportFile, 0, 1000);
    chmodSync(exportFile, 0o220);
  }
  return pi;
}

function configFile(roots: TempRoots, extra: Record<string, unknown> = {}): string {
  const file = join(roots.base, 'bench.json');
  writeFileSync(file, JSON.stringify(benchRaw(extra)));
  return file;
}

void describe('tether doctor on a fake Raspberry Pi 4', { timeout: 60_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => (roots = tempRoots()));
  afterEach(() => roots.cleanup());

  void test('a healthy Pi: chips, lines in use, the addresses that answer, PWM, CPU and WiFi; the bench can start', async () => {
    const pi = healthyPi(roots);
    pi.chip.claim(4, 'w1-gpio');
    const file = configFile(roots);
    const run = await doctor(pi, ['--config', file]);
    assert.equal(run.code, 0, run.text);
    const group = groupName(1000) ?? '1000';
    assert.equal(run.lines[0], `tether doctor: ${MODEL}; user pi (groups ${group})`);
    // The prepared folder's stand-ins are plain files; on a Pi the mode starts with c.
    assert.ok(run.lines.includes(`  ✓ ${join(roots.dev, 'gpiochip0')}  pinctrl-bcm2711, 58 lines, main chip  -rw-rw---- root:${group}`), run.text);
    assert.match(run.text, /in use: 4 GPIO4 \(w1-gpio\)/);
    assert.ok(run.lines.some((l) => l.startsWith(`  ✓ ${join(roots.dev, 'i2c-1')}  answering: 0x38 0x48 0x49 0x4a 0x4b 0x4c`)), run.text);
    assert.match(run.text, /✓ pwmchip0 \(fe20c000\.pwm\): 2 channels/);
    assert.match(run.text, /CPU temperature: 47\.2 °C/);
    assert.match(run.text, /WiFi: wlan0 -52 dBm/);
    assert.match(run.text, /✓ pin 18 as hardware PWM — actuators\[0\] \(fan\): pwmchip0 channel 0/);
    assert.match(run.text, /✓ pin 23 as software PWM — actuators\[1\] \(heater\)/);
    assert.match(run.text, /✓ tmp102 at 0x4b on I2C bus 1 — sensors\[4\] \(t_out\): answers/);
    assert.equal(run.lines.at(-1), 'The config can start here.');
    // Nothing stays open, and the kernel seam is given back.
    assert.equal(pi.kernel.openFdCount, 0);
  });

  void test('a bench that serves PyMoDAQ: doctor checks that ZeroMQ loads here', async () => {
    const pi = healthyPi(roots);
    const run = await doctor(pi, ['--config', configFile(roots, { pymodaq: { port: 5555 } })]);
    assert.equal(run.code, 0, run.text);
    assert.match(run.text, /✓ ZeroMQ \(the zeromq package\), for PyMoDAQ's plugin — pymodaq: libzmq 4\.\d+\.\d+/);
  });

  void test('--json gives the same facts for a script, absent ones as null', async () => {
    const pi = healthyPi(roots);
    const run = await doctor(pi, ['--config', configFile(roots), '--json']);
    const report = JSON.parse(run.text) as Record<string, unknown> & { i2c: Array<{ answering: string[] }>; config: { canStart: boolean; findings: Array<{ ok: boolean; advice: unknown }> } };
    assert.equal(report['model'], MODEL);
    assert.deepEqual(report.i2c[0]?.answering, ['0x38', '0x48', '0x49', '0x4a', '0x4b', '0x4c']);
    assert.equal(report.config.canStart, true);
    assert.ok(report.config.findings.every((f) => f.ok && f.advice === null));
    assert.equal(run.code, 0);
  });

  void test('I2C off: the bus is missing, with the line that turns it on; exit 1', async () => {
    const pi = healthyPi(roots, { i2c: false });
    const run = await doctor(pi, ['--config', configFile(roots)]);
    assert.equal(run.code, 1);
    assert.match(run.text, /✗ no I2C bus in .*: I2C is off \(sudo raspi-config nonint do_i2c 0\)/);
    const i = run.lines.findIndex((l) => l.startsWith('  ✗ I2C bus 1 — i2c[0]: '));
    assert.ok(i > 0, run.text);
    assert.match(run.lines[i + 1] ?? '', /→ turn I2C on with sudo raspi-config nonint do_i2c 0, or add dtparam=i2c_arm=on to \/boot\/firmware\/config\.txt/);
    // One problem for the bus, not one more for each chip on it.
    assert.ok(!run.text.includes('aht10 at 0x38'), run.text);
    assert.equal(run.lines.at(-1), 'The config cannot start here: 1 problem above.');
  });

  void test('the PWM overlay missing: the fan pin gets the overlay line; the software PWM heater is fine', async () => {
    const pi = healthyPi(roots, { pwmOverlay: false });
    const run = await doctor(pi, ['--config', configFile(roots)]);
    assert.equal(run.code, 1);
    assert.match(run.text, /PWM\n {2}none: hardware PWM needs its overlay/);
    assert.match(run.text, /✗ pin 18 as hardware PWM — actuators\[0\] \(fan\): .*dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2/);
    assert.match(run.text, /✓ pin 23 as software PWM/);
    assert.equal(run.lines.at(-1), 'The config cannot start here: 1 problem above.');
  });

  void test('wrong permissions: a root-only chip gets the udev rule, a group-owned bus the group to join', async () => {
    const pi = healthyPi(roots);
    devNode(roots, 'gpiochip0', { mode: 0o600 });
    devNode(roots, 'i2c-1', { mode: 0o660, gid: 4242 });
    const run = await doctor(pi, ['--config', configFile(roots)]);
    assert.equal(run.code, 1);
    const chipLine = run.lines.findIndex((l) => l.includes(`✗ ${join(roots.dev, 'gpiochip0')}`));
    assert.ok(chipLine > 0, run.text);
    assert.match(run.lines[chipLine + 1] ?? '', /→ .*is for root only: add the line `SUBSYSTEM=="gpio", KERNEL=="gpiochip\*", GROUP="gpio", MODE="0660"` to \/etc\/udev\/rules\.d\/60-tether\.rules/);
    assert.match(run.text, /belongs to the group (4242|\w+): add your user to the (4242|\w+) group \(sudo usermod -aG/);
    assert.match(run.text, /✗ pin 17 as an input — pins\[0\] \(door\): .*cannot be opened by pi/);
    // root may open anything: the same machine is fine for a service running as root.
    const asRoot = await doctor(pi, ['--config', configFile(roots)], { name: 'root', uid: 0, gids: [0] });
    assert.equal(asRoot.code, 0, asRoot.text);
  });

  void test('without a config it only reports, and exits 0 even on a bare machine', async () => {
    const pi = healthyPi(roots, { i2c: false, pwmOverlay: false });
    rmSync(join(roots.sys, 'class/thermal'), { recursive: true, force: true });
    const run = await doctor(pi, []);
    assert.equal(run.code, 0);
    assert.match(run.text, /CPU temperature: not reported/);
    assert.ok(!run.text.includes('Config '), run.text);
  });
});
