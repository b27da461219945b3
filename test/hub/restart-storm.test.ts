// Fault injection: `tether hub` killed with SIGKILL while hundreds of boards are linked, then
// started again on the same data folder and port. Every board dials back on its own jittered
// backoff (protocol.md §10.3) and every one is linked again; none is left behind by the hub's
// handshake bounds (§10.8). The time it takes is measured by `npm run bench:hub -- --only=scale`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import { apiGet, spawnHubCli, type HubProcess } from '../support/hub-process.js';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { prng } from '../support/prng.js';
import { eventually, tempDataDir } from '../support/test-hub.js';

const BOARDS = 300;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function spawnHub(data: string, linkPort: number): Promise<HubProcess> {
  const configFile = path.join(data, 'hub.json');
  fs.writeFileSync(configFile, JSON.stringify({ link: { host: '127.0.0.1' }, retention_days: 0 }));
  const hub = await spawnHubCli(['hub', '--config', configFile, '--data', data, '--http-port', '0', '--link-port', String(linkPort)]);
  cleanups.push(() => void hub.child.kill('SIGKILL'));
  return hub;
}

/** Every board the hub's API shows online, once all are. */
async function allOnline(hub: HubProcess, ids: string[]): Promise<void> {
  await eventually(
    async () => {
      const { devices } = (await apiGet(hub, '/api/devices')) as { devices: Array<{ id: string; online: boolean }> };
      const online = new Set(devices.filter((d) => d.online).map((d) => d.id));
      return ids.every((id) => online.has(id)) ? true : undefined;
    },
    `all ${ids.length} boards online in the hub's API`,
    60_000, // a hang guard, not a goal
  );
}

test(`fault injection: the hub killed with ${BOARDS} boards linked and started again: every board links again`, { timeout: 180_000 }, async () => {
  const data = tempDataDir();
  const store = SqliteStore.open(path.join(data, 'tether.db'));
  const ids = Array.from({ length: BOARDS }, (_, i) => `storm-${i}`);
  const tokens: string[] = [];
  for (const id of ids) tokens.push((await store.addDevice(id)).token);
  await store.close();

  let hub = await spawnHub(data, 0);
  const port = hub.linkPort;
  const boards: LinkedBoard[] = [];
  const ups = ids.map(() => [] as number[]);
  for (const [i, id] of ids.entries()) {
    const board = await startLinkedBoard({
      port,
      id,
      token: tokens[i] as string,
      keepaliveMs: null,
      random: prng(1000 + i), // each board its own jitter, repeatable
      localAddress: `127.3.${Math.floor(i / 250)}.${(i % 250) + 1}`, // each board its own address, as on a LAN
    });
    board.link.onState((state) => void (state === 'up' && ups[i]?.push(Date.now())));
    boards.push(board);
    cleanups.push(() => board.close());
  }
  await eventually(() => (boards.every((b) => b.link.state === 'up') ? true : undefined), 'every board linked', 60_000);
  await allOnline(hub, ids);

  hub.child.kill('SIGKILL');
  await hub.exited;
  const killedAt = Date.now();
  hub = await spawnHub(data, port);
  await allOnline(hub, ids);
  const relinked = ups.filter((times) => times.some((t) => t >= killedAt)).length;
  assert.equal(relinked, BOARDS, 'every board linked again after the kill');
  assert.ok(boards.every((b) => b.link.state === 'up'));
});
