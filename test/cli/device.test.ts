// End to end: `tether device --sim` in a child process, driven by `tether send` and by the SDK.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/client/index.js';
import { runCli, startDevice, type Device } from './run-cli.js';

void describe('tether device --sim (end to end)', { timeout: 30_000 }, () => {
  let device: Device | undefined;

  before(async () => {
    device = await startDevice();
  });

  after(() => {
    if (device !== undefined && device.child.exitCode === null && device.child.signalCode === null) device.child.kill('SIGKILL');
  });

  void it('prints exactly one listening line naming the demo board', async () => {
    assert.ok(device !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(device.stdout().split('\n').filter((l) => l !== ''), [`tether device "demo" (sim) listening on 127.0.0.1:${device.port}, plain TCP`]);
  });

  void it('answers the piconetcontrol batch sent by tether send', async () => {
    assert.ok(device !== undefined);
    const result = await runCli([
      'send', '127.0.0.1', String(device.port),
      '-c', 'action=setup_pin', 'pin=2', 'mode=output', 'value=0',
      '-c', 'action=write_pin', 'pin=2', 'value=1', 'timeout=5',
      '-c', 'action=read_pin', 'pin=2',
      '-c', 'action=get_version',
      '-c', 'action=list_actions',
      '-c', 'action=get_info',
      '-c', 'action=ping',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 7);
    assert.equal(lines[0], 'setup_pin pin=2 mode=output value=0 → ok');
    assert.match(lines[1] ?? '', /^write_pin pin=2 value=1 timeout=5 → ok lease: 1 for [\d.]+ s$/);
    assert.equal(lines[2], 'read_pin pin=2 → ok value=1');
    assert.match(lines[3] ?? '', /^get_version → ok version=0\.1\.0 protocol=1/);
    assert.match(lines[4] ?? '', /^list_actions → ok actions: .*write_pin/);
    assert.match(lines[5] ?? '', /^get_info → ok /);
    assert.equal(lines[6], 'ping → ok');
  });

  void it('exits 1 on an error reply from the real board', async () => {
    assert.ok(device !== undefined);
    const result = await runCli(['send', '127.0.0.1', String(device.port), '-c', 'action=read_pin', 'pin=3']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^read_pin pin=3 → error pin_not_setup: /);
  });

  void it('serves the SDK: typed helpers and a sensor subscription', async () => {
    assert.ok(device !== undefined);
    const client = await connect({ host: '127.0.0.1', port: device.port });
    try {
      assert.equal((await client.getVersion()).protocol, 1);
      const sensors = await client.listSensors();
      const first = sensors[0];
      assert.ok(first !== undefined);
      const reading = await client.readSensor(first.name);
      assert.deepEqual(Object.keys(reading.values).sort(), Object.keys(first.quantities).sort());
      const sub = await client.subscribe({ sensor: first.name, intervalMs: 100 });
      for await (const event of sub) {
        assert.equal(event.event, 'reading');
        assert.equal(event['sub'], sub.id);
        break;
      }
    } finally {
      await client.close();
    }
  });

  void it('stops cleanly on SIGINT with exit code 0', async () => {
    assert.ok(device !== undefined);
    device.child.kill('SIGINT');
    const result = await device.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.match(/listening on/g)?.length, 1);
    assert.match(result.stdout, /^tether device "demo" \(sim\) listening on 127\.0\.0\.1:\d+, plain TCP\n$/);
  });
});

void describe('tether device (failures)', { timeout: 30_000 }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tether-device-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('exits 2 when neither --config nor --sim is given', async () => {
    const result = await runCli(['device']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--config FILE, or --sim/);
  });

  void it('refuses --pymodaq-port for a config without pymodaq:, and says what to add', async () => {
    const result = await runCli(['device', '--sim', '--host', '127.0.0.1', '--port', '0', '--pymodaq-port', '0']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '', 'it never listened');
    assert.match(result.stderr, /--pymodaq-port: the demo board has no pymodaq: section; add one to serve PyMoDAQ \(docs\/pymodaq\.md\)/);
  });

  void it('exits 1 with a readable message for a bad config file', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'pins:\n  - pin: 300\n    mode: sideways\n');
    const result = await runCli(['device', '--sim', '--config', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.yaml: the board config is not valid:\n {2}- pins\[0\]/);
    const missing = await runCli(['device', '--sim', '--config', join(dir, 'missing.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing\.yaml.*ENOENT/s);
  });

  void it('exits 1 on a machine without the GPIO chip and I2C bus the config needs, naming each with its fix', async () => {
    // An empty prepared machine: the real kernel seam (koffi) finds no gpiochip and no i2c-1 there.
    const machine = join(dir, 'bare-machine');
    const env: NodeJS.ProcessEnv = { TETHER_SYSFS_ROOT: join(machine, 'sys'), TETHER_DEV_ROOT: join(machine, 'dev'), TETHER_PROC_ROOT: join(machine, 'proc') };
    for (const root of ['sys', 'dev', 'proc']) mkdirSync(join(machine, root), { recursive: true });
    const file = join(dir, 'door.yaml');
    writeFileSync(file, 'name: door\nauth: none\ni2c: [{ bus: 1 }]\npins: [{ pin: 17, name: door, mode: input, pull: up }]\nsensors: [{ name: t_in, driver: tmp102, bus: 1, address: 0x48 }]\n');
    const result = await runCli(['device', '--config', file, '--host', '127.0.0.1', '--port', '0'], { env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(result.stdout, '', 'it never listened');
    assert.ok(result.stderr.includes(`${file}: this machine does not offer what the board config needs:`), result.stderr);
    assert.ok(result.stderr.includes(`pin 17 as an input — pins[0] (door): no GPIO chips in ${join(machine, 'dev')}`), result.stderr);
    assert.ok(result.stderr.includes(`I2C bus 1 — i2c[0]: ${join(machine, 'dev', 'i2c-1')} does not exist`), result.stderr);
    assert.ok(result.stderr.includes('dtparam=i2c_arm=on'), result.stderr);
    assert.ok(result.stderr.includes(`tether doctor --config ${file}`), result.stderr);
  });

  void it('runs the simulator without --sim when the config says backend: sim', async () => {
    const file = join(dir, 'sim.yaml');
    writeFileSync(file, 'name: simulated-bench\nauth: none\nbackend: sim\npins: [{ pin: 17, mode: input }]\n');
    const device = await startDevice(['--config', file], { sim: false, env: { TETHER_DEV_ROOT: join(dir, 'nowhere') } });
    try {
      assert.match(device.stdout(), /^tether device "simulated-bench" \(sim\) listening on 127\.0\.0\.1:\d+, plain TCP\n/);
      const result = await runCli(['send', '127.0.0.1', String(device.port), '-c', 'action=get_info']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /platform=sim/);
    } finally {
      device.child.kill('SIGINT');
    }
    assert.equal((await device.exited).code, 0);
  });

  void it('exits 2 for a port out of range', async () => {
    const result = await runCli(['device', '--sim', '--port', '70000']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /0 to 65535/);
  });
});
