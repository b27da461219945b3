// `tether service install|uninstall`: the unit as rendered, as systemd-analyze reads it, and the
// install and removal against a temporary unit folder and a fake systemctl that records its calls.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Command } from 'commander';
import type { CliContext } from '../../src/cli/context.js';
import { CliFailure } from '../../src/cli/context.js';
import { registerService } from '../../src/cli/service-command.js';
import type { Account, ServiceHost } from '../../src/service/host.js';
import { planService } from '../../src/service/plan.js';
import { renderUnit, quoteExecWord, quoteListWord, unitFileName, type ServiceUnitOptions } from '../../src/service/systemd-unit.js';
import { BIN, collect, ROOT, runCli, type CliResult } from './run-cli.js';

const BENCH = path.join(ROOT, 'examples', 'bench.yaml');
/** A checkout cloned under /tmp (as CI may do) gets a note about BENCH itself; the tests below are about other paths. */
const beyondCheckout = (notes: readonly string[]): string[] => notes.filter((n) => !n.startsWith(`${BENCH} is under /tmp or /var/tmp`));
const HUB_YAML = path.join(ROOT, 'examples', 'hub.yaml');
const temps: string[] = [];

function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-service-${label}-`));
  temps.push(dir);
  return dir;
}

after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/** The unit as sections of key=value lines, in order; comments and blank lines dropped. */
function parseUnit(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) {
      current = [];
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current !== undefined && eq > 0, `not a key=value line inside a section: ${line}`);
    current.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return sections;
}

function values(unit: Map<string, [string, string][]>, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

function one(unit: Map<string, [string, string][]>, section: string, key: string): string | undefined {
  const found = values(unit, section, key);
  assert.ok(found.length <= 1, `${key}= appears ${found.length} times`);
  return found[0];
}

const HUB_OPTIONS: ServiceUnitOptions = {
  kind: 'hub',
  node: '/usr/bin/node',
  bin: '/usr/local/lib/node_modules/tether-hw/bin/tether.js',
  config: '/etc/tether/hub.yaml',
  data: '/var/lib/tether',
  workingDirectory: '/etc/tether',
};

const DEVICE_OPTIONS: ServiceUnitOptions = {
  kind: 'device',
  node: '/usr/bin/node',
  bin: '/usr/local/lib/node_modules/tether-hw/bin/tether.js',
  config: '/etc/tether/board.yaml',
  workingDirectory: '/etc/tether',
  user: { name: 'pi', group: 'pi' },
  supplementaryGroups: ['gpio', 'i2c'],
};

const SANDBOX_BOTH = ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality'];

void describe('the systemd unit, as rendered', { timeout: 30_000 }, () => {
  test('hub: the command line by absolute paths, restart, sandbox, its data folder writable, no groups', () => {
    const unit = parseUnit(renderUnit(HUB_OPTIONS));
    assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
    assert.equal(one(unit, 'Unit', 'Wants'), 'network-online.target');
    assert.equal(one(unit, 'Unit', 'After'), 'network-online.target');
    assert.equal(
      one(unit, 'Service', 'ExecStart'),
      '/usr/bin/node /usr/local/lib/node_modules/tether-hw/bin/tether.js hub --config /etc/tether/hub.yaml --data /var/lib/tether',
    );
    assert.equal(one(unit, 'Service', 'Type'), 'simple');
    assert.equal(one(unit, 'Service', 'Restart'), 'always');
    assert.equal(one(unit, 'Service', 'RestartSec'), '2');
    assert.equal(one(unit, 'Service', 'KillSignal'), 'SIGTERM');
    assert.equal(one(unit, 'Service', 'TimeoutStopSec'), '20');
    assert.equal(one(unit, 'Service', 'WorkingDirectory'), '/etc/tether');
    assert.equal(one(unit, 'Service', 'Environment'), 'NODE_ENV=production');
    assert.equal(one(unit, 'Service', 'ProtectSystem'), 'strict');
    assert.equal(one(unit, 'Service', 'ProtectHome'), 'read-only');
    assert.equal(one(unit, 'Service', 'ReadWritePaths'), '/var/lib/tether');
    for (const key of SANDBOX_BOTH) assert.ok(one(unit, 'Service', key) !== undefined, `${key}= is set`);
    assert.equal(one(unit, 'Service', 'PrivateDevices'), 'yes');
    assert.equal(one(unit, 'Service', 'ProtectKernelTunables'), 'yes');
    for (const key of ['User', 'Group', 'SupplementaryGroups']) assert.equal(one(unit, 'Service', key), undefined, `no ${key}= for a root hub`);
    assert.equal(one(unit, 'Install', 'WantedBy'), 'multi-user.target');
  });

  test('node flags go between node and bin/tether.js; anything that is not a flag is refused', () => {
    const unit = parseUnit(renderUnit({ ...HUB_OPTIONS, nodeFlags: ['--single-threaded-gc'] }));
    assert.equal(
      one(unit, 'Service', 'ExecStart'),
      '/usr/bin/node --single-threaded-gc /usr/local/lib/node_modules/tether-hw/bin/tether.js hub --config /etc/tether/hub.yaml --data /var/lib/tether',
    );
    for (const bad of ['single-threaded-gc', '--x; rm -rf /', '--a b', '']) {
      assert.throws(() => renderUnit({ ...HUB_OPTIONS, nodeFlags: [bad] }), { name: 'ServiceError', message: /is not a node flag/ }, bad);
    }
  });

  test('hub with a user: User= and Group=, still no hardware groups', () => {
    const unit = parseUnit(renderUnit({ ...HUB_OPTIONS, user: { name: 'tether', group: 'tether' } }));
    assert.equal(one(unit, 'Service', 'User'), 'tether');
    assert.equal(one(unit, 'Service', 'Group'), 'tether');
    assert.equal(one(unit, 'Service', 'SupplementaryGroups'), undefined);
  });

  test('device: its user with gpio and i2c; /dev and /sys left usable; nothing writable on disk', () => {
    const unit = parseUnit(renderUnit(DEVICE_OPTIONS));
    assert.equal(one(unit, 'Service', 'ExecStart'), '/usr/bin/node /usr/local/lib/node_modules/tether-hw/bin/tether.js device --config /etc/tether/board.yaml');
    assert.equal(one(unit, 'Service', 'User'), 'pi');
    assert.equal(one(unit, 'Service', 'Group'), 'pi');
    assert.equal(one(unit, 'Service', 'SupplementaryGroups'), 'gpio i2c');
    for (const key of SANDBOX_BOTH) assert.ok(one(unit, 'Service', key) !== undefined, `${key}= is set`);
    // PrivateDevices= would hide /dev/gpiochip*; ProtectKernelTunables= makes /sys (and so
    // /sys/class/pwm) read-only; ProtectClock= would switch on a device allow-list.
    for (const key of ['PrivateDevices', 'ProtectKernelTunables', 'ProtectClock', 'DevicePolicy', 'DeviceAllow', 'ReadWritePaths']) {
      assert.equal(one(unit, 'Service', key), undefined, `no ${key}= for a device`);
    }
  });

  test('paths with blanks, quotes, backslashes, % and $ are quoted and escaped per systemd.syntax(7)', () => {
    assert.equal(quoteExecWord('/srv/plain/board.yaml'), '/srv/plain/board.yaml');
    assert.equal(quoteExecWord('/srv/my boards/board.yaml'), '"/srv/my boards/board.yaml"');
    assert.equal(quoteExecWord('/srv/a "b"/c\\d'), '"/srv/a \\"b\\"/c\\\\d"');
    assert.equal(quoteExecWord('/srv/100%/$HOME'), '/srv/100%%/$$HOME');
    assert.equal(quoteListWord('/srv/my data'), '"/srv/my data"');
    assert.equal(quoteListWord('/srv/50%'), '/srv/50%%');
    const unit = parseUnit(renderUnit({ ...HUB_OPTIONS, config: '/srv/my hub/hub.yaml', data: '/srv/my hub/data 1', workingDirectory: '/srv/my hub' }));
    assert.equal(one(unit, 'Service', 'ExecStart'), `/usr/bin/node ${HUB_OPTIONS.bin} hub --config "/srv/my hub/hub.yaml" --data "/srv/my hub/data 1"`);
    assert.equal(one(unit, 'Service', 'ReadWritePaths'), '"/srv/my hub/data 1"');
    // WorkingDirectory= takes one path, unquoted: quotes there would be part of the name.
    assert.equal(one(unit, 'Service', 'WorkingDirectory'), '/srv/my hub');
  });

  test('a relative path, a control character or a bad unit name is refused with what to do', () => {
    assert.throws(() => renderUnit({ ...DEVICE_OPTIONS, config: 'board.yaml' }), { name: 'ServiceError', message: /config: the unit needs an absolute path, got "board.yaml"/ });
    assert.throws(() => renderUnit({ ...DEVICE_OPTIONS, config: '/srv/a\nb.yaml' }), { name: 'ServiceError', message: /control character/ });
    assert.throws(() => renderUnit({ ...HUB_OPTIONS, data: undefined }), { name: 'ServiceError', message: /data folder/ });
    assert.equal(unitFileName('tether-shed'), 'tether-shed.service');
    assert.equal(unitFileName('tether-shed.service'), 'tether-shed.service');
    assert.throws(() => unitFileName('../etc/passwd'), { name: 'ServiceError', message: /is not a unit name/ });
    assert.throws(() => unitFileName('tether@1'), { name: 'ServiceError', message: /is not a unit name/ });
  });
});

interface FakeHostOptions {
  uid?: number;
  cwd?: string;
  sudoUser?: string;
  userName?: string;
  groups?: string[];
  hardwareGroups?: string[];
  unitDir?: string;
  cpus?: number;
}

const ACCOUNTS: Record<string, Account> = { pi: { name: 'pi', uid: 1000, gid: 1000 }, tether: { name: 'tether', uid: 999, gid: 998 }, root: { name: 'root', uid: 0, gid: 0 } };
const GROUP_NAMES: Record<number, string> = { 1000: 'pi', 998: 'tether', 0: 'root' };

function fakeHost(options: FakeHostOptions = {}): ServiceHost & { calls: string[][] } {
  const calls: string[][] = [];
  const groups = new Set(options.groups ?? ['gpio', 'i2c']);
  return {
    calls,
    uid: options.uid ?? 0,
    cwd: options.cwd ?? '/srv/bench',
    sudoUser: options.sudoUser,
    userName: options.userName ?? 'root',
    unitDir: options.unitDir ?? '/etc/systemd/system',
    node: '/usr/bin/node',
    bin: '/usr/lib/node_modules/tether-hw/bin/tether.js',
    cpus: options.cpus ?? 4,
    lookupUser: (name) => ACCOUNTS[name],
    groupName: (gid) => GROUP_NAMES[gid],
    groupExists: (name) => groups.has(name),
    hardwareGroups: () => options.hardwareGroups ?? [],
    systemctl: (args) => {
      calls.push([...args]);
      return Promise.resolve();
    },
  };
}

void describe('planning a service from the command line', { timeout: 30_000 }, () => {
  test('on one CPU the hub runs with its garbage collection on its own thread; a board, and a hub with more CPUs, run plain node', async () => {
    const dir = tempDir('cpus');
    fs.copyFileSync(HUB_YAML, path.join(dir, 'hub.yaml'));
    const one = await planService({ kind: 'hub', config: 'hub.yaml' }, fakeHost({ cwd: dir, cpus: 1 }));
    assert.match(one.unit, /^ExecStart=\/usr\/bin\/node --single-threaded-gc \/usr\/lib\/node_modules\/tether-hw\/bin\/tether\.js hub --config /m);
    assert.ok(one.notes.some((n) => n.includes('one CPU') && n.includes('--single-threaded-gc')), one.notes.join('\n'));
    const two = await planService({ kind: 'hub', config: 'hub.yaml' }, fakeHost({ cwd: dir, cpus: 2 }));
    assert.match(two.unit, /^ExecStart=\/usr\/bin\/node \/usr\/lib\/node_modules\/tether-hw\/bin\/tether\.js hub /m);
    assert.ok(!two.notes.some((n) => n.includes('CPU')), two.notes.join('\n'));
    const board = await planService({ kind: 'device', config: BENCH, user: 'pi' }, fakeHost({ cpus: 1 }));
    assert.match(board.unit, /^ExecStart=\/usr\/bin\/node \/usr\/lib\/node_modules\/tether-hw\/bin\/tether\.js device /m);
  });

  test('relative --config and --data are taken from the folder install runs in', async () => {
    const dir = tempDir('plan');
    fs.copyFileSync(HUB_YAML, path.join(dir, 'hub.yaml'));
    const plan = await planService({ kind: 'hub', config: 'hub.yaml', data: 'state' }, fakeHost({ cwd: dir }));
    assert.equal(plan.options.config, path.join(dir, 'hub.yaml'));
    assert.equal(plan.options.data, path.join(dir, 'state'));
    assert.equal(plan.options.workingDirectory, dir);
    assert.equal(plan.unitPath, '/etc/systemd/system/tether-hub.service');
  });

  test("a hub's data folder defaults to the config's data:, from the same folder", async () => {
    const dir = tempDir('plan');
    fs.writeFileSync(path.join(dir, 'hub.yaml'), 'data: ./van-data\n');
    const plan = await planService({ kind: 'hub', config: 'hub.yaml' }, fakeHost({ cwd: dir }));
    assert.equal(plan.options.data, path.join(dir, 'van-data'));
    const none = await planService({ kind: 'hub' }, fakeHost({ cwd: '/srv/hub' }));
    assert.equal(none.options.data, '/srv/hub/tether-data');
    assert.equal(none.options.config, undefined);
    assert.doesNotMatch(none.unit, /--config/);
  });

  test('the account: --user, else who ran sudo, else this user; root only when there is no one else', async () => {
    const config = BENCH;
    const viaSudo = await planService({ kind: 'device', config }, fakeHost({ sudoUser: 'pi' }));
    assert.deepEqual(viaSudo.options.user, { name: 'pi', group: 'pi' });
    assert.deepEqual(viaSudo.options.supplementaryGroups, ['gpio', 'i2c']);
    const explicit = await planService({ kind: 'device', config, user: 'tether' }, fakeHost({ sudoUser: 'pi' }));
    assert.deepEqual(explicit.options.user, { name: 'tether', group: 'tether' });
    const self = await planService({ kind: 'device', config }, fakeHost({ uid: 1000, userName: 'pi' }));
    assert.deepEqual(self.options.user, { name: 'pi', group: 'pi' });
    const root = await planService({ kind: 'device', config }, fakeHost({ sudoUser: 'root' }));
    assert.equal(root.options.user, undefined);
    assert.doesNotMatch(root.unit, /^(User|SupplementaryGroups)=/m);
    assert.ok(root.notes.some((n) => /runs as root; give --user NAME/.test(n)), root.notes.join('\n'));
    await assert.rejects(planService({ kind: 'device', config, user: 'nosuchuser' }, fakeHost()), {
      name: 'ServiceError',
      message: /there is no user "nosuchuser" on this machine; create one \(sudo adduser --system --group tether\)/,
    });
  });

  test("a device's groups: gpio and i2c when they exist, and whoever owns the board's device nodes", async () => {
    const plan = await planService({ kind: 'device', config: BENCH, user: 'pi' }, fakeHost({ groups: ['i2c', 'dialout'], hardwareGroups: ['dialout', 'i2c'] }));
    assert.deepEqual(plan.options.supplementaryGroups, ['i2c', 'dialout']);
    assert.match(plan.unit, /^SupplementaryGroups=i2c dialout$/m);
    assert.ok(plan.notes.some((n) => /no group "gpio" on this machine.*ls -l \/dev\/gpiochip0/.test(n)), plan.notes.join('\n'));
    const hub = await planService({ kind: 'hub', user: 'pi' }, fakeHost({ hardwareGroups: ['dialout'] }));
    assert.deepEqual(hub.options.supplementaryGroups, []);
  });

  test('the board config is checked by the same loader as tether device: a bad one stops the install', async () => {
    const dir = tempDir('plan');
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'name: x\nactuators:\n  - { name: fan, driver: warp, pin: 3, safe_value: 0 }\n');
    await assert.rejects(planService({ kind: 'device', config: 'bad.yaml' }, fakeHost({ cwd: dir })), (err: Error) => {
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, new RegExp(`${path.join(dir, 'bad.yaml')}: the board config is not valid`));
      assert.match(err.message, /actuators\[0\]/);
      return true;
    });
    await assert.rejects(planService({ kind: 'device', config: 'missing.yaml' }, fakeHost({ cwd: dir })), { name: 'ConfigError', message: /missing\.yaml.*cannot read the file \(ENOENT\)/s });
    await assert.rejects(planService({ kind: 'hub', config: 'missing.yaml' }, fakeHost({ cwd: dir })), { name: 'HubConfigError', message: /cannot read the file \(ENOENT\)/ });
  });

  test('paths under /tmp, which PrivateTmp= hides from the service, are pointed out', async () => {
    const dir = tempDir('plan');
    fs.copyFileSync(BENCH, path.join(dir, 'board.yaml'));
    const plan = await planService({ kind: 'device', config: 'board.yaml', user: 'pi' }, fakeHost({ cwd: dir }));
    assert.ok(
      plan.notes.some((n) => n.startsWith(`${path.join(dir, 'board.yaml')} and ${dir} are under /tmp or /var/tmp, which the service cannot see`)),
      plan.notes.join('\n'),
    );
    const clean = await planService({ kind: 'device', config: BENCH, user: 'pi' }, fakeHost({ cwd: '/srv/bench' }));
    assert.deepEqual(beyondCheckout(clean.notes), []);
  });

  test("node or tether in another account's home (nvm) is pointed out; in the service account's own home it is not", async () => {
    const nvmNode = '/home/pi/.nvm/versions/node/v20.19.0/bin/node';
    const other = await planService({ kind: 'device', config: BENCH, user: 'tether' }, { ...fakeHost({ cwd: '/srv/bench' }), node: nvmNode });
    assert.ok(other.notes.some((n) => n.startsWith(`${nvmNode} is in another account's home folder, which tether may not be allowed to read`)), other.notes.join('\n'));
    assert.match(other.unit, new RegExp(`^ExecStart=${nvmNode.replaceAll('.', '\\.')} `, 'm'));
    const own = await planService({ kind: 'device', config: BENCH, user: 'pi' }, { ...fakeHost({ cwd: '/srv/bench' }), node: nvmNode });
    assert.deepEqual(beyondCheckout(own.notes), []);
  });
});

