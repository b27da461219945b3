// Hubs of a cluster through a real broker (Debian's mosquitto): a command passed to the hub
// holding the board comes back with the board's reply or its coded error, a repeated request id
// runs once, a hub that is gone fails commands at once, and shared changes reach the other hubs.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { SystemClock } from '../../src/common/clock.js';
import { ClusterLink, type ClusterDeps } from '../../src/hub/cluster/cluster-link.js';
import { ClusterTopics, type SharedChange } from '../../src/hub/cluster/messages.js';
import { HubError } from '../../src/hub/errors.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import type { CommandOptions } from '../../src/hub/types.js';
import { Broker, SKIP_WITHOUT_MOSQUITTO } from '../support/mosquitto.js';
import { eventually } from '../support/test-hub.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Member {
  link: ClusterLink;
  ran: Array<{ device: string; request: JsonObject; options: CommandOptions }>;
  changes: Array<{ change: SharedChange; from: string }>;
  /** The hubs whose coming online had this one read the registry again. */
  registryReloads: string[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function member(broker: Broker, hubId: string, runHere?: ClusterDeps['runHere']): Promise<Member> {
  const ran: Member['ran'] = [];
  const changes: Member['changes'] = [];
  const registryReloads: string[] = [];
  const link = await ClusterLink.start(
    { url: broker.url, topic: 'test-cluster' },
    {
      hubId,
      clock: new SystemClock(),
      logger: quiet,
      wallNow: () => Date.now(),
      runHere: (device, request, options) => {
        ran.push({ device, request, options });
        return runHere?.(device, request, options) ?? Promise.resolve({ ok: true, ran_on: hubId });
      },
      changed: (change, from) => {
        // A hub coming online has each other hub read the registry again: counted apart.
        if (change.kind === 'registry') registryReloads.push(from);
        else changes.push({ change, from });
      },
    },
  );
  cleanups.push(() => link.stop());
  return { link, ran, changes, registryReloads };
}

describe('hubs of a cluster', { timeout: 60_000, skip: SKIP_WITHOUT_MOSQUITTO }, () => {
  it('passes a command to the hub holding the board and brings its reply back', async () => {
    const broker = await Broker.start();
    cleanups.push(() => broker.close());
    const a = await member(broker, 'hub-a');
    const b = await member(broker, 'hub-b');
    await eventually(() => (a.link.isOnline('hub-b') && b.link.isOnline('hub-a') ? true : undefined), 'each hub sees the other online');

    const reply = await a.link.forward('hub-b', 'pump', { action: 'write_pin', pin: 5, value: 1 }, { timeoutMs: 3000, deliverWithinMs: 2000 });
    assert.deepEqual(reply, { ok: true, ran_on: 'hub-b' });
    assert.deepEqual(b.ran, [{ device: 'pump', request: { action: 'write_pin', pin: 5, value: 1 }, options: { timeoutMs: 3000, deliverWithinMs: 2000 } }]);
    assert.deepEqual(a.ran, [], 'nothing ran on the hub that passed it on');
  });

  it('gives back the holding hub’s coded error', async () => {
    const broker = await Broker.start();
    cleanups.push(() => broker.close());
    const a = await member(broker, 'hub-a');
    await member(broker, 'hub-b', () => Promise.reject(new HubError('device_offline', 'pump is not linked to the hub now')));
    await eventually(() => (a.link.isOnline('hub-b') ? true : undefined), 'hub b online');
    await assert.rejects(a.link.forward('hub-b', 'pump', { action: 'ping' }), (err) => err instanceof HubError && err.code === 'device_offline' && /pump is not linked/.test(err.message));
  });

  it('runs a request delivered twice only once, and answers both', async () => {
    const broker = await Broker.start();
    cleanups.push(() => broker.close());
    const b = await member(broker, 'hub-b');
    const topics = new ClusterTopics('test-cluster');
    // A hub of its own making, to send the same request twice as a QoS 1 redelivery would.
    const raw = await mqtt.connectAsync(broker.url, { clientId: 'raw-hub' });
    cleanups.push(() => raw.endAsync());
    const answers: unknown[] = [];
    raw.on('message', (_topic, payload) => answers.push(JSON.parse(payload.toString())));
    await raw.subscribeAsync(topics.answers('raw'), { qos: 1 });
    await eventually(() => (b.link.status().state === 'connected' ? true : undefined), 'hub b connected');
    const request = JSON.stringify({ id: 'raw-1', from: 'raw', device: 'pump', request: { action: 'ping' }, timeoutMs: 1000 });
    await raw.publishAsync(topics.commands('hub-b'), request, { qos: 1 });
    await raw.publishAsync(topics.commands('hub-b'), request, { qos: 1 });
    await eventually(() => (answers.length === 2 ? true : undefined), 'both answered');
    assert.equal(b.ran.length, 1, 'the board got it once');
    assert.deepEqual(answers, [
      { id: 'raw-1', reply: { ok: true, ran_on: 'hub-b' } },
      { id: 'raw-1', reply: { ok: true, ran_on: 'hub-b' } },
    ]);
    await raw.publishAsync(topics.commands('hub-b'), '{"id": 3}', { qos: 1 });
    await raw.publishAsync(topics.commands('hub-b'), 'not json', { qos: 1 });
    await raw.publishAsync(topics.commands('hub-b'), JSON.stringify({ id: 'raw-2', from: 'raw', device: 'pump', request: { action: 'ping' }, timeoutMs: 1000 }), { qos: 1 });
    await eventually(() => (answers.length === 3 ? true : undefined), 'a good request after bad ones is answered');
    assert.equal(b.ran.length, 2, 'the malformed requests ran nothing');
  });

  it('fails a command at once for a hub that is gone, and for one that never answers, after its timeout', async () => {
    const broker = await Broker.start();
    cleanups.push(() => broker.close());
    const a = await member(broker, 'hub-a');
    const b = await member(broker, 'hub-b', () => new Promise(() => {}));
    await eventually(() => (a.link.isOnline('hub-b') ? true : undefined), 'hub b online');
    await assert.rejects(a.link.forward('hub-b', 'pump', { action: 'ping' }, { timeoutMs: 200 }), (err) => err instanceof HubError && err.code === 'timeout' && /hub hub-b/.test(err.message));
    const t1 = Date.now();
    const inFlight = a.link.forward('hub-b', 'pump', { action: 'ping' }, { timeoutMs: 10_000 });
    await eventually(() => (b.ran.length === 2 ? true : undefined), 'the second command reached hub b');
    const answered = assert.rejects(inFlight, (err) => err instanceof HubError && err.code === 'timeout' && /went away before it answered/.test(err.message));
    await b.link.stop();
    await answered;
    assert.ok(Date.now() - t1 < 5000, 'answered when hub b went, not at its timeout');
    await eventually(() => (a.link.isOnline('hub-b') ? undefined : true), 'hub b seen offline');
    const t0 = Date.now();
    await assert.rejects(a.link.forward('hub-b', 'pump', { action: 'ping' }, { timeoutMs: 5000 }), (err) => err instanceof HubError && err.code === 'device_offline');
    assert.ok(Date.now() - t0 < 2000, 'without waiting for the timeout');
  });

  it('tells the other hubs of a shared change, not the hub that made it', async () => {
    const broker = await Broker.start();
    cleanups.push(() => broker.close());
    const a = await member(broker, 'hub-a');
    const b = await member(broker, 'hub-b');
    const c = await member(broker, 'hub-c');
    await eventually(() => (a.link.isOnline('hub-b') && a.link.isOnline('hub-c') && b.link.isOnline('hub-a') && c.link.isOnline('hub-a') ? true : undefined), 'all online');
    a.link.announce({ kind: 'board', device: 'pump', what: 'rotated' });
    a.link.announce({ kind: 'rules' });
    await eventually(() => (b.changes.length === 2 && c.changes.length === 2 ? true : undefined), 'b and c heard both');
    assert.deepEqual(b.changes, [
      { change: { kind: 'board', device: 'pump', what: 'rotated' }, from: 'hub-a' },
      { change: { kind: 'rules' }, from: 'hub-a' },
    ]);
    assert.deepEqual(c.changes, b.changes);
    assert.deepEqual(a.changes, []);
    assert.ok(a.registryReloads.includes('hub-c') && b.registryReloads.includes('hub-c'), 'hub c coming online had a and b read the registry again');
  });
});
