// Three `tether hub` processes sharing one PostgreSQL (a throwaway cluster) and one Mosquitto, with
// the boards dialling one address in front of them (docs/scaling.md): the boards spread over the
// hubs, a command through any hub reaches any board, and a hub killed with SIGKILL mid-stream
// loses only its links — its boards link to the others, no reading or command is lost or doubled,
// and a rule fires once per edge.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { PostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { spawnHubCli, type HubProcess } from '../support/hub-process.js';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { Broker, SKIP_WITHOUT_MOSQUITTO } from '../support/mosquitto.js';
import { PostgresCluster, SKIP_WITHOUT_POSTGRES } from '../support/postgres.js';
import { RoundRobinProxy } from '../support/round-robin-proxy.js';
import { eventually, tempDataDir } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BOARDS = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
const BOARD = {
  name: 'bench',
  pins: [
    { pin: 4, name: 'button', mode: 'input', pull: 'down' },
    { pin: 15, name: 'relay', mode: 'output', value: 0 },
  ],
  sensors: [{ name: 'chip', driver: 'chip_temp' }],
};
/** b0's button switches b5's relay on for a moment: the rule runs on whichever hub holds b0. */
const RULE = { name: 'button-lamp', when: { device: 'b0', pin: 4, edge: 'rising' }, then: { device: 'b5', pin: 15, value: 1, lease_s: 0.5 } };

interface Board {
  id: string;
  linked: LinkedBoard;
  /** Reading values the board emitted, and those the hub acknowledged. */
  emitted: number;
  acked: string[];
  /** How often each command id (the id the hub sending it gave it) reached the board; the hubs' own requests left out. */
  ran: Map<string, number>;
  /** Commands sent to it through the API, and those answered ok. */
  attempted: number;
  accepted: number;
}