interface Captured {
  ctx: CliContext;
  stdout: string[];
  stderr: string[];
}

function capture(): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, ctx: { out: (l) => stdout.push(l), err: (l) => stderr.push(l), stdoutIsTTY: false, fail: () => undefined } };
}

async function runInProcess(args: string[], host: ServiceHost, cap: Captured): Promise<void> {
  const program = new Command('tether').exitOverride().configureOutput({ writeOut: (s) => cap.stdout.push(s), writeErr: (s) => cap.stderr.push(s) });
  registerService(program, cap.ctx, () => host);
  await program.parseAsync(args, { from: 'user' });
}

void describe('tether service (in process, a fake host)', { timeout: 30_000 }, () => {
  test('install refuses when not root, names the sudo command, and writes nothing', async () => {
    const unitDir = tempDir('units');
    const host = fakeHost({ uid: 1000, userName: 'pi', unitDir });
    const cap = capture();
    await assert.rejects(runInProcess(['service', 'install', 'device', '--config', BENCH, '--name', 'bench'], host, cap), (err: Error) => {
      assert.ok(err instanceof CliFailure);
      assert.equal(err.message, `writing to ${unitDir} and running systemctl need root: run sudo tether service install device --config ${BENCH} --name bench.service (or add --print to see the unit without installing it)`);
      return true;
    });
    assert.deepEqual(fs.readdirSync(unitDir), []);
    assert.deepEqual(host.calls, []);
    await assert.rejects(runInProcess(['service', 'uninstall', 'device'], host, capture()), { message: /need root: run sudo tether service uninstall device$/ });
    assert.deepEqual(host.calls, []);
  });

  test('--print works without root and shows exactly the unit install writes', async () => {
    const unitDir = tempDir('units');
    const printed = capture();
    await runInProcess(['service', 'install', 'device', '--config', BENCH, '--print'], fakeHost({ uid: 1000, userName: 'pi', unitDir }), printed);
    assert.deepEqual(fs.readdirSync(unitDir), []);
    const rootHost = fakeHost({ sudoUser: 'pi', unitDir });
    await runInProcess(['service', 'install', 'device', '--config', BENCH], rootHost, capture());
    assert.equal(`${printed.stdout.join('\n')}\n`, fs.readFileSync(path.join(unitDir, 'tether-device.service'), 'utf8'));
    assert.deepEqual(rootHost.calls, [['daemon-reload'], ['enable', '--now', 'tether-device.service']]);
  });

  test('usage errors: a device without --config, --data on a device, an unknown kind, a bad unit name', async () => {
    for (const [args, code, message] of [
      [['service', 'install', 'device'], 'tether.usage', /a device service needs its board config: --config FILE/],
      [['service', 'install', 'device', '--config', BENCH, '--data', '/srv/d'], 'tether.usage', /--data is for a hub service/],
      [['service', 'install', 'toaster'], 'commander.invalidArgument', /value 'toaster' is invalid for argument 'kind'. Allowed choices are hub, device/],
      [['service', 'uninstall', 'device', '--name', '../ssh'], 'commander.invalidArgument', /"\.\.\/ssh" is not a unit name: use letters, digits/],
    ] as const) {
      const cap = capture();
      const host = fakeHost();
      await assert.rejects(runInProcess([...args], host, cap), { name: 'CommanderError', code });
      assert.match(cap.stderr.join(''), message);
      assert.deepEqual(host.calls, []);
    }
  });
});

