// `tether hub add-device / devices / remove-device` and `tether demo` from the command line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { apiGet, spawnHubCli } from '../support/hub-process.js';
import { eventually, tempDataDir } from '../support/test-hub.js';
import { runCli } from './run-cli.js';

describe('tether hub (registry commands)', { timeout: 30_000 }, () => {
  test('add-device prints a token once; a second add is refused; devices lists it; remove-device removes it', async () => {
    const data = tempDataDir();
    const added = await runCli(['hub', 'add-device', 'shed', '--name', 'Garden shed', '--data', data]);
    assert.equal(added.code, 0, added.stderr);
    const token = added.stdout.split('\n')[1] ?? '';
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(added.stdout, /--hub HUB-ADDRESS:7341 --id shed --token /);
    assert.ok(!fs.readFileSync(`${data}/tether.db`).includes(token), 'only the hash is stored');
    const again = await runCli(['hub', 'add-device', 'shed', '--data', data]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /shed.*(already|exists)/i);
    const listed = await runCli(['hub', 'devices', '--data', data]);
    assert.match(listed.stdout, /^shed\tGarden shed\t-\tnever seen$/m);
    const removed = await runCli(['hub', 'remove-device', 'shed', '--data', data]);
    assert.equal(removed.code, 0);
    const gone = await runCli(['hub', 'remove-device', 'shed', '--data', data]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no board "shed" is registered/);
  });

  test('a bad hub config is reported with its path and exit code 1', async () => {
    const data = tempDataDir();
    fs.writeFileSync(`${data}/bad.yaml`, 'link:\n  port: seventy\n');
    const result = await runCli(['hub', '--config', `${data}/bad.yaml`, '--data', data]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /link\.port/);
  });
});

describe('tether demo', { timeout: 30_000 }, () => {
  test('three simulated boards link, readings arrive, a rule fires; Ctrl-C stops it and removes its temp data', async () => {
    const demo = await spawnHubCli(['demo', '--http-port', '0', '--link-port', '0']);
    try {
      const devices = await eventually(async () => {
        const body = await apiGet(demo, '/api/devices');
        const list = body['devices'] as Array<{ id: string; online: boolean }>;
        return list.filter((d) => d.online).length === 3 ? list : undefined;
      }, 'three boards online', 15_000);
      assert.deepEqual(devices.map((d) => d.id).sort(), ['greenhouse', 'porch', 'shed']);
      await eventually(() => (/rule \S+ fired on \S+/.test(demo.stdout()) ? true : undefined), 'a rule firing', 15_000);
      const readings = await eventually(async () => {
        const rows = (await apiGet(demo, '/api/devices/greenhouse/readings?sensor=air'))['readings'] as Array<{ quantity: string }>;
        return rows.length > 0 ? rows : undefined;
      }, 'greenhouse air readings', 15_000);
      assert.ok(readings.some((r) => r.quantity === 'humidity'));
    } finally {
      demo.child.kill('SIGINT');
    }
    assert.equal(await demo.exited, 0);
    const data = /data in (\S+)\)/.exec(demo.stdout())?.[1] ?? assert.fail('the banner names the data folder');
    assert.equal(fs.existsSync(data), false);
  });
});
