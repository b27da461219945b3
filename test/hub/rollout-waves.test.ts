// The rollout's wave rules on boards held in memory (test/firmware/memory-ota-channel.ts) behind a
// fake hub command path: a failure in a wave lets the updates under way finish and starts no
// other board; a cancel aborts the updates under way; stopping leaves the rollout to resume.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../src/device/logger.js';
import type { HubFacade } from '../../src/hub/api/facade.js';
import { Rollouts } from '../../src/hub/modules/ota/rollouts.js';
import { ReleaseStore } from '../../src/hub/store/releases.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { DeviceView, RolloutView } from '../../src/hub/types.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { MemoryOtaChannel } from '../firmware/memory-ota-channel.js';
import { eventually, tempDataDir } from '../support/test-hub.js';
import { smallFirmware } from '../support/firmware-folder.js';

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

async function releaseIn(data: string): Promise<void> {
  const dir = tempDataDir();
  made.push(dir);
  await new ReleaseStore(data).add(smallFirmware('0.2.0', {}, dir));
}

/** Boards in memory behind the hub's command path; `hold` keeps a board's requests waiting until released. */
class MemoryFleet implements Pick<HubFacade, 'command' | 'device'> {
  readonly boards = new Map<string, MemoryOtaChannel>();
  /** Boards whose requests wait for their gate. */
  readonly gates = new Map<string, { open: Promise<void>; release: () => void }>();

  constructor(ids: string[]) {
    for (const id of ids) this.boards.set(id, new MemoryOtaChannel());
  }

  hold(id: string): void {
    let release = () => {};
    const open = new Promise<void>((resolve) => (release = resolve));
    this.gates.set(id, { open, release });
  }

  release(id: string): void {
    this.gates.get(id)?.release();
    this.gates.delete(id);
  }

  device(id: string): DeviceView | undefined {
    return this.boards.has(id) ? ({ id, online: true } as DeviceView) : undefined;
  }

  async command(id: string, request: JsonObject): Promise<JsonObject> {
    await this.gates.get(id)?.open;
    const board = this.boards.get(id);
    if (board === undefined) throw new Error(`no board ${id}`);
    return board.request(request);
  }
}

async function setUp(ids: string[]) {
  const data = tempDataDir();
  made.push(data);
  await releaseIn(data);
  const store = SqliteStore.open(':memory:');
  const fleet = new MemoryFleet(ids);
  const events: Array<{ device: string; type: string; data: JsonObject }> = [];
  const makeRollouts = () => new Rollouts(new ReleaseStore(data), {
    facade: fleet,
    store: store.rollouts,
    logger: silentLogger,
    now: () => Date.now(),
    confirmWaitMs: 30_000,
    onlineWaitMs: 30_000,
    publish: () => {},
    recordEvent: (device, type, eventData) => events.push({ device, type, data: eventData }),
  });
  const rollouts = makeRollouts();
  const ended = (id: number) =>
    eventually(async () => {
      const view = await store.rollouts.get(id);
      return view?.state !== 'running' && !busy(view) ? view : undefined;
    }, `rollout ${id} ended`, 20_000);
  return { store, fleet, rollouts, makeRollouts, events, ended };
}

const busy = (view: RolloutView | undefined) => view?.boards.some((b) => b.state === 'updating') === true;

