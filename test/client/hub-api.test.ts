// The hub's API client (src/client/hub-api.ts), which the dashboard and the CLI share, against a
// real hub in this process with a simulated board linked: what each kind of answer becomes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HubApi, HubApiError } from '../../src/client/hub-api.js';
import { freePort } from '../support/free-port.js';
import { startHubWithBoard, type HubWithBoard } from '../support/hub-with-board.js';

describe('hub API client', { timeout: 60_000 }, () => {
  let linked: HubWithBoard;
  let hub: HubWithBoard['hub'];
  let board: HubWithBoard['board'];
  let api: HubApi;
  before(async () => {
    linked = await startHubWithBoard('shed');
    ({ hub, board } = linked);
    api = new HubApi({ base: `http://127.0.0.1:${hub.http.port}/`, token: hub.apiToken.token, timeoutMs: 10_000 });
  });
  after(() => linked.close());

  test("reads the hub's views, typed: whoami, the boards and one board", async () => {
    assert.equal(api.base, `http://127.0.0.1:${hub.http.port}`, 'the trailing slash is dropped');
    assert.deepEqual(await api.whoami(), { name: 'api-token', scope: 'admin' });
    assert.deepEqual((await api.devices()).map((d) => [d.id, d.online]), [['shed', true]]);
    const shed = await api.device('shed');
    assert.equal(shed.id, 'shed');
    assert.equal(shed.online, true);
  });

  test("a board's success reply resolves; its refusal rejects with the board's code and reply", async () => {
    const ok = await api.command('shed', { action: 'write_pin', pin: 15, value: 1, timeout: 1 }, { waitMs: 5000 });
    assert.equal(ok['ok'], true);
    assert.equal(board.hardware.gpio.level(15), 1);
    const refused = await api.command('shed', { action: 'write_pin', pin: 99, value: 1 }).then(
      () => assert.fail('pin 99 is refused'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof HubApiError, String(refused));
    assert.equal(refused.reply?.['ok'], false, "the board's own reply comes with the error");
    assert.equal(refused.code, (refused.reply?.['error'] as { code: string }).code);
    assert.ok(refused.status >= 400);
  });

  test("the hub's own refusals keep its code and HTTP status; a rule's field problems come with their paths", async () => {
    await assert.rejects(api.device('nobody'), (e: unknown) => e instanceof HubApiError && e.code === 'not_found' && e.status === 404 && e.reply === undefined);
    const reader = new HubApi({ base: api.base, token: (await hub.store.apiTokens.create('tablet', 'read')).token });
    await assert.rejects(reader.command('shed', { action: 'ping' }), (e: unknown) => e instanceof HubApiError && e.code === 'forbidden' && e.status === 403);
    await assert.rejects(new HubApi({ base: api.base, token: 'wrong' }).whoami(), (e: unknown) => e instanceof HubApiError && e.code === 'unauthenticated' && e.status === 401);
    const bad = { name: 'lamp', when: { device: 'shed', pin: 15, edge: 'rising' }, then: { device: 'shed', pin: 15, value: 1, lease_s: -1 } };
    const invalid = await api.createRule(bad).then(
      () => assert.fail('a negative lease is refused'),
      (err: unknown) => err,
    );
    assert.ok(invalid instanceof HubApiError && invalid.code === 'rule_invalid', String(invalid));
    assert.ok(
      invalid.problems.some((p) => p.path === 'then.lease_s'),
      JSON.stringify(invalid.problems),
    );
  });

  test('nothing listening at the address is hub_unreachable, status 0, naming the address', async () => {
    const port = await freePort();
    const nowhere = new HubApi({ base: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    await assert.rejects(nowhere.health(), (e: unknown) => e instanceof HubApiError && e.code === 'hub_unreachable' && e.status === 0 && e.message.includes(`127.0.0.1:${port}`));
  });
});