/** A systemctl that appends its arguments to $FAKE_SYSTEMCTL_LOG, and fails when they contain $FAKE_SYSTEMCTL_FAIL. */
function fakeSystemctl(dir: string): { bin: string; log: string; calls(): string[] } {
  const bin = path.join(dir, 'systemctl');
  const log = path.join(dir, 'calls.log');
  fs.writeFileSync(
    bin,
    '#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$FAKE_SYSTEMCTL_LOG"\n' +
      'if [ -n "$FAKE_SYSTEMCTL_FAIL" ] && [ "$1" = "$FAKE_SYSTEMCTL_FAIL" ]; then echo "Failed to $1 unit: Unit file is masked." >&2; exit 1; fi\n',
    { mode: 0o755 },
  );
  return { bin, log, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trimEnd().split('\n') : []) };
}

const IS_ROOT = process.getuid?.() === 0;

void describe('tether service install/uninstall (end to end, a fake systemctl)', { timeout: 60_000 }, () => {
  const work = tempDir('e2e');
  const unitDir = path.join(work, 'system');
  fs.mkdirSync(unitDir);
  const systemctl = fakeSystemctl(work);
  const env = { TETHER_SYSTEMD_DIR: unitDir, TETHER_SYSTEMCTL: systemctl.bin, FAKE_SYSTEMCTL_LOG: systemctl.log, SUDO_USER: '' };

  test('install device writes the unit, reloads, enables and starts it; again replaces and restarts it; uninstall undoes it', async (t) => {
    const install = await runCli(['service', 'install', 'device', '--config', 'examples/bench.yaml'], { env });
    if (!IS_ROOT) {
      // The suite normally runs as root (CI does); otherwise the refusal is what a user would see.
      assert.equal(install.code, 1);
      assert.match(install.stderr, /need root: run sudo tether service install device --config examples\/bench\.yaml/);
      t.diagnostic('not root: checked the refusal; the install itself ran in process with a fake host');
      return;
    }
    assert.equal(install.code, 0, install.stderr);
    const unitPath = path.join(unitDir, 'tether-device.service');
    const unit = parseUnit(fs.readFileSync(unitPath, 'utf8'));
    assert.equal(one(unit, 'Service', 'ExecStart'), `${process.execPath} ${fs.realpathSync(path.join(ROOT, 'bin', 'tether.js'))} device --config ${BENCH}`);
    assert.equal(one(unit, 'Service', 'WorkingDirectory'), ROOT.replace(/\/$/, ''));
    assert.deepEqual(systemctl.calls(), ['daemon-reload', 'enable --now tether-device.service']);
    assert.match(install.stdout, new RegExp(`^wrote ${unitPath}: runs tether device as root$`, 'm'));
    assert.match(install.stdout, /^ {2}journalctl -u tether-device -f/m);
    assert.match(install.stdout, /^ {2}systemctl status tether-device/m);
    assert.match(install.stderr, /warning: the service runs as root/);

    const again = await runCli(['service', 'install', 'device', '--config', BENCH], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^replaced ${unitPath}`, 'm'));
    assert.deepEqual(systemctl.calls().slice(2), ['daemon-reload', 'enable --now tether-device.service', 'restart tether-device.service']);

    const removed = await runCli(['service', 'uninstall', 'device'], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(fs.existsSync(unitPath), false);
    assert.deepEqual(systemctl.calls().slice(5), ['disable --now tether-device.service', 'daemon-reload']);
    assert.match(removed.stdout, /the device service is stopped and will not start at boot/);

    const twice = await runCli(['service', 'uninstall', 'device'], { env });
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, new RegExp(`there is no ${unitPath}, so nothing to remove`));
    assert.equal(systemctl.calls().length, 7, 'nothing more was run');
  });

  test('install hub --user: makes the data folder for that account; --name; a unit tether did not write is left alone', async (t) => {
    const data = path.join(work, 'hub data');
    const args = ['service', 'install', 'hub', '--config', HUB_YAML, '--data', data, '--user', 'daemon', '--name', 'tether-van'];
    const before = systemctl.calls().length;
    const install = await runCli(args, { env });
    if (!IS_ROOT) {
      assert.equal(install.code, 1);
      assert.match(install.stderr, /need root/);
      t.diagnostic('not root: checked the refusal only');
      return;
    }
    assert.equal(install.code, 0, install.stderr);
    const made = fs.statSync(data);
    assert.ok(made.isDirectory());
    const daemonUid = Number(spawnSync('id', ['-u', 'daemon'], { encoding: 'utf8' }).stdout.trim());
    assert.equal(made.uid, daemonUid, 'the data folder belongs to the service account');
    const unit = parseUnit(fs.readFileSync(path.join(unitDir, 'tether-van.service'), 'utf8'));
    assert.equal(one(unit, 'Service', 'User'), 'daemon');
    assert.equal(one(unit, 'Service', 'ReadWritePaths'), `"${data}"`);
    assert.match(one(unit, 'Service', 'ExecStart') ?? '', new RegExp(` hub --config ${HUB_YAML} --data "${data}"$`));
    assert.deepEqual(systemctl.calls().slice(before), ['daemon-reload', 'enable --now tether-van.service']);
    assert.match(install.stdout, /sudo tether service uninstall hub --name tether-van/);

    fs.writeFileSync(path.join(unitDir, 'ssh.service'), '[Unit]\nDescription=OpenBSD Secure Shell server\n');
    const foreign = await runCli(['service', 'uninstall', 'hub', '--name', 'ssh'], { env });
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /ssh\.service was not written by tether service install/);
    assert.equal(fs.existsSync(path.join(unitDir, 'ssh.service')), true);
    const clobber = await runCli(['service', 'install', 'hub', '--name', 'ssh'], { env });
    assert.equal(clobber.code, 1);
    assert.match(clobber.stderr, /ssh\.service exists and was not written by tether service install; pick another name with --name/);
    assert.equal(fs.readFileSync(path.join(unitDir, 'ssh.service'), 'utf8'), '[Unit]\nDescription=OpenBSD Secure Shell server\n');
    assert.equal(systemctl.calls().length, before + 2, 'no systemctl call for a refused unit');
  });

  test('a failing systemctl is reported with its command, its message and where to look', async (t) => {
    const result = await runCli(['service', 'install', 'device', '--config', BENCH, '--name', 'tether-masked'], { env: { ...env, FAKE_SYSTEMCTL_FAIL: 'enable' } });
    assert.equal(result.code, 1);
    if (!IS_ROOT) {
      t.diagnostic('not root: checked the refusal only');
      assert.match(result.stderr, /need root/);
      return;
    }
    assert.match(result.stderr, new RegExp(`${systemctl.bin} enable --now tether-masked\\.service failed \\(exit 1\\): Failed to enable unit: Unit file is masked\\.`));
    assert.match(result.stderr, /see why with: systemctl status tether-masked; journalctl -u tether-masked/);
  });

  test('a bad config is reported with its path before anything is written', async () => {
    const bad = path.join(work, 'bad.yaml');
    fs.writeFileSync(bad, 'name: x\nlisten: { port: seventy }\n');
    const before = fs.readdirSync(unitDir).sort();
    const result = await runCli(['service', 'install', 'device', '--config', bad, '--name', 'tether-bad'], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${bad}: the board config is not valid`));
    assert.match(result.stderr, /listen\.port/);
    assert.deepEqual(fs.readdirSync(unitDir).sort(), before);
  });

  test('--help on service, install and uninstall shows examples', async () => {
    for (const args of [['service', '--help'], ['service', 'install', '--help'], ['service', 'uninstall', '--help']]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Examples:\n {2}\$ (sudo )?tether service /, args.join(' '));
    }
    const usage = await runCli(['service', 'install', 'device']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /error: a device service needs its board config: --config FILE/);
  });
});

