// Any user of a machine can read every process's command line (/proc/PID/cmdline, ps). The real
// CLI, given its tokens the recommended way (a file, the environment), and the hub and demo,
// which start boards and hold the API token, must keep every token out of it, in every process
// they start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import type { Hub } from '../../src/hub/hub.js';
import { spawnHubCli } from '../support/hub-process.js';
import { eventually, startTestHub, tempDataDir } from '../support/test-hub.js';
import { BIN, ROOT, collect, startDevice } from './run-cli.js';

/** The process and every process under it, from the parent pid in /proc/PID/stat. */
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // it ended meanwhile
    }
    // The command name (field 2) is in parentheses and may hold spaces; the parent pid follows it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] as number) ?? []));
  return tree;
}

/** Reads the command line of `pid` and of every process under it while they run; fails naming any that holds a secret. */
function assertNoSecretInCommandLines(pid: number, secrets: readonly string[], what: string): void {
  const tree = processTree(pid);
  let read = 0;
  for (const p of tree) {
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (p === pid) assert.match(cmdline, /tether\.js/, `${what}: the process read is the CLI's`);
    read++;
    for (const secret of secrets) assert.ok(!cmdline.includes(secret), `${what}: a token is in the command line of process ${p}: ${cmdline}`);
  }
  assert.ok(read >= 1, `${what}: its command line was read while it ran`);
}

const SKIP_WITHOUT_PROC = fs.existsSync('/proc/self/cmdline') ? false : 'no /proc on this system';

describe('security: tokens are absent from /proc/*/cmdline', { skip: SKIP_WITHOUT_PROC, timeout: 90_000 }, () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('security: tokens are absent from /proc/*/cmdline: tether device --hub … --token-file links with the token from its file', { timeout: 60_000 }, async () => {
    const hub: Hub = await startTestHub();
    cleanups.push(() => hub.close());
    const token = (await hub.store.addDevice('porch')).token;
    const file = path.join(tempDataDir(), 'porch.token');
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const device = await startDevice(['--hub', `127.0.0.1:${hub.link.port}`, '--id', 'porch', '--token-file', file]);
    cleanups.push(async () => {
      device.child.kill('SIGTERM');
      await device.exited;
    });
    await eventually(() => (hub.facade.device('porch')?.online === true ? true : undefined), 'the board linked with the token from its file', 15_000);
    assertNoSecretInCommandLines(device.child.pid ?? assert.fail('a pid'), [token], 'tether device');
  });

  test('security: tokens are absent from /proc/*/cmdline: tether send --token-file, and with TETHER_TOKEN, sends the token while its command line holds none', async () => {
    const token = 'send-board-token-0123456789abcdef';
    const file = path.join(tempDataDir(), 'board.token');
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const senders: number[] = [];
    const checked: Array<string | Error> = [];
    // A board that reads the sender's command line while the sender is proving the token (its
    // challenge is the first line; the token itself never crosses the connection), then answers
    // as a board without challenge would.
    const board = net.createServer((socket) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (!seen.includes('\n')) return;
        try {
          const first = JSON.parse(seen.split('\n')[0] ?? '') as { action?: string };
          assert.equal(first.action, 'challenge', 'the token is proved, first');
          assert.ok(!seen.includes(token), 'the token never crosses the connection');
          assertNoSecretInCommandLines(senders.at(-1) ?? assert.fail('the sender runs'), [token], 'tether send');
          checked.push('auth');
        } catch (err) {
          checked.push(err as Error);
        }
        socket.end(`${JSON.stringify({ action: 'challenge', ok: false, error: { code: 'unknown_action', message: 'checked' } })}\n`);
      });
    });
    await new Promise<void>((resolve) => board.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => board.close(resolve)));
    const port = (board.address() as net.AddressInfo).port;
    for (const [args, env] of [
      [['--token-file', file], {}],
      [[], { TETHER_TOKEN: token }],
    ] as const) {
      const child = spawn(process.execPath, [BIN, 'send', '127.0.0.1', String(port), ...args, '-c', 'action=ping'], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1', TETHER_TOKEN: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      senders.push(child.pid ?? assert.fail('a pid'));
      const result = await collect(child, 15_000);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /--plain-auth/);
    }
    assert.deepEqual(checked, ['auth', 'auth'], 'both command lines were read while the token was in use');
  });

  test('security: tokens are absent from /proc/*/cmdline: tether demo and tether hub hold the API token and the boards\' tokens without putting them on a command line', { timeout: 60_000 }, async () => {
    const demo = await spawnHubCli(['demo', '--http-port', '0', '--link-port', '0']);
    cleanups.push(async () => {
      if (demo.child.exitCode === null) demo.child.kill('SIGINT');
      await demo.exited;
    });
    const online = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${demo.httpPort}/api/devices`, { headers: { authorization: `Bearer ${demo.apiToken}` } });
      const list = ((await res.json()) as { devices: Array<{ online: boolean }> }).devices;
      return list.filter((d) => d.online).length === 3 ? list.length : undefined;
    }, 'the demo boards linked', 15_000);
    assert.equal(online, 3);
    assertNoSecretInCommandLines(demo.child.pid ?? assert.fail('a pid'), [demo.apiToken], 'tether demo');

    const data = tempDataDir();
    const hub = await spawnHubCli(['hub', '--data', data, '--http-port', '0', '--link-port', '0']);
    cleanups.push(async () => {
      if (hub.child.exitCode === null) hub.child.kill('SIGINT');
      await hub.exited;
    });
    assertNoSecretInCommandLines(hub.child.pid ?? assert.fail('a pid'), [hub.apiToken], 'tether hub');
  });
});
