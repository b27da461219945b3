// End to end: `tether device --sim` in a child process, driven by `tether send` and by the SDK.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  void it('exits 1 and says to use --sim when no real hardware backend fits', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'name: bench\n');
    const result = await runCli(['device', '--config', file, '--port', '0']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--sim/);
  });

  void it('exits 2 for a port out of range', async () => {
    const result = await runCli(['device', '--sim', '--port', '70000']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /0 to 65535/);
  });
});