/** runCli, from another folder: relative paths are taken from there. */
function runCliIn(cwd: string, args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', SUDO_USER: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child, 15_000);
}

/** The complaints systemd-analyze verify makes about this unit file (not about the host's other units). */
function verifyUnit(file: string): { status: number | null; complaints: string[]; all: string; missing: boolean } {
  const run = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  if (run.error !== undefined && 'code' in run.error && run.error.code === 'ENOENT') return { status: null, complaints: [], all: '', missing: true };
  const name = path.basename(file);
  // verify also loads what the unit pulls in (network-online.target, multi-user.target) and may
  // warn about those or about the host; only lines naming this file or this unit are about it.
  const complaints = `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => l.includes(file) || l.includes(name));
  return { status: run.status, complaints, all: run.stderr, missing: false };
}

/**
 * The unit as systemd parsed it: at debug level, verify prints its dump of the loaded unit
 * ("WorkingDirectory: …", "ReadWritePaths: …", "Command Line: …") on stdout.
 */
function parsedUnit(file: string): Map<string, string> {
  const run = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug' } });
  const fields = new Map<string, string>();
  for (const line of run.stdout.split('\n')) {
    const m = /^\t+([A-Za-z ]+): (.*)$/.exec(line);
    if (m !== null && !fields.has(m[1] ?? '')) fields.set(m[1] ?? '', m[2] ?? '');
  }
  assert.ok(fields.has('WorkingDirectory'), `systemd-analyze verify printed no dump of ${file} at debug level:\n${run.stdout.slice(0, 2000)}`);
  return fields;
}

void describe('systemd-analyze verify reads the printed units as meant, without a complaint', { timeout: 60_000 }, () => {
  const dir = tempDir('verify');
  // Blanks need quoting; unescaped, "%n" would be the unit's name and "$1" a variable.
  const odd = path.join(dir, 'my boards %n');
  fs.mkdirSync(odd);
  fs.copyFileSync(BENCH, path.join(odd, 'bench $1.yaml'));
  fs.copyFileSync(HUB_YAML, path.join(odd, 'hub.yaml'));

  for (const [label, unitName, cwd, args, expected] of [
    [
      'device, run from a folder with blanks and %, a config named with $, --user daemon',
      'tether-device.service',
      odd,
      ['service', 'install', 'device', '--config', 'bench $1.yaml', '--user', 'daemon', '--print'],
      { WorkingDirectory: odd, User: 'daemon', 'Command Line': `device --config "${odd}/bench \\$\\$1.yaml"` },
    ],
    ['device as root', 'tether-root-device.service', ROOT, ['service', 'install', 'device', '--config', BENCH, '--print'], { 'Command Line': `device --config ${BENCH}` }],
    [
      'hub with its data folder under a folder with blanks and %',
      'tether-hub.service',
      odd,
      ['service', 'install', 'hub', '--config', 'hub.yaml', '--data', 'hub data', '--print'],
      { WorkingDirectory: odd, ReadWritePaths: path.join(odd, 'hub data'), 'Command Line': `hub --config "${odd}/hub.yaml" --data "${odd}/hub data"` },
    ],
  ] as const) {
    test(label, async (t) => {
      const printed = await runCliIn(cwd, [...args]);
      assert.equal(printed.code, 0, printed.stderr);
      const file = path.join(dir, unitName);
      fs.writeFileSync(file, `${printed.stdout.trimEnd()}\n`);
      assert.match(printed.stdout, /^ExecStart=\//m);
      const result = verifyUnit(file);
      if (result.missing) {
        if (process.env['CI'] === 'true') assert.fail('systemd-analyze is missing; CI installs it with: apt-get install -y systemd');
        t.diagnostic('systemd-analyze is not installed (apt-get install -y systemd); the unit was checked by the tests above only');
        return;
      }
      assert.deepEqual(result.complaints, [], `systemd-analyze verify complained about ${file}:\n${result.all}`);
      assert.equal(result.status, 0, result.all);
      const parsed = parsedUnit(file);
      for (const [key, value] of Object.entries(expected)) {
        // systemd shows the command line re-quoted, and a "$$" (a literal $ at run time) as \$\$.
        if (key === 'Command Line') assert.ok(parsed.get(key)?.endsWith(` ${value}`), `${key}: ${parsed.get(key)}\nexpected to end with: ${value}`);
        else assert.equal(parsed.get(key), value, key);
      }
    });
  }

  test('verify does complain about a broken unit, so a silent run means something', () => {
    const file = path.join(dir, 'broken.service');
    fs.writeFileSync(file, renderUnit({ ...DEVICE_OPTIONS, node: path.join(dir, 'no-such-node'), user: undefined }).replace('Restart=always', 'Restart=sometimes'));
    const result = verifyUnit(file);
    if (result.missing) {
      assert.equal(process.env['CI'] === 'true', false, 'systemd-analyze is missing; CI installs it with: apt-get install -y systemd');
      return;
    }
    assert.notEqual(result.status, 0);
    assert.ok(result.complaints.some((l) => /no-such-node/.test(l)), result.all);
    assert.ok(result.complaints.some((l) => /restart.*sometimes/i.test(l)), result.all);
    // Unescaped, "%" is a specifier: systemd reads a different path than the one meant.
    const unescaped = path.join(dir, 'unescaped.service');
    fs.writeFileSync(unescaped, renderUnit({ ...DEVICE_OPTIONS, workingDirectory: odd }).replace('%%n', '%n'));
    assert.equal(parsedUnit(unescaped).get('WorkingDirectory'), path.join(dir, 'my boards unescaped.service'));
  });
});
