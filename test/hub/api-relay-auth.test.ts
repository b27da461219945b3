// The command API does not relay authentication actions: over a real socket to a real hub with a
// board linked, auth and challenge are refused by the hub and never reach the board.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHubWithBoard, type HubWithBoard } from '../support/hub-with-board.js';

let setup: HubWithBoard;

before(async () => {
  setup = await startHubWithBoard();
});
after(() => setup.close());

async function post(body: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await setup.postCommand(JSON.stringify(body));
  return { status: answer.status, body: answer.body as Record<string, unknown> };
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
