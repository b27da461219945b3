// The command API does not relay authentication actions: over a real socket to a real hub with a
// board linked, auth and challenge are refused by the hub and never reach the board.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { eventually, startTestHub } from '../support/test-hub.js';

let hub: Awaited<ReturnType<typeof startTestHub>>;
let board: LinkedBoard;

before(async () => {
  hub = await startTestHub();
  const { token } = hub.store.addDevice('bench', {});
  board = await startLinkedBoard({ port: hub.link.port, token, id: 'bench' });
  await eventually(() => (hub.deviceLink('bench')?.online === true ? true : undefined), 'the board linked');
});
after(async () => {
  await board.close();
  await hub.close();
});

async function post(body: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${hub.http.port}/api/devices/bench/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub.apiToken.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

void describe('hub API: authentication actions are not relayed', { timeout: 30_000 }, () => {
  for (const body of [{ action: 'auth', token: 'a-guess-at-the-board-token' }, { action: 'challenge', nonce: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' }, { action: 'auth', proof: 'ab'.repeat(32) }]) {
    void it(`security: ${JSON.stringify(body)} is 400 bad_request saying the hub authenticates to the board itself`, async () => {
      const answer = await post(body);
      assert.equal(answer.status, 400);
      const error = answer.body['error'] as { code: string; message: string };
      assert.equal(error.code, 'bad_request');
      assert.match(error.message, new RegExp(`does not relay ${body.action}; it authenticates to the board itself`));
    });
  }

  void it('the link still works afterwards: the board keeps its scope and answers an admin action', async () => {
    const answer = await post({ action: 'get_state' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body['ok'], true);
  });
});
