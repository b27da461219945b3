// The CLI and tokens in direct mode: challenge and seal by default against a real board,
// --plain-auth only when asked, and board configs that must say `auth`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEMO_BOARD_CONFIG } from '../../src/device/demo-board.js';
import { FakeBoard, fail, GOOD_TOKEN, reply } from '../client/fake-board.js';
import { startSimDevice, type SimDevice } from '../support/sim-device.js';
import { TapProxy } from '../support/tap-proxy.js';
import { runCli } from './run-cli.js';

const TOKEN = 'cli-admin-token-0123456789';

describe('security: the CLI and direct-mode tokens', { timeout: 60_000 }, () => {
  let sim: SimDevice;
  let path: TapProxy;
  const dir = mkdtempSync(join(tmpdir(), 'tether-auth-cli-'));
  before(async () => {
    sim = await startSimDevice({ ...DEMO_BOARD_CONFIG, auth: { tokens: [{ token: TOKEN, scope: 'admin' }] } });
    path = await TapProxy.start(sim.port);
  });
  after(async () => {
    await path.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('security: tether send proves the token without sending it and seals what follows; --plain-auth sends it', async () => {
    const sent = await runCli(['send', '127.0.0.1', String(path.port), '--token', TOKEN, '-c', 'action=setup_pin', 'pin=2', 'mode=output', 'value=0', '-c', 'action=read_pin', 'pin=2']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stdout, 'setup_pin pin=2 mode=output value=0 → ok\nread_pin pin=2 → ok value=0\n');
    assert.ok(!path.seen.up.includes(TOKEN), 'the token never crossed');
    const up = path.lines('up');
    assert.deepEqual(up.slice(0, 2).map((l) => (JSON.parse(l) as Record<string, unknown>)['action']), ['challenge', 'auth']);
    assert.equal(up.length, 4);
    for (const line of [...up.slice(2), ...path.lines('down').slice(2)]) assert.match(line, /^\{"mac":"[0-9a-f]{32}",/);

    const plain = await runCli(['send', '127.0.0.1', String(path.port), '--token', TOKEN, '--plain-auth', '-c', 'action=ping']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(path.seen.up.includes(`{"action":"auth","token":"${TOKEN}"}`), 'sent in clear, as asked');
  });

  test('security: a board that does not know challenge gets no token, and the message names --plain-auth', async () => {
    const old = await FakeBoard.start({
      handler: (request, conn) => conn.send(request['action'] === 'challenge' ? fail(request, 'unknown_action', 'action: no action named "challenge"') : reply(request, conn)),
    });
    try {
      const next = old.nextConnection();
      const result = await runCli(['send', '127.0.0.1', String(old.port), '--token', GOOD_TOKEN, '-c', 'action=ping']);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /does not know the challenge action.*--plain-auth/s);
      const conn = await next;
      assert.deepEqual(conn.received.map((r) => r['action']), ['challenge']);
      assert.ok(!conn.raw.includes(GOOD_TOKEN));
    } finally {
      await old.close();
    }
  });

  test('security: tether device refuses a board config that does not say auth, naming both fixes', async () => {
    const file = join(dir, 'forgot.yaml');
    writeFileSync(file, 'name: forgot\npins: [{ pin: 2, mode: output }]\n');
    const result = await runCli(['device', '--sim', '--config', file, '--host', '127.0.0.1', '--port', '0']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '', 'it never listened');
    assert.match(result.stderr, /forgot\.yaml: the board config is not valid:\n {2}- auth: missing; .*auth\.tokens.*"auth: none"/);
  });
});
