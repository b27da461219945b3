// Fault injection: exactly once, in order, both ways, through many link outages and a hub
// restart (protocol.md §10.4). The hub sends 1,250 commands; the board runs each and replies;
// the replies nobody waits for land in the hub's events log, where their order is checked.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { StoredEvent } from '../../src/hub/types.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startLinkedBoard } from '../support/linked-board.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROUNDS = 25;
const PER_ROUND = 50;
const TOTAL = ROUNDS * PER_ROUND;
const RESTART_AT = 12;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault injection: exactly once through outages and a hub restart', { timeout: 60_000 }, () => {
  test(`${TOTAL} commands and ${TOTAL} replies through ${ROUNDS - 1} outages and a hub restart: none lost, none doubled, in order`, async () => {
    let hub = await startTestHub();
    const data = hub.data;
    const linkPort = hub.link.port;
    cleanups.push(() => hub.close());
    const { token } = await hub.store.addDevice('shed');
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: linkPort }, seed: 7 });
    cleanups.push(() => proxy.close());
    proxy.setSplit(true); // frames also arrive cut at random byte positions
    const ran: string[] = [];
    const linked = await startLinkedBoard({ port: proxy.port, token, keepaliveMs: 200 });
    cleanups.push(() => linked.close());
    // Commands queued before the hub knows the board's boot are never sent to it (§10.4), so
    // the stream starts once it linked; after that, outages and the restart only delay them.
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'linked');

    let outages = 0;
    const sendSome = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        ran.push(`c${i}`);
        await ((await hub.deviceLink('shed')) ?? assert.fail('registered')).send({ action: 'ping', id: `c${i}` });
      }
    };
    for (let round = 0; round < ROUNDS; round++) {
      await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), `linked again before round ${round}`, 10_000);
      // Half while linked, half into the outage: both must arrive once.
      await sendSome(round * PER_ROUND, PER_ROUND / 2);
      await pause(round % 4);
      if (round === RESTART_AT) {
        // A graceful hub restart on the same data folder and port: what it had not delivered
        // comes back from disk, what it had committed is not taken twice.
        await hub.close();
        hub = await startTestHub({ data, linkPort });
        outages++;
      } else {
        // A black hole (found by silence: 700 ms at a 200 ms keepalive) or a dropped connection.
        if (round % 5 === 4) proxy.blackhole(1000);
        else proxy.dropAll();
        await eventually(async () => ((await hub.deviceLink('shed'))?.online === false ? true : undefined), `the hub sees outage ${round}`, 10_000);
        outages++;
      }
      await sendSome(round * PER_ROUND + PER_ROUND / 2, PER_ROUND / 2);
    }
    // A command the board ran twice would come back as two replies: both directions show here.
    const replies = async () => {
      const found: StoredEvent[] = [];
      for (;;) {
        const page = await hub.store.queryEvents({ device: 'shed', type: 'command_reply', afterId: found.at(-1)?.id ?? 0, limit: 1000 });
        found.push(...page);
        if (page.length < 1000) return found;
      }
    };
    await eventually(async () => ((await replies()).length >= TOTAL ? true : undefined), `${TOTAL} replies`, 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${(await replies()).length} arrived; board link ${linked.link.state}, hub sees it ${(await hub.deviceLink("shed"))?.online === true ? "online" : "offline"}`);
    });
    await pause(300); // anything doubled would arrive now
    const all = await replies();
    const ids = all.map((e) => (e.data)['id']);
    assert.equal(ids.length, TOTAL, 'no reply lost and none doubled');
    assert.deepEqual(ids, ran, 'in the order sent');
    assert.ok(all.every((e) => e.data['ok'] === true));
    assert.ok(outages >= 20, `${outages} outages`);
    assert.ok(proxy.connections >= 20, `${proxy.connections} connections`);
  });
});
