// A request body nested far deeper than any protocol request is refused as bad_request, over a
// real socket to a real hub with a board linked (the relay path is where deep bodies used to fail).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BODY_MAX_NESTING } from '../../src/hub/api/server.js';
import { startHubWithBoard, type HubWithBoard } from '../support/hub-with-board.js';

const DEPTH = 10_000;
let setup: HubWithBoard;

before(async () => {
  setup = await startHubWithBoard();
});
after(() => setup.close());

const post = (body: string) => setup.postCommand(body);

const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const refused = { error: { code: 'bad_request', message: `body: nests arrays or objects deeper than ${BODY_MAX_NESTING} levels; send a flatter request such as {"action":"ping"}` } };

void describe('hub API: deeply nested JSON', { timeout: 30_000 }, () => {
  void it('security: a 10,000-deep array body is 400 bad_request', async () => {
    assert.deepEqual(await post(deepArray(DEPTH)), { status: 400, body: refused });
  });

  void it('security: a 10,000-deep object body, and one under a valid action, are 400 bad_request, not 500', async () => {
    assert.deepEqual(await post(deepObject(DEPTH)), { status: 400, body: refused });
    assert.deepEqual(await post(`{"action":"ping","x":${deepObject(DEPTH)}}`), { status: 400, body: refused });
    assert.deepEqual(await post(`{"action":"ping","x":${deepArray(DEPTH)}}`), { status: 400, body: refused });
  });

  void it('brackets inside strings do not count, and nesting up to the limit is relayed to the board', async () => {
    const text = await post(`{"action":"ping","note":"${'['.repeat(DEPTH)}"}`);
    assert.equal(text.status, 200);
    assert.equal((text.body as { ok?: unknown }).ok, true);
    // The request object is one level, so this many arrays under it is exactly the limit.
    const atLimit = await post(`{"action":"ping","x":${deepArray(BODY_MAX_NESTING - 1)}}`);
    assert.equal(atLimit.status, 200, JSON.stringify(atLimit.body));
    assert.deepEqual(await post(`{"action":"ping","x":${deepArray(BODY_MAX_NESTING)}}`), { status: 400, body: refused });
  });
});
