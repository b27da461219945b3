// Boards registered, re-keyed and removed through the API of a real hub (its store on disk, the
// API and the link on loopback sockets), with simulated boards linking from what the API gave.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { boardLinkFor, boardLinkMaterial } from '../../src/hub/board-link-material.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { boardFromHubJson, refused, type HubJson } from '../support/board-from-hub-json.js';
import type { HubError } from '../../src/hub/errors.js';
import type { NewBoardLink } from '../../src/hub/types.js';
import { keyOfToken } from '../../src/protocol/auth.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { linkProofs } from '../../src/protocol/link/link-auth.js';
import { helloFrame, openRawLink } from '../support/raw-link.js';
import { eventually, startTestHub, type TestHub } from '../support/test-hub.js';

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

async function call(hub: TestHub, method: string, route: string, token: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${hub.http.port}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

function assertCoded(answer: Answer, status: number, code: string, message?: RegExp): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body), ['error']);
  assert.equal(answer.body.error?.code, code);
  if (message !== undefined) assert.match(answer.body.error?.message ?? '', message);
}

async function events(hub: TestHub, id: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  // GET /api/events: a removed board's events stay, and /api/devices/:id/events knows only registered boards.
  const answer = await call(hub, 'GET', `/api/events?device=${id}&limit=1000`, hub.apiToken.token);
  assert.equal(answer.status, 200);
  return answer.body.events as Array<{ type: string; data: Record<string, unknown> }>;
}

const online = (hub: TestHub, id: string) => eventually(async () => ((await hub.deviceLink(id))?.online === true ? true : undefined), `${id} linked`);
const offline = (hub: TestHub, id: string) => eventually(async () => ((await hub.deviceLink(id))?.online !== true ? true : undefined), `${id}'s link closed`);

