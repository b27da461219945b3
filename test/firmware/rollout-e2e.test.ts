// Rollouts from the hub against the real firmware under CPython, across real resets: three boards
// linked to an in-process hub, a release sent in two waves through POST /api/rollouts; a broken
// release that the first board rolls back, stopping the rollout before its second wave; and a hub
// restarted while a board applies the release, which resumes the rollout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import WebSocket from 'ws';
import { silentLogger } from '../../src/device/logger.js';
import type { Hub } from '../../src/hub/hub.js';
import { ReleaseStore } from '../../src/hub/store/releases.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { HubUpdate, RolloutView, StoredEvent } from '../../src/hub/types.js';
import type { JsonObject } from '../../src/protocol/index.js';
import { filesDiffering, firmwareCopy, otaBoardConfig, startBootLoopBoard, testReleases, type BootLoopBoard } from '../support/boot-loop-board.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const BOARD_CONFIG = otaBoardConfig('rollout', 'rollout e2e board');
const BOARDS = ['alpha', 'bravo', 'charlie'];

const scratch = mkdtempSync(join(tmpdir(), 'tether-rollout-e2e-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const { good: NEW, broken: BROKEN } = testReleases(scratch);

interface Fleet {
  hub: Hub & { data: string };
  boards: Map<string, BootLoopBoard>;
  api(method: 'GET' | 'POST', path: string, body?: JsonObject): Promise<{ status: number; body: JsonObject }>;
  rollout(id: number): Promise<RolloutView>;
  /** Waits for the rollout to end; its view. */
  ended(id: number, timeoutMs: number): Promise<RolloutView>;
  /** Every board's console, for failure messages. */
  consoles(): string;
}

/** A hub with the boards registered, each running the firmware and linked to it, and `release` stored. */
async function startFleet(name: string, release: string, ids = BOARDS): Promise<Fleet> {
  const hub = await startTestHub({ data: join(scratch, `${name}-hub`) });
  const made: { fleet?: Fleet } = {};
  // The hub the fleet has at the end (a test may restart it).
  cleanups.push(() => (made.fleet?.hub ?? hub).close());
  await new ReleaseStore(hub.data).add(release);
  const boards = new Map<string, BootLoopBoard>();
  for (const id of ids) {
    const { token } = await hub.store.addDevice(id);
    const board = await startBootLoopBoard(scratch, `${name}-${id}`, BOARD_CONFIG, ['--hub', `127.0.0.1:${hub.link.port}`, '--id', id, '--token', token, '--keepalive-ms', '200', '--no-listen']);
    cleanups.push(() => board.close());
    boards.set(id, board);
  }
  const fleet: Fleet = {
    hub,
    boards,
    async api(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${fleet.hub.http.port}${path}`, {
        method,
        headers: { authorization: `Bearer ${fleet.hub.apiToken.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as JsonObject };
    },
    async rollout(id) {
      const { status, body } = await fleet.api('GET', `/api/rollouts/${id}`);
      assert.equal(status, 200, JSON.stringify(body));
      return body['rollout'] as RolloutView;
    },
    ended: (id, timeoutMs) =>
      eventually(
        async () => {
          const view = await fleet.rollout(id);
          return view.state === 'running' ? undefined : view;
        },
        `rollout ${id} ended`,
        timeoutMs,
      ),
    consoles: () => [...boards].map(([id, b]) => `--- ${id} ---\n${b.stderr()}`).join('\n'),
  };
  made.fleet = fleet;
  await eventually(() => (ids.every((id) => hub.facade.device(id)?.online === true) ? true : undefined), 'every board linked to the hub', 20_000);
  return fleet;
}

/** Runs `check`; a failure carries the boards' consoles. */
async function withConsoles(fleet: Fleet, check: () => Promise<void> | void): Promise<void> {
  try {
    await check();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${fleet.consoles()}`, { cause: err });
  }
}

/** The stream's rollout updates, as they come. */
async function watchRollouts(fleet: Fleet): Promise<Array<Extract<HubUpdate, { type: 'rollout' }>>> {
  const seen: Array<Extract<HubUpdate, { type: 'rollout' }>> = [];
  const socket = new WebSocket(`ws://127.0.0.1:${fleet.hub.http.port}/api/stream`, { headers: { authorization: `Bearer ${fleet.hub.apiToken.token}` } });
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as HubUpdate | { type: 'hello' };
    if (message.type === 'rollout') seen.push(message);
  });
  await new Promise((resolve, reject) => {
    socket.once('message', resolve);
    socket.once('error', reject);
  });
  cleanups.push(() => socket.close());
  return seen;
}

function eventsOf(fleet: Fleet, type: string): Promise<StoredEvent[]> {
  return fleet.hub.facade.events({ type, limit: 1000 });
}

describe('rollouts from the hub against the firmware under CPython, across real resets', { timeout: 300_000 }, () => {
  test('two waves: alpha first, then bravo and charlie once alpha confirmed; all three end on 0.1.1, progress on the stream', async () => {
    const fleet = await startFleet('waves', NEW);
    const updates = await watchRollouts(fleet);
    const started = await fleet.api('POST', '/api/rollouts', { version: '0.1.1', boards: BOARDS, wave_size: 1 });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = (started.body['rollout'] as RolloutView).id;
    const view = await fleet.ended(id, 120_000);
    await withConsoles(fleet, async () => {
      assert.equal(view.state, 'done');
      assert.equal(view.reason, null);
      assert.deepEqual(
        view.boards.map((b) => [b.device, b.wave, b.state, b.fromVersion, b.version, b.error]),
        [
          ['alpha', 1, 'confirmed', '0.1.0', '0.1.1', null],
          ['bravo', 2, 'confirmed', '0.1.0', '0.1.1', null],
          ['charlie', 2, 'confirmed', '0.1.0', '0.1.1', null],
        ],
      );
      const [alpha, bravo, charlie] = view.boards;
      // The second wave began only once the first ended confirmed.
      for (const b of [bravo, charlie]) assert.ok((b?.startedAt ?? 0) >= (alpha?.endedAt ?? Infinity), `${b?.device} started after alpha confirmed`);
      for (const b of view.boards) assert.ok(b.sentBytes === b.totalBytes && b.totalBytes > 0, `${b.device} sent its ${b.totalBytes} bytes`);
      for (const [name, board] of fleet.boards) {
        assert.deepEqual(await filesDiffering(board.flash, NEW), [], `${name}'s flash holds 0.1.1`);
        assert.equal(board.boots.length, 2, `${name} reset once`);
      }
      await eventually(() => (BOARDS.every((b) => fleet.hub.facade.device(b)?.firmware === 'tether-mpy 0.1.1') ? true : undefined), 'the hub lists every board on 0.1.1', 10_000);
      // The stream carried each board's progress: uploading part-way, committed, then its result.
      for (const board of BOARDS) {
        const mine = updates.filter((u) => u.device === board && u.rollout.id === id);
        assert.ok(mine.some((u) => u.board.phase === 'uploading' && u.board.sentBytes < u.board.totalBytes), `${board}: an uploading update part-way`);
        assert.ok(mine.some((u) => u.board.phase === 'committed'), `${board}: a committed update`);
        assert.equal(mine.at(-1)?.board.state, 'confirmed');
        assert.equal(mine.at(-1)?.rollout.state, 'done');
      }
      // Each start, result and end is a hub event; the start names who started it.
      const startedEvents = (await eventsOf(fleet, 'rollout_started')).filter((e) => e.data['rollout'] === id);
      assert.deepEqual(startedEvents.map((e) => [e.device, e.data['by'], e.data['wave']]).sort(), [['alpha', 'api-token', 1], ['bravo', 'api-token', 2], ['charlie', 'api-token', 2]]);
      assert.deepEqual((await eventsOf(fleet, 'rollout_result')).map((e) => [e.device, e.data['state']]).sort(), BOARDS.map((b) => [b, 'confirmed']));
      assert.deepEqual((await eventsOf(fleet, 'rollout_ended')).map((e) => [e.device, e.data['state']]).sort(), BOARDS.map((b) => [b, 'done']));
    });
  });

  test('a broken release: alpha rolls it back, the rollout stops with that reason, and bravo and charlie are never touched', async () => {
    const fleet = await startFleet('broken', BROKEN);
    const started = await fleet.api('POST', '/api/rollouts', { version: '0.1.1', boards: BOARDS, wave_size: 1 });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = (started.body['rollout'] as RolloutView).id;
    const view = await fleet.ended(id, 120_000);
    await withConsoles(fleet, async () => {
      assert.equal(view.state, 'stopped');
      assert.equal(view.reason?.device, 'alpha');
      assert.equal(view.reason?.code, 'rolled_back');
      assert.match(view.reason?.message ?? '', /rolled back to 0\.1\.0/);
      assert.deepEqual(
        view.boards.map((b) => [b.device, b.state, b.error?.code ?? null]),
        [
          ['alpha', 'failed', 'rolled_back'],
          ['bravo', 'skipped', null],
          ['charlie', 'skipped', null],
        ],
      );
      for (const b of view.boards.slice(1)) assert.equal(b.startedAt, null, `${b.device} never started`);
      assert.equal(fleet.boards.get('alpha')?.stderr().match(/RuntimeError: 0\.1\.1 is broken/g)?.length, 3, 'alpha: three trial boots that fail at import');
      for (const name of ['bravo', 'charlie']) {
        const board = fleet.boards.get(name) as BootLoopBoard;
        assert.equal(board.boots.length, 1, `${name} never reset`);
        assert.deepEqual(await filesDiffering(board.flash, firmwareCopy(scratch, `original-${name}`)), [], `${name}'s flash still holds 0.1.0`);
      }
      await eventually(() => (BOARDS.every((b) => fleet.hub.facade.device(b)?.firmware === 'tether-mpy 0.1.0') ? true : undefined), 'every board on 0.1.0', 10_000);
      assert.deepEqual((await eventsOf(fleet, 'rollout_ended')).map((e) => [e.device, e.data['state'], (e.data['reason'] as JsonObject | undefined)?.['code']]).sort(), BOARDS.map((b) => [b, 'stopped', 'rolled_back']));
    });
  });

  test('a hub restarted while alpha applies the release resumes the rollout from the boards, and it ends done', async () => {
    const fleet = await startFleet('resume', NEW, ['alpha', 'bravo']);
    const started = await fleet.api('POST', '/api/rollouts', { version: '0.1.1', boards: ['alpha', 'bravo'], wave_size: 1 });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = (started.body['rollout'] as RolloutView).id;
    // Stop the hub the moment alpha committed: its restart is not waited for.
    await new Promise<void>((resolve) => {
      const unsubscribe = fleet.hub.facade.onUpdate((u) => {
        if (u.type === 'rollout' && u.device === 'alpha' && u.board.phase === 'committed') {
          unsubscribe();
          resolve();
        }
      });
    });
    const { port } = fleet.hub.link;
    await fleet.hub.close();
    // The hub stopped without waiting for alpha's restart: the store still has alpha applying it.
    const store = SqliteStore.open(join(fleet.hub.data, 'tether.db'));
    const left = await store.rollouts.get(id);
    await store.close();
    assert.equal(left?.state, 'running');
    assert.deepEqual(
      left.boards.map((b) => [b.device, b.state, b.phase]),
      [
        ['alpha', 'updating', 'committed'],
        ['bravo', 'waiting', null],
      ],
    );
    const lines: string[] = [];
    const logger = { ...silentLogger, info: (line: string) => lines.push(line) };
    fleet.hub = await startTestHub({ data: fleet.hub.data, linkPort: port, logger });
    assert.ok(lines.includes(`rollout ${id} of 0.1.1: resumed`), lines.join('\n'));
    const view = await fleet.ended(id, 120_000);
    await withConsoles(fleet, async () => {
      assert.equal(view.state, 'done');
      assert.deepEqual(
        view.boards.map((b) => [b.device, b.state, b.fromVersion, b.version]),
        [
          ['alpha', 'confirmed', '0.1.0', '0.1.1'],
          ['bravo', 'confirmed', '0.1.0', '0.1.1'],
        ],
      );
      for (const [name, board] of fleet.boards) {
        assert.deepEqual(await filesDiffering(board.flash, NEW), [], `${name}'s flash holds 0.1.1`);
        assert.equal(board.boots.length, 2, `${name} reset once`);
      }
    });
  });
});
