// The device runtime in hub mode against a minimal hub: linking, commands with leases, events,
// the hub being down at start, and fault injection: outages in the middle.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { JsonObject } from '../../src/protocol/codec.js';
import { FakeHub } from '../support/fake-hub.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startLinkedBoard } from '../support/linked-board.js';
import { assertLease } from '../support/lease.js';

const TOKEN = 'board-token-0123456789';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function boardLinkedTo(port: number, keepaliveMs = 200) {
  const linked = await startLinkedBoard({ port, token: TOKEN, keepaliveMs });
  cleanups.push(() => linked.close());
  return linked;
}

async function hubAndProxy() {
  const hub = await FakeHub.start(TOKEN);
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hub.port } });
  cleanups.push(() => hub.close(), () => proxy.close());
  return { hub, proxy };
}

const isReply = (id: string) => (b: JsonObject) => b['id'] === id && 'ok' in b;

describe('hub mode', { timeout: 30_000 }, () => {
  test('the board links, reports its real state, runs a leased command and reports the expiry', async () => {
    const { hub } = await hubAndProxy();
    const { hardware } = await boardLinkedTo(hub.port);
    const state = await hub.waitFor((b) => b['event'] === 'state');
    assert.deepEqual((state['pins'] as JsonObject[]).map((p) => p['name']), ['relay']);
    hub.send({ action: 'write_pin', pin: 15, value: 1, timeout: 0.3, id: 'w1' });
    const reply = await hub.waitFor(isReply('w1'));
    assertLease(reply['lease'], { value: 1, safe_value: 0, expires_in_s: 0.3 }, 0.1);
    assert.equal(hardware.gpio.level(15), 1);
    const expired = await hub.waitFor((b) => b['event'] === 'lease_expired');
    assert.equal(expired['pin'], 15);
    assert.equal(hardware.gpio.level(15), 0);
  });

  test('a hub registered with another token fails its proof: the board never proves itself and keeps trying without flooding', async () => {
    const hub = await FakeHub.start('another-token-0123456789');
    cleanups.push(() => hub.close());
    const { link } = await boardLinkedTo(hub.port);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(link.state === 'up', false);
    assert.ok(hub.hellos >= 2 && hub.hellos <= 12, `${hub.hellos} attempts in 600 ms`);
    assert.equal(hub.rejects, 0, 'no board proof ever reached the hub');
    assert.equal(hub.welcomes, 0);
  });

  test('a hub that is down at start: the board links as soon as it is up', async () => {
    const { hub, proxy } = await hubAndProxy();
    proxy.refuse(true);
    const { link } = await boardLinkedTo(proxy.port);
    await new Promise((r) => setTimeout(r, 400));
    assert.notEqual(link.state, 'up');
    proxy.refuse(false);
    await hub.waitFor((b) => b['event'] === 'state');
    assert.equal(link.state, 'up');
  });
});

describe('fault injection: hub mode', { timeout: 30_000 }, () => {
  test('a black hole is found by silence; commands and events sent meanwhile arrive once after it heals', async () => {
    const { hub, proxy } = await hubAndProxy();
    const { link, board } = await boardLinkedTo(proxy.port);
    await hub.waitFor((b) => b['event'] === 'state');
    const downs: string[] = [];
    link.onState((s) => downs.push(s));
    proxy.blackhole();
    // Sent into the black hole: must arrive once, later.
    hub.send({ action: 'setup_pin', pin: 2, mode: 'output', value: 0, id: 's1' });
    board.writePin(15, 1, 0.2); // its expiry happens during the outage
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(downs.includes('down'), `the board saw the outage: ${downs.join(', ')}`);
    proxy.heal();
    await hub.waitFor(isReply('s1'));
    await hub.waitFor((b) => b['event'] === 'lease_expired' && b['pin'] === 15);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hub.received.filter(isReply('s1')).length, 1, 'the command ran once');
    assert.equal(hub.received.filter((b) => b['event'] === 'lease_expired').length, 1, 'the expiry arrived once');
    assert.ok(hub.welcomes >= 2);
  });

  test('the hub drops the link again and again: 200 commands each get exactly one reply, in order', async () => {
    const { hub, proxy } = await hubAndProxy();
    await boardLinkedTo(proxy.port);
    await hub.waitFor((b) => b['event'] === 'state');
    for (let k = 0; k < 10; k++) {
      while (!hub.linked) await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 20; i++) hub.send({ action: 'ping', id: `p${k * 20 + i}` });
      await new Promise((r) => setTimeout(r, k % 3));
      proxy.dropAll();
      while (hub.linked) await new Promise((r) => setTimeout(r, 2));
    }
    await hub.waitFor(isReply('p199'), 15_000);
    const replies = hub.received.filter((b) => typeof b['id'] === 'string' && b['id'].startsWith('p'));
    assert.deepEqual(replies.map((r) => r['id']), Array.from({ length: 200 }, (_, i) => `p${i}`));
    assert.ok(hub.welcomes >= 10, `${hub.welcomes} connections`);
  });
});
