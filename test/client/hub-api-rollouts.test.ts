// The hub API client's releases and rollouts (src/client/hub-api.ts) against a real hub in this
// process whose boards are registered but not linked, so that a rollout waits for its first board
// until it is cancelled: what each call sends and what it answers, typed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { HubApi, HubApiError } from '../../src/client/hub-api.js';
import { ReleaseStore } from '../../src/hub/store/releases.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';
import { smallFirmware } from '../support/firmware-folder.js';

describe('hub API client: releases and rollouts', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let api: HubApi;
  let reader: HubApi;
  const folders: string[] = [];
  before(async () => {
    hub = await startTestHub();
    for (const id of ['tank', 'porch', 'shed']) await hub.store.addDevice(id);
    folders.push(smallFirmware('0.2.0'));
    await new ReleaseStore(hub.data).add(folders[0] as string);
    api = new HubApi({ base: `http://127.0.0.1:${hub.http.port}`, token: hub.apiToken.token, timeoutMs: 10_000 });
    reader = new HubApi({ base: api.base, token: (await hub.store.apiTokens.create('tablet', 'read')).token, timeoutMs: 10_000 });
  });
  after(async () => {
    await hub.close();
    for (const dir of [...folders, hub.data]) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('releases(): the stored releases with their file count and bytes, for a read token too', async () => {
    const [release, ...more] = await reader.releases();
    assert.deepEqual(more, []);
    assert.equal(release?.version, '0.2.0');
    assert.equal(release?.files, 3);
    assert.equal(release?.totalBytes, new ReleaseStore(hub.data).manifest('0.2.0').totalBytes);
  });

  test('startRollout() sends wave_size and answers the running rollout; rollouts() lists it newest first, rollout(id) reads it; cancelRollout() ends it', async () => {
    const first = await api.startRollout({ version: '0.2.0', boards: ['tank', 'porch'], waveSize: 1 });
    assert.equal(first.state, 'running');
    assert.equal(first.waveSize, 1);
    assert.deepEqual(first.boards.map((b) => [b.device, b.wave]), [['tank', 1], ['porch', 2]]);
    const second = await api.startRollout({ version: '0.2.0', boards: ['shed'] });
    assert.equal(second.waveSize, 1, 'the hub takes a wave of 1 when none is given');
    assert.deepEqual((await reader.rollouts()).map((r) => r.id), [second.id, first.id]);
    assert.deepEqual((await reader.rollout(first.id)).boards.map((b) => b.device), ['tank', 'porch']);

    const cancelled = await api.cancelRollout(first.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.reason?.code, 'cancelled');
    assert.equal((await api.cancelRollout(second.id)).state, 'cancelled');
    await assert.rejects(api.cancelRollout(first.id), (e: unknown) => e instanceof HubApiError && e.code === 'rollout_ended' && e.status === 409);
  });

  test("the hub's refusals keep their code and status: a read token may not start one, an unknown release or rollout", async () => {
    await assert.rejects(reader.startRollout({ version: '0.2.0', boards: ['tank'] }), (e: unknown) => e instanceof HubApiError && e.code === 'forbidden' && e.status === 403);
    await assert.rejects(api.startRollout({ version: '9.9.9', boards: ['tank'] }), (e: unknown) => e instanceof HubApiError && e.code === 'unknown_release' && e.status === 404);
    await assert.rejects(reader.rollout(999), (e: unknown) => e instanceof HubApiError && e.code === 'not_found' && e.status === 404);
  });
});