describe('hub API: boards registered, re-keyed and removed by an admin', { timeout: 60_000 }, () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });
  const hubForTest = async (): Promise<TestHub> => {
    const hub = await startTestHub();
    closing.push(() => hub.close());
    return hub;
  };
  const boardForTest = async (hubJson: string) => {
    const board = await boardFromHubJson(hubJson);
    closing.push(() => board.close());
    return board;
  };

  it('POST /api/devices registers a board and answers its link material once; the config/hub.json it gives links a board', async () => {
    const hub = await hubForTest();
    const answer = await call(hub, 'POST', '/api/devices', hub.apiToken.token, { id: 'shed', name: 'Garden shed' });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    const made = answer.body as unknown as NewBoardLink;
    assert.deepEqual(Object.keys(made), ['device', 'token', 'link']);
    assert.equal(made.device.id, 'shed');
    assert.equal(made.device.name, 'Garden shed');
    assert.match(made.token, /^[A-Za-z0-9_-]{43}$/);
    const hubJson = JSON.parse(made.link.hubJson) as HubJson;
    assert.deepEqual(hubJson, { host: '127.0.0.1', port: hub.link.port, device_id: 'shed', token: made.token }, 'the port the link really listens on');
    assert.equal(made.link.hubJsonPath, 'config/hub.json');
    assert.equal(made.link.deviceCommand, `tether device --config board.yaml --hub 127.0.0.1:${hub.link.port} --id shed --token-file shed.token`);
    assert.doesNotMatch(made.link.deviceCommand + (made.link.installCommand ?? ''), new RegExp(made.token), 'no command line carries the token');
    assert.equal(made.link.installCommand, `tether install --name shed --hub http://127.0.0.1:${hub.http.port} --hub-data ${hub.data}`);
    assert.equal(made.link.installTokenFile, 'shed.hub-token');
    assert.equal(made.link.notes.length, 2, made.link.notes.join('\n'));
    assert.equal(made.link.notes[0], "the hub's link listens on 127.0.0.1 only, so only boards on this machine can reach it (link.host in the hub config)");
    // tether install reads the link from a hub config; this one is not at the defaults.
    assert.match(made.link.notes[1] ?? '', new RegExp(`link is not at its defaults \\(this one is 127\\.0\\.0\\.1:${hub.link.port}\\): add --hub-config FILE`));
    assert.equal((await hub.store.keyOf('shed')) !== undefined, true);

    await boardForTest(made.link.hubJson);
    await online(hub, 'shed');
    const listed = await call(hub, 'GET', '/api/devices/shed', hub.apiToken.token);
    assert.equal((listed.body.device as { online: boolean }).online, true);
    const registered = (await events(hub, 'shed')).find((e) => e.type === 'registered');
    assert.deepEqual(registered?.data, { by: 'api-token', name: 'Garden shed' });
  });

  it('renders the material with the same code as tether hub add-device: same config, same device line', async () => {
    const hub = await hubForTest();
    const made = (await call(hub, 'POST', '/api/devices', hub.apiToken.token, { id: 'pump' })).body as unknown as NewBoardLink;
    const config = parseHubConfig({ data: hub.data, link: { host: '127.0.0.1', port: hub.link.port } }, 'test');
    const cli = boardLinkMaterial(boardLinkFor(config, 'pump', made.token));
    assert.equal(made.link.hubJson, cli.hubJson);
    assert.equal(made.link.deviceCommand, cli.deviceCommand);
    assert.deepEqual(made.link.notes.slice(0, cli.notes.length), cli.notes, 'the same notes, and one for the install line');
    assert.equal(made.device.name, 'pump', 'the name defaults to the id');

    const linkOf = boardLinkFor(config, 'pump', made.token);
    const install = { hubUrl: 'http://127.0.0.1:7340', data: '/srv/tether data' };
    const atDefaults = boardLinkMaterial(linkOf, { install: { ...install, linkFromDefaults: linkOf.link } });
    assert.equal(atDefaults.installCommand, "tether install --name pump --hub http://127.0.0.1:7340 --hub-data '/srv/tether data'");
    assert.deepEqual(atDefaults.notes, cli.notes, 'no --hub-config note when install would write the same link');
  });

  it('security: POST /api/devices/:id/token gives a new token; the board linked with the old one is dropped and refused, the new one links', async () => {
    const hub = await hubForTest();
    const first = (await call(hub, 'POST', '/api/devices', hub.apiToken.token, { id: 'shed' })).body as unknown as NewBoardLink;
    const old = await boardForTest(first.link.hubJson);
    await online(hub, 'shed');

    const answer = await call(hub, 'POST', '/api/devices/shed/token', hub.apiToken.token);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const rotated = answer.body as unknown as NewBoardLink;
    assert.notEqual(rotated.token, first.token);
    assert.equal((JSON.parse(rotated.link.hubJson) as HubJson).token, rotated.token);

    await offline(hub, 'shed');
    // The old board dials again at once and the hub no longer proves the key it holds.
    await eventually(() => (refused(old) ? true : undefined), 'the old token refused');
    assert.notEqual((await hub.deviceLink('shed'))?.online, true);
    await old.close();

    await boardForTest(rotated.link.hubJson);
    await online(hub, 'shed');
    const rotatedEvent = (await events(hub, 'shed')).find((e) => e.type === 'token_rotated');
    assert.deepEqual(rotatedEvent?.data, { by: 'api-token' });
  });

  it('security: a new token made while a connection is between its hello and its auth keeps the old token out: no welcome, not linked', async () => {
    const hub = await hubForTest();
    const first = (await call(hub, 'POST', '/api/devices', hub.apiToken.token, { id: 'shed' })).body as unknown as NewBoardLink;
    const link = await openRawLink(hub.link.port);
    closing.push(() => Promise.resolve(link.close()));
    const hello = helloFrame('shed', { keepalive_ms: 60_000 });
    const helloLine = encodeFrame(hello);
    link.sendBytes(helloLine);
    const challenge = await link.waitFor((f) => f['link'] === 'challenge', 'the challenge');
    assert.equal((await call(hub, 'POST', '/api/devices/shed/token', hub.apiToken.token)).status, 200);
    // The holder of the old token answers the challenge only now.
    const proofs = linkProofs(keyOfToken(first.token), { boardNonce: String(hello['nonce']), hubNonce: String(challenge['nonce']), hello: helloLine.replace(/\r?\n$/, '') });
    link.sendBytes(encodeFrame({ link: 'auth', proof: proofs.board }));
    await link.closed;
    assert.ok(!link.frames.some((f) => f['link'] === 'welcome'), `no welcome: ${JSON.stringify(link.frames)}`);
    assert.notEqual((await hub.deviceLink('shed'))?.online, true);
  });

  it('DELETE /api/devices/:id closes the board\'s link and unregisters it; its events stay, and a new hello is refused', async () => {
    const hub = await hubForTest();
    const made = (await call(hub, 'POST', '/api/devices', hub.apiToken.token, { id: 'shed' })).body as unknown as NewBoardLink;
    const board = await boardForTest(made.link.hubJson);
    await online(hub, 'shed');

    const answer = await call(hub, 'DELETE', '/api/devices/shed', hub.apiToken.token);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { removed: 'shed' });
    assertCoded(await call(hub, 'GET', '/api/devices/shed', hub.apiToken.token), 404, 'not_found');
    assert.equal((await hub.store.keyOf('shed')), undefined);
    assert.equal((await hub.deviceLink('shed')), undefined, 'no link is kept for it');
    await eventually(() => (board.link.state !== 'up' ? true : undefined), "the board's link closed");
    await eventually(() => (refused(board) ? true : undefined), 'its next hello refused');

    const kept = await events(hub, 'shed');
    assert.ok(kept.some((e) => e.type === 'online'), 'what the board logged before stays');
    assert.deepEqual(kept.find((e) => e.type === 'removed')?.data, { by: 'api-token' });
    const listed = await call(hub, 'GET', '/api/devices', hub.apiToken.token);
    assert.deepEqual(listed.body.devices, []);
  });

  it('a command still waiting for a board that is removed fails as not_found, not as the hub stopping', async () => {
    const hub = await hubForTest();
    const made = (await call(hub, 'POST', '/api/devices', hub.apiToken.token, { id: 'shed' })).body as unknown as NewBoardLink;
    const link = await openRawLink(hub.link.port);
    closing.push(() => Promise.resolve(link.close()));
    assert.equal((await link.authenticate('shed', made.token, { keepalive_ms: 60_000 }))['link'], 'welcome');
    const waiting = hub.facade.command('shed', { action: 'ping', id: 'never-answered' }, { timeoutMs: 20_000 });
    waiting.catch(() => undefined);
    await link.waitFor((f) => f['link'] === 'msg' && (f['body'] as Record<string, unknown>)['action'] === 'ping', 'the command sent to the board');
    assert.equal((await call(hub, 'DELETE', '/api/devices/shed', hub.apiToken.token)).status, 200);
    await assert.rejects(waiting, (e: HubError) => e.code === 'not_found' && /removed/.test(e.message));
  });

  it('security: only admin tokens change the registry; read and control tokens are forbidden, and the event names the token', async () => {
    const hub = await hubForTest();
    await hub.store.addDevice('pico');
    const read = (await hub.store.apiTokens.create('kitchen-tablet', 'read')).token;
    const control = (await hub.store.apiTokens.create('greenhouse-script', 'control')).token;
    const admin = (await hub.store.apiTokens.create('installer', 'admin')).token;
    for (const token of [read, control]) {
      assertCoded(await call(hub, 'POST', '/api/devices', token, { id: 'intruder' }), 403, 'forbidden', /needs admin/);
      assertCoded(await call(hub, 'POST', '/api/devices/pico/token', token), 403, 'forbidden');
      assertCoded(await call(hub, 'DELETE', '/api/devices/pico', token), 403, 'forbidden');
    }
    assert.equal((await hub.store.getDevice('intruder')), undefined);
    assert.notEqual((await hub.store.getDevice('pico')), undefined);

    assert.equal((await call(hub, 'POST', '/api/devices', admin, { id: 'shed' })).status, 201);
    assert.equal((await call(hub, 'POST', '/api/devices/shed/token', admin)).status, 200);
    assert.equal((await call(hub, 'DELETE', '/api/devices/shed', admin)).status, 200);
    const logged = (await events(hub, 'shed')).map((e) => `${e.type} by ${String(e.data.by)}`);
    assert.deepEqual(logged.reverse(), ['registered by installer', 'token_rotated by installer', 'removed by installer']);
  });

  it('answers coded errors: a bad id or body, a board registered twice, an unknown board', async () => {
    const hub = await hubForTest();
    const admin = hub.apiToken.token;
    for (const body of [{ id: 'a b' }, { id: '' }, { id: 'x'.repeat(65) }]) {
      assertCoded(await call(hub, 'POST', '/api/devices', admin, body), 400, 'bad_request', /id/);
    }
    assertCoded(await call(hub, 'POST', '/api/devices', admin, { id: 5 }), 400, 'bad_request', /body field id/);
    assertCoded(await call(hub, 'POST', '/api/devices', admin, { id: 'shed', token: 'mine' }), 400, 'bad_request', /body field token: unknown/);
    assertCoded(await call(hub, 'POST', '/api/devices', admin, { id: 'shed', name: '' }), 400, 'bad_request', /body field name/);
    assertCoded(await call(hub, 'POST', '/api/devices', admin, ['shed']), 400, 'bad_request', /body/);
    assert.deepEqual((await call(hub, 'GET', '/api/devices', admin)).body.devices, [], 'nothing was registered');

    assert.equal((await call(hub, 'POST', '/api/devices', admin, { id: 'shed' })).status, 201);
    assertCoded(await call(hub, 'POST', '/api/devices', admin, { id: 'shed' }), 409, 'conflict', /registered already.*POST \/api\/devices\/shed\/token/);
    assertCoded(await call(hub, 'POST', '/api/devices/ghost/token', admin), 404, 'not_found', /no board "ghost"/);
    assertCoded(await call(hub, 'DELETE', '/api/devices/ghost', admin), 404, 'not_found', /no board "ghost"/);
  });

  it('the OpenAPI document lists the three routes with the admin scope and their error codes', async () => {
    const hub = await hubForTest();
    const doc = (await (await fetch(`http://127.0.0.1:${hub.http.port}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { 'x-scope'?: string; responses: Record<string, unknown> }>>;
    };
    const ops = [doc.paths['/api/devices']?.post, doc.paths['/api/devices/{id}/token']?.post, doc.paths['/api/devices/{id}']?.delete];
    for (const op of ops) {
      assert.equal(op?.['x-scope'], 'admin');
      assert.ok(op?.responses['403'], 'forbidden documented');
    }
    assert.ok(ops[0]?.responses['201'] && ops[0].responses['409'], 'register: 201 and conflict');
    assert.ok(ops[1]?.responses['404'] && ops[2]?.responses['404'], 'rotate and remove: not_found');
  });
});