void describe('rollout waves on boards in memory', { timeout: 60_000 }, () => {
  void test('a board that rolls back in wave 2 stops the rollout: the updates under way finish, the board after them never starts', async () => {
    const ids = ['w1', 'a', 'b', 'c', 'd', 'e'];
    const { fleet, rollouts, ended } = await setUp(ids);
    // Four boards of wave 2 are updated at once: b rolls the release back while a, c and d are under way.
    (fleet.boards.get('b') as MemoryOtaChannel).outcome = 'rollback';
    for (const id of ['a', 'c', 'd']) (fleet.boards.get(id) as MemoryOtaChannel).trialPolls = 2;
    const { id } = await rollouts.start({ version: '0.2.0', boards: ids, waveSize: 1 }, 'ops');
    const view = await ended(id);
    assert.equal(view.state, 'stopped');
    assert.deepEqual(view.reason && [view.reason.device, view.reason.code], ['b', 'rolled_back']);
    assert.deepEqual(
      view.boards.map((b) => [b.device, b.wave, b.state]),
      [
        ['w1', 1, 'confirmed'],
        ['a', 2, 'confirmed'],
        ['b', 2, 'failed'],
        ['c', 2, 'confirmed'],
        ['d', 2, 'confirmed'],
        ['e', 2, 'skipped'],
      ],
    );
    assert.deepEqual(fleet.boards.get('e')?.requests, [], 'e was never asked anything');
  });

  void test('a cancel aborts the updates under way and starts no other board; the rollout ends cancelled', async () => {
    const { fleet, rollouts, store, events } = await setUp(['a', 'b']);
    fleet.hold('a');
    const { id } = await rollouts.start({ version: '0.2.0', boards: ['a', 'b'], waveSize: 1 }, 'ops');
    await eventually(async () => ((await store.rollouts.get(id))?.boards[0]?.phase === 'connecting' ? true : undefined), 'a under way');
    const cancelled = await rollouts.cancel(id, 'ops');
    assert.equal(cancelled.state, 'cancelled');
    // a does not answer: its update is aborted all the same.
    // The cancel resolves once the rollout is cancelled; the boards that never started are marked skipped right after.
    const view = await eventually(async () => {
      const now = await store.rollouts.get(id);
      return now?.boards.every((b) => b.state !== 'updating' && b.state !== 'waiting') ? now : undefined;
    }, 'every board ended');
    fleet.release('a');
    assert.deepEqual(view.boards.map((b) => [b.device, b.state, b.error?.code ?? null]), [['a', 'aborted', 'cancelled'], ['b', 'skipped', null]]);
    assert.equal(fleet.boards.get('a')?.version, '0.1.0', 'a kept its version');
    assert.deepEqual(fleet.boards.get('b')?.requests, []);
    assert.deepEqual(events.filter((e) => e.type === 'rollout_ended').map((e) => [e.device, e.data['state']]), [['a', 'cancelled'], ['b', 'cancelled']]);
    await assert.rejects(rollouts.cancel(id, 'ops'), { code: 'rollout_ended' });
  });

  void test('resumed after the hub stopped, a board of wave 1 that rolled the release back meanwhile stops the rollout: the release is not sent again, wave 2 never starts', async () => {
    const { fleet, rollouts, makeRollouts, store, ended } = await setUp(['alpha', 'bravo']);
    fleet.hold('alpha');
    const { id } = await rollouts.start({ version: '0.2.0', boards: ['alpha', 'bravo'], waveSize: 1 }, 'ops');
    await eventually(async () => ((await store.rollouts.get(id))?.boards[0]?.phase === 'connecting' ? true : undefined), 'alpha under way');
    await rollouts.stop();
    // While the hub was down, alpha ran the release on trial, failed its trial boots and put 0.1.0 back.
    await store.rollouts.updateBoard(id, 'alpha', { phase: 'on_trial', fromVersion: '0.1.0', version: '0.2.0' });
    const alpha = fleet.boards.get('alpha') as MemoryOtaChannel;
    alpha.rolledBackFrom = '0.2.0';
    fleet.release('alpha');
    alpha.requests.length = 0;
    await makeRollouts().resume();
    const view = await ended(id);
    assert.equal(view.state, 'stopped');
    assert.deepEqual(view.reason && [view.reason.device, view.reason.code], ['alpha', 'rolled_back']);
    assert.deepEqual(view.boards.map((b) => [b.device, b.state]), [['alpha', 'failed'], ['bravo', 'skipped']]);
    assert.ok(!alpha.requests.some((r) => r['op'] === 'begin'), `the release was not sent again: ${JSON.stringify(alpha.requests.map((r) => r['op']))}`);
    assert.deepEqual(fleet.boards.get('bravo')?.requests, []);
  });

  void test('stop() aborts the updates under way without waiting for a board that does not answer, and leaves the rollout running, for the next start to resume', async () => {
    const { fleet, rollouts, store } = await setUp(['a']);
    fleet.hold('a');
    const { id } = await rollouts.start({ version: '0.2.0', boards: ['a'], waveSize: 1 }, 'ops');
    await eventually(async () => ((await store.rollouts.get(id))?.boards[0]?.phase === 'connecting' ? true : undefined), 'a under way');
    // The board does not answer: stop() does not wait for it.
    await rollouts.stop();
    fleet.release('a');
    assert.equal((await store.rollouts.get(id))?.state, 'running');
    assert.equal((await store.rollouts.get(id))?.boards[0]?.state, 'updating');
    await assert.rejects(rollouts.start({ version: '0.2.0', boards: ['a'], waveSize: 1 }, 'ops'), { code: 'shutting_down' });
  });
});
