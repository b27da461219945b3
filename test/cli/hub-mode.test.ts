// `tether device --sim --hub …` as its own process, linked to a minimal hub in this one: the
// board dials in, takes a leased command, and the lease still ends on the board when the hub
// is gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { FakeHub } from '../support/fake-hub.js';
import { runCli, startDevice, type Device } from './run-cli.js';
import { assertLease } from '../support/lease.js';
import { tempDataDir } from '../support/test-hub.js';

const TOKEN = 'demo-board-token-0123456789';
let hub: FakeHub | undefined;
let device: Device | undefined;
after(async () => {
  device?.child.kill('SIGTERM');
  await device?.exited;
  await hub?.close().catch(() => undefined);
});

test('a board started with --hub and --token-file links, runs a leased command, and ends the lease itself when the hub dies', { timeout: 30_000 }, async () => {
  hub = await FakeHub.start(TOKEN);
  const tokenFile = path.join(tempDataDir(), 'demo.token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  device = await startDevice(['--hub', `127.0.0.1:${hub.port}`, '--id', 'demo', '--token-file', tokenFile]);
  const state = await hub.waitFor((b) => b['event'] === 'state');
  assert.ok(Array.isArray(state['pins']));
  hub.send({ action: 'write_pin', pin: 15, value: 1, timeout: 1, id: 'relay-on' });
  const reply = await hub.waitFor((b) => b['id'] === 'relay-on' && 'ok' in b);
  assertLease(reply['lease'], { value: 1, safe_value: 0, expires_in_s: 1 });
  await hub.close();
  const direct = await connect({ host: '127.0.0.1', port: device.port });
  try {
    assert.equal(await direct.readPin(15), 1, 'the relay is on while its lease runs');
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(await direct.readPin(15), 0, 'the board ended the lease with no hub');
  } finally {
    await direct.close();
  }
});

test('--hub without a token is a usage error', { timeout: 30_000 }, async () => {
  const result = await runCli(['device', '--sim', '--hub', '127.0.0.1:1'], { env: { TETHER_DEVICE_TOKEN: '' } });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--hub needs the board's token/);
});
