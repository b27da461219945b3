// `tether hub add-device / devices / remove-device` and `tether demo` from the command line.
import { keyOfToken } from '../../src/protocol/auth.js';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { boardsReachHubAt } from '../../src/hub/board-link-material.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { apiGet, spawnHubCli } from '../support/hub-process.js';
import { eventually, tempDataDir } from '../support/test-hub.js';
import { runCli } from './run-cli.js';

describe('tether hub (registry commands)', { timeout: 60_000 }, () => {
  test('add-device prints the config/hub.json a board links with, token included once; a second add is refused; devices lists it; remove-device removes it', async () => {
    const data = tempDataDir();
    const added = await runCli(['hub', 'add-device', 'shed', '--name', 'Garden shed', '--data', data]);
    assert.equal(added.code, 0, added.stderr);
    const json = /^(\{ "host": .*\})$/m.exec(added.stdout)?.[1] ?? assert.fail(`a config/hub.json line:\n${added.stdout}`);
    const hubJson = JSON.parse(json) as { host: string; port: number; device_id: string; token: string };
    assert.deepEqual(Object.keys(hubJson), ['host', 'port', 'device_id', 'token'], 'the fields firmware/tether/link.py reads');
    assert.equal(hubJson.port, 7341);
    assert.equal(hubJson.device_id, 'shed');
    assert.match(hubJson.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(hubJson.host, boardsReachHubAt('0.0.0.0').host, "this machine's LAN address, as boardsReachHubAt picks it");
    assert.equal(added.stdout.split(hubJson.token).length, 2, 'the token is printed once');
    assert.match(added.stdout, new RegExp(`tether device --config board\\.yaml --hub ${hubJson.host.replaceAll('.', '\\.')}:7341 --id shed --token-file shed\\.token$`, 'm'));
    assert.doesNotMatch(added.stdout, /--token /, 'no command line carries the token');
    assert.ok(!fs.readFileSync(`${data}/tether.db`).includes(hubJson.token), 'only the hash is stored');
    const store = SqliteStore.open(`${data}/tether.db`);
    try {
      assert.equal((await store.keyOf('shed'))?.equals(keyOfToken(hubJson.token)), true, 'the printed token is the board\'s');
    } finally {
      await store.close();
    }
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

  test('security: with link TLS, add-device gives the firmware and tether device the fingerprint of the hub certificate to pin', async () => {
    const data = tempDataDir();
    const fixtures = path.join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'tls');
    const config = path.join(data, 'hub.json');
    fs.writeFileSync(config, JSON.stringify({ data, link: { tls: { cert: path.join(fixtures, 'cert.pem'), key: path.join(fixtures, 'key.pem') } } }));
    const added = await runCli(['hub', 'add-device', 'shed', '--config', config]);
    assert.equal(added.code, 0, added.stderr);
    const expected = new X509Certificate(fs.readFileSync(path.join(fixtures, 'cert.pem'))).fingerprint256;
    const printed = /--hub-fingerprint (\S+)/.exec(added.stdout)?.[1] ?? assert.fail(`a --hub-fingerprint in:\n${added.stdout}`);
    assert.equal(printed.replaceAll(':', '').toLowerCase(), expected.replaceAll(':', '').toLowerCase());
    const json = /^(\{ "host": .*\})$/m.exec(added.stdout)?.[1] ?? assert.fail(`a config/hub.json line:\n${added.stdout}`);
    assert.equal((JSON.parse(json) as { fingerprint?: string }).fingerprint, printed, 'the firmware pins the same certificate');
  });

  test('security: add-device --out writes the token to a new 0600 file for --token-file; an existing file is refused and nothing is registered', async () => {
    const data = tempDataDir();
    const out = path.join(data, 'pi.token');
    const added = await runCli(['hub', 'add-device', 'pi', '--data', data, '--out', out]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const token = fs.readFileSync(out, 'utf8');
    assert.match(token, /^[A-Za-z0-9_-]{43}\n$/);
    assert.match(added.stdout, new RegExp(`--id pi --token-file ${out.replaceAll('.', '\\.')}$`, 'm'));
    const refused = await runCli(['hub', 'add-device', 'pi2', '--data', data, '--out', out]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /cannot write --out .*pi\.token \(it exists/);
    assert.equal(fs.readFileSync(out, 'utf8'), token, 'the old file is kept');
    assert.doesNotMatch((await runCli(['hub', 'devices', '--data', data])).stdout, /pi2/, 'nothing was registered');
  });

  test('security: hub token create prints a scoped token once, list shows names and scopes only, revoke removes it; token show prints the admin sign-in link', async () => {
    const data = tempDataDir();
    const created = await runCli(['hub', 'token', 'create', 'tablet', '--scope', 'read', '--data', data]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.split('\n')[1] ?? '';
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const toFile = path.join(data, 'ci.token');
    const quiet = await runCli(['hub', 'token', 'create', 'ci', '--scope', 'control', '--out', toFile, '--data', data]);
    assert.equal(quiet.code, 0, quiet.stderr);
    const ciToken = fs.readFileSync(toFile, 'utf8').trim();
    assert.ok(!quiet.stdout.includes(ciToken), 'with --out the token is not printed');
    assert.equal(fs.statSync(toFile).mode & 0o777, 0o600);
    const list = await runCli(['hub', 'token', 'list', '--data', data]);
    assert.match(list.stdout, /^api-token\tadmin\t.*api-token$/m);
    assert.match(list.stdout, /^tablet\tread\tmade \d{4}-/m);
    assert.match(list.stdout, /^ci\tcontrol\tmade /m);
    assert.ok(!list.stdout.includes(token) && !list.stdout.includes(ciToken), 'list never shows a token');
    const noScope = await runCli(['hub', 'token', 'create', 'x', '--data', data]);
    assert.equal(noScope.code, 2);
    assert.match(noScope.stderr, /--scope/);
    assert.equal((await runCli(['hub', 'token', 'revoke', 'tablet', '--data', data])).code, 0);
    const again = await runCli(['hub', 'token', 'revoke', 'tablet', '--data', data]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no API token is named "tablet"/);
    const store = SqliteStore.open(`${data}/tether.db`);
    try {
      assert.equal((await store.apiTokens.verify(token)), undefined, 'revoked');
      assert.deepEqual((await store.apiTokens.verify(ciToken)), { name: 'ci', scope: 'control' });
    } finally {
      await store.close();
    }
    const shown = await runCli(['hub', 'token', 'show', '--data', data]);
    const admin = fs.readFileSync(path.join(data, 'api-token'), 'utf8').trim();
    assert.match(shown.stdout, new RegExp(`^dashboard: http://127\\.0\\.0\\.1:7340/#token=${admin}  \\(this link signs you in\\)$`, 'm'));
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

describe('tether hub: the admin token in its output', { timeout: 60_000 }, () => {
  test('security: the sign-in link (the admin token) is printed when the token is made, and not at later starts, which name its file instead', async () => {
    const data = tempDataDir();
    const first = await spawnHubCli(['hub', '--data', data, '--http-port', '0', '--link-port', '0']);
    const token = fs.readFileSync(path.join(data, 'api-token'), 'utf8').trim();
    try {
      assert.match(first.stdout(), new RegExp(`^dashboard: http://127\\.0\\.0\\.1:\\d+/#token=${token}  \\(this link signs you in\\)$`, 'm'));
    } finally {
      first.child.kill('SIGINT');
    }
    assert.equal(await first.exited, 0);
    const second = await spawnHubCli(['hub', '--data', data, '--http-port', '0', '--link-port', '0']);
    try {
      const out = second.stdout();
      assert.ok(!out.includes(token), `the token is not printed again:\n${out}`);
      assert.match(out, new RegExp(`sign in with the admin token in ${path.join(data, 'api-token').replaceAll('.', '\\.')}; print the sign-in link with: tether hub token show --data `));
      assert.equal(second.apiToken, token, 'the same token, from its file');
      assert.ok(!second.stderr().includes(token), 'nor in the log');
    } finally {
      second.child.kill('SIGINT');
    }
    assert.equal(await second.exited, 0);
  });
});

describe('tether hub on one CPU', { timeout: 60_000 }, () => {
  const taskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const skip = !taskset && process.env['CI'] === undefined ? 'needs taskset (util-linux) to give the hub one CPU: apt-get install -y util-linux' : false;
  test('warns when node was started without --single-threaded-gc, and not when it was', { skip }, async () => {
    const data = tempDataDir();
    const plain = await spawnHubCli(['hub', '--data', data, '--http-port', '0', '--link-port', '0'], { cpu: 0 });
    try {
      await eventually(() => (plain.stderr().includes('may run on 1 CPU only') ? true : undefined), 'the warning in the log');
      assert.match(plain.stderr(), / warn .*node was started without --single-threaded-gc/);
    } finally {
      plain.child.kill('SIGINT');
    }
    assert.equal(await plain.exited, 0);
    const tuned = await spawnHubCli(['hub', '--data', data, '--http-port', '0', '--link-port', '0'], { cpu: 0, nodeArgs: ['--single-threaded-gc'] });
    tuned.child.kill('SIGINT');
    assert.equal(await tuned.exited, 0);
    assert.ok(!tuned.stderr().includes('may run on 1 CPU only'), tuned.stderr());
  });
});

describe('boardsReachHubAt', { timeout: 30_000 }, () => {
  const info = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) => ({ address, family, internal, netmask: '', mac: '', cidr: null });
  test('the first IPv4 address that is not loopback; the link host when it is one address; 127.0.0.1, saying so, when there is none', () => {
    const interfaces = { lo: [info('127.0.0.1', 'IPv4', true)], eth0: [info('fe80::1', 'IPv6', false), info('192.0.2.7', 'IPv4', false)], wlan0: [info('198.51.100.9', 'IPv4', false)] };
    assert.deepEqual(boardsReachHubAt('0.0.0.0', interfaces as never), { host: '192.0.2.7' });
    assert.deepEqual(boardsReachHubAt('::', interfaces as never), { host: '192.0.2.7' });
    assert.deepEqual(boardsReachHubAt('203.0.113.5', interfaces as never), { host: '203.0.113.5' });
    const alone = boardsReachHubAt('0.0.0.0', { lo: [info('127.0.0.1', 'IPv4', true)] } as never);
    assert.equal(alone.host, '127.0.0.1');
    assert.match(alone.note ?? '', /no network address but loopback/);
    assert.match(boardsReachHubAt('127.0.0.1', interfaces as never).note ?? '', /only boards on this machine/);
  });
});