async function command(hub: HubProcess, device: string, body: JsonObject): Promise<{ status: number; body: JsonObject }> {
  const response = await fetch(`http://127.0.0.1:${hub.httpPort}/api/devices/${device}/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as JsonObject };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('three hubs on one PostgreSQL and one Mosquitto', { timeout: 240_000, skip: SKIP_WITHOUT_POSTGRES || SKIP_WITHOUT_MOSQUITTO }, () => {
  test('boards spread over the hubs; a command through each hub reaches every board; a hub killed mid-stream loses only its links, nothing is lost or doubled, and the rule fires once per edge', async () => {
    const postgres = await PostgresCluster.start();
    cleanups.push(() => postgres.stop());
    const url = await postgres.createDatabase();
    const broker = await Broker.start();
    cleanups.push(() => broker.close());

    // The registry is the database's: registered once, every hub knows the boards.
    const store = await PostgresStore.open(url, { hubId: 'test' });
    cleanups.push(() => store.close());
    const tokens = new Map<string, string>();
    for (const id of BOARDS) tokens.set(id, (await store.addDevice(id)).token);

    const hubs: HubProcess[] = [];
    const folders: string[] = [];
    for (let i = 0; i < 3; i++) {
      const data = tempDataDir();
      folders.push(data);
      const config = {
        store: { url },
        cluster: { url: broker.url, topic: 'cluster-test' },
        link: { host: '127.0.0.1', keepalive_ms: 200 },
        http: { host: '127.0.0.1' },
        telemetry: { interval_ms: 100 },
        rules: [RULE],
      };
      const file = path.join(data, 'hub.json');
      fs.writeFileSync(file, JSON.stringify(config));
      const hub = await spawnHubCli(['hub', '--config', file, '--data', data, '--http-port', '0', '--link-port', '0']);
      cleanups.push(() => void hub.child.kill('SIGKILL'));
      hubs.push(hub);
    }
    const hubIds = folders.map((data) => fs.readFileSync(path.join(data, 'hub-id'), 'utf8').trim());
    const proxy = await RoundRobinProxy.start(hubs.map((h) => h.linkPort));
    cleanups.push(() => proxy.close());

    const boards: Board[] = [];
    let quiet = false;
    for (const id of BOARDS) {
      const entry: Board = { id, emitted: 0, acked: [], ran: new Map(), attempted: 0, accepted: 0, linked: undefined as unknown as LinkedBoard };
      entry.linked = await startLinkedBoard({
        port: proxy.port,
        token: tokens.get(id) as string,
        id,
        config: BOARD,
        random: Math.random,
        onAcked: (body) => {
          if (body['event'] === 'reading') entry.acked.push(`${String(body['sensor'])}=${(body['values'] as { temperature: number }).temperature}`);
        },
        onRequest: (request) => {
          const key = typeof request['id'] === 'string' ? request['id'] : '';
          if (request['action'] === 'ping' && !key.endsWith('.hub')) entry.ran.set(key, (entry.ran.get(key) ?? 0) + 1);
        },
      });
      // Counted where the board queues them for the hub; once `quiet`, it takes no more readings.
      const emit = entry.linked.link.emit.bind(entry.linked.link);
      entry.linked.link.emit = (event) => {
        if (event.event === 'reading') {
          if (quiet) return;
          entry.emitted++;
        }
        emit(event);
      };
      cleanups.push(() => entry.linked.close());
      boards.push(entry);
    }
    const holders = async () => Promise.all(BOARDS.map((id) => store.linkedHub(id)));
    await eventually(async () => ((await holders()).every((h) => h !== null) ? true : undefined), 'every board linked to a hub', 20_000);
    const spread = new Set(await holders());
    assert.equal(spread.size, 3, `the boards are spread over the three hubs: ${[...(await holders())].join(', ')}`);
    assert.ok([...spread].every((h) => hubIds.includes(h as string)));

    // Every board through every hub: two of three commands are passed on through the broker.
    const boardOf = (id: string) => boards.find((b) => b.id === id) as Board;
    const ping = async (hub: HubProcess, id: string) => {
      boardOf(id).attempted++;
      const answer = await command(hub, id, { action: 'ping' });
      if (answer.status === 200 && answer.body['ok'] === true) boardOf(id).accepted++;
      return answer;
    };
    for (const hub of hubs) {
      for (const id of BOARDS) {
        const answer = await ping(hub, id);
        assert.equal(answer.status, 200, `ping to ${id} through hub ${hubs.indexOf(hub)}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body['ok'], true);
      }
    }

    // Edges on b0 while readings stream; the hub holding b0 runs the rule.
    let edges = 0;
    const press = async () => {
      boards[0]?.linked.hardware.gpio.drive(4, 1);
      edges++;
      await pause(150);
      boards[0]?.linked.hardware.gpio.drive(4, 0);
      await pause(150);
    };
    for (let i = 0; i < 3; i++) await press();

    // The hub holding the most boards dies mid-stream, with commands on the way through the others.
    const held = await holders();
    const victim = hubIds.map((id, i) => ({ i, n: held.filter((h) => h === id).length })).sort((a, b) => b.n - a.n)[0] as { i: number; n: number };
    const dead = hubs[victim.i] as HubProcess;
    const orphans = BOARDS.filter((_, k) => held[k] === hubIds[victim.i]);
    const survivors = hubs.filter((h) => h !== dead);
    const during = survivors.flatMap((hub) => BOARDS.map((id) => ping(hub, id).catch(() => undefined)));
    dead.child.kill('SIGKILL');
    await dead.exited;
    await Promise.all(during);

    await eventually(
      async () => {
        const now = await holders();
        return now.every((h) => h !== null && h !== hubIds[victim.i]) ? true : undefined;
      },
      `${orphans.join(', ')} linked again through the other hubs`,
      30_000,
    );
    for (const hub of survivors) {
      for (const id of BOARDS) {
        const answer = await eventually(async () => {
          const a = await ping(hub, id);
          return a.status === 200 ? a : undefined;
        }, `a ping to ${id} through a hub that lives, after the kill`, 10_000);
        assert.equal(answer.body['ok'], true);
      }
    }
    for (let i = 0; i < 3; i++) await press();

    // The boards stop reading; what they sent drains to the hubs.
    quiet = true;
    await eventually(() => (boards.every((b) => b.acked.length === b.emitted) ? true : undefined), 'every reading acknowledged', 30_000).catch(() => {
      throw new Error(`not every reading was acknowledged: ${boards.map((b) => `${b.id} ${b.acked.length}/${b.emitted}`).join(', ')}`);
    });

    // Readings: what the boards saw acknowledged is stored once each, and nothing else.
    for (const b of boards) {
      const stored = (await store.queryReadings({ device: b.id, from: 0, to: Date.now() + 3_600_000, limit: 100_000 })).map((r) => `${r.sensor}=${r.avg}`);
      assert.deepEqual([...stored].sort(), [...b.acked].sort(), `${b.id}: ${stored.length} stored, ${b.acked.length} acknowledged`);
    }
    // Commands: none ran twice; every one answered ok ran (one whose answer the kill cut off may
    // have run too, once), and none ran that was not sent.
    for (const b of boards) {
      for (const [key, times] of b.ran) assert.equal(times, 1, `${b.id} ran ${key} ${times} times`);
      assert.ok(b.ran.size >= b.accepted && b.ran.size <= b.attempted, `${b.id} ran ${b.ran.size} pings; ${b.accepted} answered ok of ${b.attempted} sent`);
    }
    // The rule: one rule_fired (logged for the board it acts on) per edge, whichever hub held b0.
    const firings = async () => (await store.queryEvents({ type: 'rule_fired', limit: 1000 })).filter((e) => e.data['rule'] === 'button-lamp');
    await eventually(async () => ((await firings()).length >= edges ? true : undefined), `${edges} rule_fired events`, 10_000);
    await pause(500);
    const fired = await firings();
    assert.equal(fired.length, edges, 'one firing per edge, on one hub');
    assert.ok(fired.every((e) => e.device === 'b5' && (e.data['trigger'] as JsonObject)['device'] === 'b0'));
  });
});
