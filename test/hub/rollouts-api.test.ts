// Releases and rollouts over the API of a real hub whose boards are registered but not linked: the
// releases it lists, who may start, watch and cancel a rollout, the coded refusals, each board's
// status while it waits for its link, a release in use that cannot be removed, and a hub that
// stops (and resumes) without waiting.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { ReleaseError, ReleaseStore } from '../../src/hub/store/releases.js';
import type { RolloutView } from '../../src/hub/types.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { runCli } from '../cli/run-cli.js';
import { eventually, startTestHub, tempDataDir } from '../support/test-hub.js';
import { smallFirmware } from '../support/firmware-folder.js';

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
const hubs: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const hub of hubs.splice(0).reverse()) await hub.close();
});

function firmwareFolder(version: string): string {
  const dir = tempDataDir();
  made.push(dir);
  return smallFirmware(version, {}, dir);
}

type Api = (method: 'GET' | 'POST', url: string, token: string, body?: JsonObject) => Promise<{ status: number; body: JsonObject }>;

/** A hub with boards tank, porch and shed registered (none linked), release 0.2.0, and tokens of each scope. */
async function startHub(data?: string) {
  const hub = await startTestHub(data === undefined ? {} : { data });
  hubs.push(hub);
  made.push(hub.data);
  if (data === undefined) {
    for (const id of ['tank', 'porch', 'shed']) await hub.store.addDevice(id);
    await new ReleaseStore(hub.data).add(firmwareFolder('0.2.0'));
  }
  const token = async (name: string, scope: 'read' | 'control' | 'admin') => (data === undefined ? (await hub.store.apiTokens.create(name, scope)).token : '');
  // Named tokens are made once, with the hub's data; a restarted hub uses its admin token.
  const tokens = { read: await token('viewer', 'read'), control: await token('operator', 'control'), admin: await token('ops', 'admin') };
  const api: Api = async (method, url, bearer, body) => {
    const res = await fetch(`http://127.0.0.1:${hub.http.port}${url}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as JsonObject };
  };
  return { hub, tokens, api };
}

function assertError(res: { status: number; body: JsonObject }, status: number, code: string, message?: RegExp): void {
  const error = res.body['error'] as JsonObject | undefined;
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(error?.['code'], code);
  if (message !== undefined) assert.match(String(error?.['message']), message);
}

const rolloutOf = (res: { body: JsonObject }) => res.body['rollout'] as RolloutView;

void describe('rollouts over the API', { timeout: 60_000 }, () => {
  void test('GET /api/releases: any token lists the releases the hub keeps, oldest first, with their file count, bytes and digest', async () => {
    const { hub, tokens, api } = await startHub();
    const store = new ReleaseStore(hub.data);
    await store.add(firmwareFolder('0.3.0'), Date.now() + 1000);
    const res = await api('GET', '/api/releases', tokens.read);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const manifests = store.list();
    assert.deepEqual(
      res.body,
      { releases: manifests.map((m) => ({ version: m.version, addedAt: m.addedAt, files: 3, totalBytes: m.files.reduce((n, f) => n + f.size, 0), digest: m.digest })) },
    );
    assert.deepEqual(manifests.map((m) => m.version), ['0.2.0', '0.3.0']);
    assertError(await api('GET', '/api/releases', 'wrong-token'), 401, 'unauthenticated');
  });

  void test('scopes: any token watches rollouts, only admin starts and cancels them', async () => {
    const { tokens, api } = await startHub();
    assert.deepEqual((await api('GET', '/api/rollouts', tokens.read)).body, { rollouts: [] });
    const body = { version: '0.2.0', boards: ['tank'] };
    assertError(await api('POST', '/api/rollouts', tokens.read, body), 403, 'forbidden', /needs admin/);
    assertError(await api('POST', '/api/rollouts', tokens.control, body), 403, 'forbidden', /needs admin/);
    const started = await api('POST', '/api/rollouts', tokens.admin, body);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const { id } = rolloutOf(started);
    assert.equal((await api('GET', `/api/rollouts/${id}`, tokens.read)).status, 200);
    assertError(await api('POST', `/api/rollouts/${id}/cancel`, tokens.control), 403, 'forbidden');
    assert.equal((await api('POST', `/api/rollouts/${id}/cancel`, tokens.admin)).status, 200);
  });

  void test('coded refusals: unknown release, unknown board, empty list, bad fields, a board already in a running rollout', async () => {
    const { tokens, api } = await startHub();
    const start = (body: JsonObject) => api('POST', '/api/rollouts', tokens.admin, body);
    assertError(await start({ version: '9.9.9', boards: ['tank'] }), 404, 'unknown_release', /tether hub release add/);
    assertError(await start({ version: '0.2.0', boards: ['tank', 'nowhere'] }), 404, 'not_found', /"nowhere"/);
    assertError(await start({ version: '0.2.0', boards: [] }), 400, 'no_boards');
    assertError(await start({ version: '0.2.0', boards: ['tank'], wave_size: '2' }), 400, 'bad_request', /wave_size/);
    assertError(await start({ version: '0.2.0', boards: ['tank'], wave_size: 0 }), 400, 'bad_request', /wave_size/);
    assertError(await start({ version: '0.2.0', boards: ['tank', 'tank'] }), 400, 'bad_request', /named twice/);
    assertError(await start({ version: '0.2.0', boards: ['tank'], waves: 2 }), 400, 'bad_request', /waves: unknown/);
    assert.deepEqual((await api('GET', '/api/rollouts', tokens.read)).body, { rollouts: [] }, 'nothing refused was stored');
    const first = await start({ version: '0.2.0', boards: ['tank', 'porch'] });
    assert.equal(first.status, 201);
    assertError(await start({ version: '0.2.0', boards: ['shed', 'porch'] }), 409, 'board_in_rollout', new RegExp(`"porch" is part of rollout ${rolloutOf(first).id}`));
    assert.equal((await start({ version: '0.2.0', boards: ['shed'] })).status, 201, 'a board of no running rollout starts');
    assertError(await api('GET', '/api/rollouts/999', tokens.read), 404, 'not_found');
    assertError(await api('POST', '/api/rollouts/999/cancel', tokens.admin), 404, 'not_found');
  });

  void test("each board's status: wave 1 waits for its board's link, wave 2 waits; the start is an event naming who started it", async () => {
    const { hub, tokens, api } = await startHub();
    const started = await api('POST', '/api/rollouts', tokens.admin, { version: '0.2.0', boards: ['tank', 'porch', 'shed'], wave_size: 1 });
    const view = rolloutOf(started);
    assert.equal(view.state, 'running');
    assert.equal(view.createdBy, 'ops');
    assert.equal(view.waveSize, 1);
    assert.deepEqual(view.boards.map((b) => [b.device, b.wave]), [['tank', 1], ['porch', 2], ['shed', 2]]);
    const watched = await eventually(async () => {
      const v = rolloutOf(await api('GET', `/api/rollouts/${view.id}`, tokens.read));
      return v.boards[0]?.phase === 'connecting' ? v : undefined;
    }, 'tank waiting for its link');
    assert.deepEqual(
      watched.boards.map((b) => [b.device, b.state, b.phase, b.sentBytes, b.totalBytes, b.error]),
      [
        ['tank', 'updating', 'connecting', 0, 0, null],
        ['porch', 'waiting', null, 0, 0, null],
        ['shed', 'waiting', null, 0, 0, null],
      ],
    );
    assert.deepEqual((await api('GET', '/api/rollouts', tokens.read)).body['rollouts'], [watched]);
    const events = await hub.facade.events({ type: 'rollout_started' });
    assert.deepEqual(events.map((e) => [e.device, e.data]).sort(), [
      ['porch', { rollout: view.id, version: '0.2.0', wave: 2, by: 'ops' }],
      ['shed', { rollout: view.id, version: '0.2.0', wave: 2, by: 'ops' }],
      ['tank', { rollout: view.id, version: '0.2.0', wave: 1, by: 'ops' }],
    ]);
  });

  void test('a release that a running rollout sends is not removed (ReleaseStore and tether hub release remove); once cancelled it is', async () => {
    const { hub, tokens, api } = await startHub();
    const { id } = rolloutOf(await api('POST', '/api/rollouts', tokens.admin, { version: '0.2.0', boards: ['tank', 'porch'] }));
    const releases = new ReleaseStore(hub.data, { usedBy: (v) => hub.store.rollouts.usingRelease(v) });
    await assert.rejects(releases.remove('0.2.0'), (err) => err instanceof ReleaseError && err.code === 'in_use' && new RegExp(`rollout ${id} is sending release 0\\.2\\.0`).test(err.message));
    const cli = await runCli(['hub', 'release', 'remove', '0.2.0', '--data', hub.data], { timeoutMs: 30_000 });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, new RegExp(`rollout ${id} is sending release 0\\.2\\.0; wait for it to end, or cancel it`));
    assert.ok(fs.existsSync(path.join(hub.data, 'releases', '0.2.0')));

    const cancelled = await api('POST', `/api/rollouts/${id}/cancel`, tokens.admin);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(rolloutOf(cancelled).state, 'cancelled');
    assert.deepEqual(rolloutOf(cancelled).reason, { device: null, code: 'cancelled', message: 'cancelled by ops' });
    const ended = await eventually(async () => {
      const v = rolloutOf(await api('GET', `/api/rollouts/${id}`, tokens.read));
      return v.boards.every((b) => b.state !== 'updating' && b.state !== 'waiting') ? v : undefined;
    }, 'every board ended');
    assert.deepEqual(ended.boards.map((b) => [b.device, b.state, b.error?.code ?? null]), [['tank', 'aborted', 'cancelled'], ['porch', 'skipped', null]]);
    assertError(await api('POST', `/api/rollouts/${id}/cancel`, tokens.admin), 409, 'rollout_ended', /cancelled/);
    assert.equal((await runCli(['hub', 'release', 'remove', '0.2.0', '--data', hub.data], { timeoutMs: 30_000 })).code, 0);
  });

  void test('a release whose files no longer match its manifest stops the rollout before any board starts', async () => {
    const { hub, tokens, api } = await startHub();
    fs.appendFileSync(path.join(hub.data, 'releases', '0.2.0', 'files', 'tether', 'app.py'), '# changed on disk\n');
    const { id } = rolloutOf(await api('POST', '/api/rollouts', tokens.admin, { version: '0.2.0', boards: ['tank', 'porch'] }));
    const view = await eventually(async () => {
      const v = rolloutOf(await api('GET', `/api/rollouts/${id}`, tokens.read));
      return v.state === 'running' ? undefined : v;
    }, 'the rollout ended');
    assert.equal(view.state, 'stopped');
    assert.equal(view.reason?.device, null);
    assert.equal(view.reason?.code, 'damaged');
    assert.match(view.reason?.message ?? '', /tether\/app\.py no longer matches its SHA-256/);
    assert.deepEqual(view.boards.map((b) => [b.device, b.state, b.startedAt]), [['tank', 'skipped', null], ['porch', 'skipped', null]]);
  });

  void test('the hub stops at once while a board is awaited, and resumes the rollout at its next start', async () => {
    const { hub, tokens, api } = await startHub();
    const { id } = rolloutOf(await api('POST', '/api/rollouts', tokens.admin, { version: '0.2.0', boards: ['tank'] }));
    await eventually(async () => ((await hub.store.rollouts.get(id))?.boards[0]?.phase === 'connecting' ? true : undefined), 'tank awaited');
    // The board's link is awaited for minutes; the hub's stop aborts that wait.
    await hub.close();
    hubs.splice(hubs.indexOf(hub), 1);
    const again = await startHub(hub.data);
    const view = rolloutOf(await again.api('GET', `/api/rollouts/${id}`, again.hub.apiToken.token));
    assert.equal(view.state, 'running');
    assert.deepEqual(view.boards.map((b) => [b.device, b.state, b.phase]), [['tank', 'updating', 'connecting']]);
  });
});
