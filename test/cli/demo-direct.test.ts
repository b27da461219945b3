// `tether demo`'s boards listen in direct mode on loopback too: another user of the machine must
// not drive them there, only through the hub's API (which needs its API token).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDemo, type Demo } from '../../src/cli/demo-command.js';
import { connect, TetherError } from '../../src/client/index.js';
import { silentLogger } from '../../src/device/logger.js';
import { LineClient } from '../support/line-client.js';
import { eventually } from '../support/test-hub.js';

describe('security: tether demo boards in direct mode', { timeout: 60_000 }, () => {
  let demo: Demo;
  before(async () => {
    demo = await startDemo({ httpPort: 0, linkPort: 0, logger: silentLogger });
  });
  after(() => demo.close());

  test('security: a demo board drives nothing for a client without its token, while the hub drives it', async () => {
    await eventually(() => (demo.hub.facade.devices().filter((d) => d.online).length === 3 ? true : undefined), 'three boards online', 15_000);
    for (const device of demo.devices) {
      const name = device.board.config.name;
      const c = await LineClient.connect(device.port);
      try {
        for (const request of [{ action: 'get_state' }, { action: 'write_pin', pin: 25, value: 1, timeout: 5 }, { action: 'auth', token: 'a-guess-at-the-demo-token' }]) {
          const reply = await c.request(request);
          assert.equal((reply['error'] as Record<string, unknown> | undefined)?.['code'], 'unauthorized', `${name}: ${request.action}`);
        }
      } finally {
        c.close();
      }
      await assert.rejects(connect({ host: '127.0.0.1', port: device.port, token: 'a-guess-at-the-demo-token' }), (err: unknown) => err instanceof TetherError && err.code === 'unauthorized');
    }
    const reply = await demo.hub.facade.command('porch', { action: 'write_pin', pin: 25, value: 1, timeout: 1 });
    assert.equal(reply['ok'], true, 'the hub drives the board over its link');
  });
});
