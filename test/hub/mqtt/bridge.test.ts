// The MQTT bridge against a real broker (Debian's mosquitto): what Home Assistant, Domoticz and
// Node-RED see and what they can do, through a board's outage, a broker that goes and comes back,
// and a hub that dies. docs/mqtt.md is the contract.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Logger } from '../../../src/device/logger.js';
import type { JsonObject } from '../../../src/protocol/codec.js';
import { loadTestCert } from '../../client/tls-cert.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { openRawLink } from '../../support/raw-link.js';
import { freePort } from '../../support/free-port.js';
import { Broker, SKIP_WITHOUT_MOSQUITTO } from '../../support/mosquitto.js';
import { SqliteStore } from '../../../src/hub/store/sqlite/sqlite-store.js';
import { BrokerConnection } from '../../../src/hub/mqtt/connection.js';
import { SystemClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/device/logger.js';
import { MqttWatch, retained } from '../../support/mqtt-watch.js';
import { RELAY_BOARD, startLinkedBoard, type LinkedBoard } from '../../support/linked-board.js';
import { spawnHubCli } from '../../support/hub-process.js';
import { eventually, registerInStore, startTestHub, tempDataDir, type TestHub } from '../../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(options: Parameters<typeof Broker.start>[0] = {}): Promise<Broker> {
  const b = await Broker.start(options);
  cleanups.push(() => b.close());
  return b;
}

async function hubWith(mqtt: Record<string, unknown>, logger?: Logger): Promise<TestHub> {
  const hub = await startTestHub({ config: { telemetry: { interval_ms: 200 }, mqtt }, ...(logger !== undefined ? { logger } : {}) });
  // A test may stop its hub itself (a hub that goes away); the cleanup then has nothing to do.
  const close = hub.close.bind(hub);
  let closing: Promise<void> | undefined;
  hub.close = () => (closing ??= close());
  cleanups.push(() => hub.close());
  return hub;
}

async function board(hub: TestHub, id: string, config: unknown = RELAY_BOARD): Promise<LinkedBoard> {
  const { token } = await hub.store.addDevice(id, {});
  const linked = await startLinkedBoard({ port: hub.link.port, token, id, config });
  cleanups.push(() => linked.close());
  await eventually(async () => ((await hub.deviceLink(id))?.online === true ? true : undefined), `${id} linked`);
  return linked;
}

async function watch(url: string, topics: string[]): Promise<MqttWatch> {
  const w = await MqttWatch.connect(url, topics);
  cleanups.push(() => w.close());
  return w;
}

function mqttState(hub: TestHub) {
  return hub.facade.hub().mqtt;
}

function relayLevel(linked: LinkedBoard): number | undefined {
  const pin = (linked.board.state().pins as JsonObject[]).find((p) => p['pin'] === 15);
  return pin?.['value'] as number | undefined;
}

const LEASE = { lease_s: 1.5, renew_s: 0.4 };

/** Board shed with its relay, linked to the hub's link port through a fault proxy (seeded) that a test can cut. */
async function relayBoardBehindProxy(linkPort: number, token: string, seed: number, keepaliveMs?: number): Promise<{ proxy: FaultProxy; linked: LinkedBoard }> {
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: linkPort }, seed });
  cleanups.push(() => proxy.close());
  const linked = await startLinkedBoard({ port: proxy.port, token, id: 'shed', config: RELAY_BOARD, ...(keepaliveMs !== undefined ? { keepaliveMs } : {}) });
  cleanups.push(() => linked.close());
  return { proxy, linked };
}

/** The relay's level every 5 ms for `ms`, as [ms since start, level] at each change. */
async function trace(linked: LinkedBoard, ms: number): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  const start = Date.now();
  let last = -2;
  while (Date.now() - start < ms) {
    const v = relayLevel(linked) ?? -1;
    if (v !== last) out.push([Date.now() - start, v]);
    last = v;
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}

/** A broker, a hub bridged to it with short leases, board shed linked, and its relay (pin 15) switched ON from MQTT. */
async function relayHeldFromMqtt(): Promise<{ b: Broker; hub: TestHub; linked: LinkedBoard; w: MqttWatch }> {
  const b = await broker();
  const hub = await hubWith({ url: b.url, ...LEASE });
  const linked = await board(hub, 'shed');
  const w = await watch(b.url, ['tether/shed/pin/15/state']);
  await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF');
  await w.publish('tether/shed/pin/15/set', 'ON');
  await eventually(() => (relayLevel(linked) === 1 ? true : undefined), 'the relay on');
  return { b, hub, linked, w };
}

describe('the MQTT bridge against mosquitto', { timeout: 120_000, skip: SKIP_WITHOUT_MOSQUITTO }, () => {
  test('a switch turned on from MQTT is held while the hub renews it; off writes the safe value at once', async () => {
    const { linked, w } = await relayHeldFromMqtt();
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'ON');
    // Three leases long: only renewals keep it on.
    await new Promise((r) => setTimeout(r, 4500));
    assert.equal(relayLevel(linked), 1, 'the relay stayed on while the hub renewed its lease');
    await w.publish('tether/shed/pin/15/set', 'OFF');
    await eventually(() => (relayLevel(linked) === 0 ? true : undefined), 'the relay off', 1000);
    const pin = (linked.board.state().pins as JsonObject[]).find((p) => p['pin'] === 15);
    assert.equal(pin?.['lease'], null, 'the safe value holds no lease');
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF', 2000, w.seen.findIndex((s) => s.payload === 'ON'));
  });

  test('the broker gone: the hub stops renewing, the board reverts by its lease, and the broker shows it when back', async () => {
    const { b, hub, linked, w } = await relayHeldFromMqtt();
    await w.close();
    await b.kill();
    // Nobody could turn it off through the broker now, so the hub lets the lease run out.
    await eventually(() => (relayLevel(linked) === 0 ? true : undefined), 'the relay off by its lease', LEASE.lease_s * 1000 + 2000);
    await b.resume();
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'reconnected', 10_000);
    // A read that fails while the broker settles is tried again, within the deadline.
    const offOnBroker = async () => ((await retained(b.url, 'tether/shed/pin/15/state', 200)).get('tether/shed/pin/15/state') === 'OFF' ? true : undefined);
    const after = await eventually(() => offOnBroker().catch(() => undefined), 'OFF on the broker');
    assert.equal(after, true);
    await new Promise((r) => setTimeout(r, LEASE.lease_s * 1000));
    assert.equal(relayLevel(linked), 0, 'the hub never turns it back on by itself');
  });

  test("the board's link gone: the hold ends with it, and the relay stays off when the board is back", async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url, ...LEASE });
    const { token } = await hub.store.addDevice('shed', {});
    const { proxy, linked } = await relayBoardBehindProxy(hub.link.port, token, 3);
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'shed linked');
    const w = await watch(b.url, ['tether/shed/pin/15/state', 'tether/shed/availability']);
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF');
    await w.publish('tether/shed/pin/15/set', 'ON');
    await eventually(() => (relayLevel(linked) === 1 ? true : undefined), 'the relay on');
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'ON');
    // A WiFi outage: nothing gets through either way; the board's own lease turns the relay off.
    proxy.blackhole();
    await w.waitFor('tether/shed/availability', (p) => p === 'offline', 8000);
    await eventually(() => (relayLevel(linked) === 0 ? true : undefined), 'the relay off by its lease', LEASE.lease_s * 1000 + 2000);
    const offAt = w.seen.length;
    proxy.heal();
    await w.waitFor('tether/shed/availability', (p) => p === 'online', 10_000, offAt);
    // Renewals the hub queued before it saw the outage must not land now: sampled through a whole lease.
    const samples = (await trace(linked, LEASE.lease_s * 1000 + 500)).map(([, level]) => level);
    assert.deepEqual([...new Set(samples)], [0], 'the relay stays off after the link is back: a new ON is needed');
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF', 5000, offAt);
    assert.equal(w.latest('tether/shed/pin/15/state'), 'OFF', JSON.stringify(w.seen.map((x) => [x.topic.slice(11), x.payload, x.at % 100000])));
  });

  test('mqtts:// with the CA of the broker; without it the certificate is refused and said so', async () => {
    const cert = loadTestCert();
    const keyFile = path.join(path.dirname(cert.certFile), 'key.pem');
    const b = await broker({ tls: { certFile: cert.certFile, keyFile } });
    assert.match(b.url, /^mqtts:/);
    const hub = await hubWith({ url: b.url, ca: cert.certFile });
    await board(hub, 'shed');
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'connected over TLS', 10_000);
    const stranger = await hubWith({ url: b.url });
    const refused = await eventually(() => (mqttState(stranger)?.error !== null && mqttState(stranger)?.error !== undefined ? mqttState(stranger) : undefined), 'the refusal');
    assert.match(refused?.error ?? '', /certificate/);
  });

  test("every reading is published, the same value again included (Home Assistant's expire_after counts from the last message)", async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url });
    const { token } = await hub.store.addDevice('probe');
    const w = await watch(b.url, ['tether/probe/sensor/t/temperature']);
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'the bridge connected');
    const raw = await openRawLink(hub.link.port);
    cleanups.push(() => void raw.socket.destroy());
    assert.equal((await raw.authenticate('probe', token, { keepalive_ms: 60_000 }))['link'], 'welcome');
    const reading = (seq: number) => ({ link: 'msg', seq, body: { event: 'reading', ts: 1000 * seq, sensor: 't', values: { temperature: 21.5 }, units: { temperature: '°C' } } });
    raw.send(reading(1));
    await w.waitFor('tether/probe/sensor/t/temperature', (p) => p === '21.5');
    raw.send(reading(2));
    await eventually(() => (w.seen.filter((m) => m.topic === 'tether/probe/sensor/t/temperature').length >= 2 ? true : undefined), 'the steady reading published again');
  });

  test('a held output set by another writer is left to them: the hub stops renewing it', async () => {
    const { hub, linked, w } = await relayHeldFromMqtt();
    // Once the board has reported it ON (the broker shows it), the dashboard (or a script)
    // switches it off through the API. A write in the instant before that report is not told
    // apart from a report sent before the hub's own write landed (docs/mqtt.md).
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'ON');
    const reply = await hub.facade.command('shed', { action: 'write_pin', pin: 15, value: 0 });
    assert.equal(reply['ok'], true);
    await new Promise((r) => setTimeout(r, LEASE.lease_s * 1000 + 500));
    assert.equal(relayLevel(linked), 0, 'the hub did not switch it back on');
    assert.equal(w.latest('tether/shed/pin/15/state'), 'OFF');
  });

  test('a retained command is ignored, and cleared from the broker', async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url, ...LEASE });
    const linked = await board(hub, 'shed');
    const w = await watch(b.url, ['tether/shed/pin/15/state']);
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF');
    await w.publish('tether/shed/pin/15/set', 'ON', { retain: true });
    await eventually(async () => ((await retained(b.url, 'tether/shed/pin/15/set', 200)).size === 0 ? true : undefined), 'the retained command cleared');
    assert.equal(relayLevel(linked), 0, 'the retained ON did not switch the relay');
  });

  test('command and reply topics relay protocol v1 requests, with the id put back', async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url });
    await board(hub, 'shed');
    const w = await watch(b.url, ['tether/shed/reply', 'tether/ghost/reply', 'node-red/replies']);
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'the bridge connected');
    await w.publish('tether/shed/command', JSON.stringify({ id: 7, action: 'read_pin', pin: 15 }));
    const reply = JSON.parse((await w.waitFor('tether/shed/reply')).payload) as JsonObject;
    assert.equal(reply['id'], 7);
    assert.equal(reply['ok'], true);
    assert.equal(reply['value'], 0);
    await w.publish('tether/shed/command', 'not json');
    const bad = JSON.parse((await w.waitFor('tether/shed/reply', (p) => p.includes('bad_json'))).payload) as JsonObject;
    assert.deepEqual((bad['error'] as JsonObject)['code'], 'bad_json');
    // MQTT 5 request/response: the reply also goes to the response topic, with the correlation data.
    await w.publish('tether/shed/command', JSON.stringify({ action: 'ping' }), { properties: { responseTopic: 'node-red/replies', correlationData: Buffer.from('abc') } });
    const routed = await w.waitFor('node-red/replies');
    // A wildcard response topic: publishing there would get the hub disconnected; the reply goes to …/reply only.
    const session = mqttState(hub);
    await w.publish('tether/shed/command', JSON.stringify({ id: 'wild', action: 'ping' }), { properties: { responseTopic: 'x/#' } });
    await w.waitFor('tether/shed/reply', (p) => p.includes('"wild"'));
    // The hub's own marker in a request is not the caller's to set, and never reaches the board.
    await w.publish('tether/shed/command', JSON.stringify({ id: 'marker', action: 'read_pin', pin: 15, _hub_deliver_by: true }));
    const marked = JSON.parse((await w.waitFor('tether/shed/reply', (p) => p.includes('"marker"'))).payload) as JsonObject;
    assert.equal(marked['ok'], true);
    assert.equal(Object.hasOwn(marked, '_hub_deliver_by'), false, 'the board never saw it');
    // A response topic among the bridge's own would be a command sent with the hub's rights.
    const sneaky = await watch(b.url, ['tether/ghost/command']);
    await w.publish('tether/shed/command', JSON.stringify({ id: 'sneaky', action: 'ping' }), { properties: { responseTopic: 'tether/ghost/command' } });
    await w.waitFor('tether/shed/reply', (p) => p.includes('"sneaky"'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sneaky.seen.length, 0, 'nothing published on the bridge\'s own command topic');
    assert.equal((JSON.parse(routed.payload) as JsonObject)['ok'], true);
    assert.equal(Buffer.from(routed.properties?.['correlationData'] as Buffer).toString('utf8'), 'abc');
    await w.publish('tether/ghost/command', JSON.stringify({ id: 'x', action: 'ping' }));
    const unknown = JSON.parse((await w.waitFor('tether/ghost/reply')).payload) as JsonObject;
    assert.equal(unknown['id'], 'x');
    assert.equal((unknown['error'] as JsonObject)['code'], 'not_found');
    assert.deepEqual([mqttState(hub)?.state, mqttState(hub)?.since], [session?.state, session?.since], 'the hub stayed connected throughout');
  });

  test("a board's availability follows its link; the hub's own is online while it runs", async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url });
    const linked = await board(hub, 'shed');
    const w = await watch(b.url, ['tether/shed/availability', 'tether/hub/availability']);
    await w.waitFor('tether/hub/availability', (p) => p === 'online');
    await w.waitFor('tether/shed/availability', (p) => p === 'online');
    await linked.close();
    await w.waitFor('tether/shed/availability', (p) => p === 'offline', 8000);
    await hub.close();
    await w.waitFor('tether/hub/availability', (p) => p === 'offline');
  });

  test('Home Assistant discovery: one device per board, configs retained, re-sent on its birth message', async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url });
    await board(hub, 'shed');
    const configs = await eventually(async () => {
      const r = await retained(b.url, 'homeassistant/#', 300);
      return [...r.keys()].some((t) => t.includes('/switch/')) ? r : undefined;
    }, 'discovery configs');
    const node = `${hub.hubId}_shed`;
    const relay = JSON.parse(configs.get(`homeassistant/switch/${node}/pin_15/config`) ?? '{}') as JsonObject;
    assert.equal(relay['unique_id'], `tether_${hub.hubId}_shed_pin_15`);
    assert.equal(relay['command_topic'], 'tether/shed/pin/15/set');
    assert.equal(relay['state_topic'], 'tether/shed/pin/15/state');
    assert.deepEqual(
      (relay['availability'] as JsonObject[]).map((a) => a['topic']),
      ['tether/hub/availability', 'tether/shed/availability'],
    );
    assert.equal(relay['availability_mode'], 'all');
    assert.deepEqual(((relay['device'] as JsonObject)['identifiers'] as string[])[0], `tether_${hub.hubId}_shed`);
    assert.ok(configs.has(`homeassistant/button/${node}/reset/config`), 'the reset button');
    const w = await watch(b.url, ['homeassistant/+/+/+/config']);
    await new Promise((r) => setTimeout(r, 300));
    const before = w.seen.length;
    await w.publish('homeassistant/status', 'online');
    await w.waitFor(`homeassistant/switch/${node}/pin_15/config`, () => true, 15_000, before);
  });

  test('configs of boards and pins no longer on the hub are cleared when it connects, or when the board is back', async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url });
    const { token } = await hub.store.addDevice('shed', {});
    const shed = await startLinkedBoard({ port: hub.link.port, token, id: 'shed', config: RELAY_BOARD });
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'shed linked');
    await eventually(async () => ((await retained(b.url, 'homeassistant/switch/#', 200)).size > 0 ? true : undefined), 'the relay config');
    await hub.close();
    await shed.close();
    // A ghost board and a pin the board no longer has, left retained under this hub's id.
    const w = await watch(b.url, []);
    const ghost = `homeassistant/switch/${hub.hubId}_ghost/pin_3/config`;
    const oldPin = `homeassistant/switch/${hub.hubId}_shed/pin_9/config`;
    const foreign = 'homeassistant/switch/otherhub_shed/pin_9/config';
    for (const topic of [ghost, oldPin, foreign]) await w.publish(topic, JSON.stringify({ name: 'x' }), { retain: true });
    const again = await startTestHub({ data: hub.data, linkPort: hub.link.port, config: { telemetry: { interval_ms: 200 }, mqtt: { url: b.url } } });
    cleanups.push(() => again.close());
    // The ghost goes at once; shed's configs wait for shed, which is not back yet.
    await eventually(async () => (!(await retained(b.url, 'homeassistant/#', 200)).has(ghost) ? true : undefined), 'the ghost cleared', 8000);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok((await retained(b.url, 'homeassistant/#', 200)).has(oldPin), "an offline board's configs are kept until it says what it has");
    const back = await startLinkedBoard({ port: again.link.port, token, id: 'shed', config: RELAY_BOARD });
    cleanups.push(() => back.close());
    const left = await eventually(async () => {
      const r = await retained(b.url, 'homeassistant/#', 200);
      return !r.has(oldPin) ? r : undefined;
    }, 'the stale pin cleared once shed is back', 10_000);
    assert.ok(left.has(foreign), "another hub's config is left alone");
    assert.ok(left.has(`homeassistant/switch/${hub.hubId}_shed/pin_15/config`), 'the real relay stays');
  });

  test('an output the hub cannot hold for its lease, and a board whose node id another has, are logged and not offered', async () => {
    const b = await broker();
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) };
    const hub = await hubWith({ url: b.url, lease_s: 30 }, logger);
    const shortLease = { name: 'kiln', pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0, max_lease_s: 10 }, { pin: 16, name: 'lamp', mode: 'output', value: 0 }] };
    await board(hub, 'kiln', shortLease);
    await board(hub, 'lab_bench');
    await board(hub, 'lab.bench');
    const configs = await eventually(async () => {
      const r = await retained(b.url, 'homeassistant/#', 300);
      return r.has(`homeassistant/switch/${hub.hubId}_kiln/pin_16/config`) && r.has(`homeassistant/switch/${hub.hubId}_lab_bench/pin_15/config`) ? r : undefined;
    }, 'the configs');
    assert.equal(configs.has(`homeassistant/switch/${hub.hubId}_kiln/pin_15/config`), false, 'the relay allowed only 10 s is not offered');
    await eventually(() => warnings.find((w) => /relay.*at most 10 s.*lease_s: 10 or less/.test(w)), 'the lease refusal logged');
    const owner = JSON.parse(configs.get(`homeassistant/switch/${hub.hubId}_lab_bench/pin_15/config`) ?? '{}') as JsonObject;
    assert.equal(owner['unique_id'], `tether_${hub.hubId}_lab_bench_pin_15`, 'lab_bench keeps its node id');
    await eventually(() => warnings.find((w) => w.includes('board lab.bench is not offered')), 'the clash logged');
    // The refused output takes no command either.
    const kiln = await hub.deviceLink('kiln');
    const w = await watch(b.url, []);
    await w.publish('tether/kiln/pin/15/set', 'ON');
    await eventually(() => warnings.find((m) => m.includes('kiln pin 15: not an output this hub offers')), 'the command refused');
    assert.equal(((kiln?.lastState?.['pins'] as JsonObject[]).find((p) => p['pin'] === 15) ?? {})['value'], 0);
  });

  test('a broker down at start and restarted later: the hub serves meanwhile and reconnects', async () => {
    const b = await broker();
    await b.stop();
    const hub = await hubWith({ url: b.url });
    await board(hub, 'shed');
    const down = await eventually(() => (mqttState(hub)?.state === 'down' ? mqttState(hub) : undefined), 'the bridge down');
    assert.match(down?.error ?? '', /connection refused/);
    const health = await fetch(`http://127.0.0.1:${hub.http.port}/api/hub`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } });
    assert.equal(health.status, 200, 'the hub serves without its broker');
    assert.equal(((await health.json()) as { mqtt: { state: string } }).mqtt.state, 'down');
    await b.resume();
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'reconnected', 10_000);
    const w = await watch(b.url, ['tether/shed/availability']);
    await w.waitFor('tether/shed/availability', (p) => p === 'online');
    // A broker restart: the bridge comes back and publishes everything again.
    await b.kill();
    await eventually(() => (mqttState(hub)?.state !== 'connected' ? true : undefined), 'the broker gone');
    await b.resume();
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'reconnected after the restart', 10_000);
    const after = await watch(b.url, ['tether/hub/availability']);
    await after.waitFor('tether/hub/availability', (p) => p === 'online');
  });

  test('a wrong password is shown as such and retried; the hub keeps serving', async () => {
    const b = await broker({ users: { tether: 'right-password' } });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tether-mqtt-pw-')), 'password');
    fs.writeFileSync(file, 'wrong-password\n');
    const hub = await hubWith({ url: b.url, username: 'tether', password_file: file });
    const down = await eventually(() => (mqttState(hub)?.error?.includes('credentials') === true ? mqttState(hub) : undefined), 'the refusal shown');
    assert.notEqual(down?.state, 'connected');
    assert.doesNotMatch(JSON.stringify(down), /wrong-password/, 'the password is never shown');
    assert.equal(typeof down?.retryAt, 'number', 'a retry is planned');
    const api = await fetch(`http://127.0.0.1:${hub.http.port}/api/hub`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } });
    assert.equal(api.status, 200, 'the hub serves while its broker refuses it');
    // The password file corrected: the next retry reads it, no restart needed.
    fs.writeFileSync(file, 'right-password\n');
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'connected with the corrected password', 15_000);
  });

  test('the hub killed: its will marks everything unavailable, and a switch held from MQTT reverts on the board', async () => {
    const b = await broker();
    const data = tempDataDir();
    const token = await registerInStore(data, 'shed');
    const configFile = path.join(data, 'hub.json');
    fs.writeFileSync(configFile, JSON.stringify({ link: { host: '127.0.0.1', keepalive_ms: 200 }, mqtt: { url: b.url, ...LEASE } }));
    const child = await spawnHubCli(['hub', '--config', configFile, '--data', data, '--http-port', '0', '--link-port', '0']);
    cleanups.push(() => void child.child.kill('SIGKILL'));
    const linked = await startLinkedBoard({ port: child.linkPort, token, id: 'shed', config: RELAY_BOARD });
    cleanups.push(() => linked.close());
    const w = await watch(b.url, ['tether/hub/availability', 'tether/shed/pin/15/state']);
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF', 10_000);
    await w.publish('tether/shed/pin/15/set', 'ON');
    await eventually(() => (relayLevel(linked) === 1 ? true : undefined), 'the relay on');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(relayLevel(linked), 1, 'held past its first lease while the hub renews');
    const killedAt = Date.now();
    child.child.kill('SIGKILL');
    await child.exited;
    await w.waitFor('tether/hub/availability', (p) => p === 'offline', 5000);
    await eventually(() => (relayLevel(linked) === 0 ? true : undefined), 'the relay off by its lease', 3000);
    assert.ok(Date.now() - killedAt <= LEASE.lease_s * 1000 + 1000, 'off within the lease (and a little scheduling)');
  });

  test('a broker gone silent (no acknowledgement will come): the hub still stops, after a bounded wait', async () => {
    const b = await broker();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: b.port }, seed: 5 });
    cleanups.push(() => proxy.close());
    const hub = await hubWith({ url: `mqtt://127.0.0.1:${proxy.port}`, ...LEASE });
    await board(hub, 'shed');
    await eventually(() => (mqttState(hub)?.state === 'connected' ? true : undefined), 'connected', 10_000);
    // Every byte lost from here: the goodbye's acknowledgement, and the close, never come.
    proxy.blackhole();
    const hung = Symbol('hung');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([hub.close().then(() => 'stopped'), new Promise<symbol>((r) => (timer = setTimeout(() => r(hung), 20_000)))]);
    clearTimeout(timer);
    assert.equal(outcome, 'stopped', 'hub.close() returned although the broker never answers');
  });

  test('the connection stopped twice at once ends once: the second call waits for the first', async () => {
    const b = await broker();
    let connected = false;
    const connection = new BrokerConnection(
      { url: b.url, clientId: 'stop-twice', will: { topic: 'tether/test/availability', payload: 'offline' }, clock: new SystemClock(), logger: silentLogger, wallNow: Date.now },
      { connected: () => (connected = true), disconnected: () => {}, message: () => {} },
    );
    connection.start();
    cleanups.push(() => connection.stop());
    await eventually(() => (connected ? true : undefined), 'connected', 10_000);
    const first = connection.stop({ topic: 'tether/test/availability', payload: 'offline' });
    const second = connection.stop({ topic: 'tether/test/availability', payload: 'offline' });
    assert.equal(second, first, 'one stop, shared');
    await first;
    const seen = await retained(b.url, 'tether/test/availability', 200);
    assert.equal(seen.get('tether/test/availability'), 'offline', 'the goodbye was published');
  });
});

describe('renewals that could not reach the board in time are never delivered late', { timeout: 120_000, skip: SKIP_WITHOUT_MOSQUITTO }, () => {
  test('a link silent for longer than a renewal (keepalive 1 s): the renewals waiting for it are dropped, not sent when it heals', async () => {
    const b = await broker();
    const hub = await hubWith({ url: b.url, ...LEASE });
    const { token } = await hub.store.addDevice('shed', {});
    // A 1 s keepalive: the hub sees the outage only after 3.5 s, and keeps renewing into it meanwhile.
    const { proxy, linked } = await relayBoardBehindProxy(hub.link.port, token, 5, 1000);
    const w = await watch(b.url, ['tether/shed/pin/15/state', 'tether/shed/availability']);
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF', 10_000);
    await w.publish('tether/shed/pin/15/set', 'ON');
    await eventually(() => (relayLevel(linked) === 1 ? true : undefined), 'the relay on');
    await new Promise((r) => setTimeout(r, 1000));
    proxy.blackhole();
    await w.waitFor('tether/shed/availability', (p) => p === 'offline', 8000);
    await eventually(() => (relayLevel(linked) === 0 ? true : undefined), 'the relay off by its lease', 5000);
    proxy.heal();
    const seen = await trace(linked, 5000);
    assert.deepEqual([...new Set(seen.map(([, level]) => level))], [0], `the relay never came back on: ${JSON.stringify(seen)}`);
  });

  test('the hub killed with renewals in its outbox and started again: they go out as pings', async () => {
    const b = await broker();
    const data = tempDataDir();
    const token = await registerInStore(data, 'shed');
    const linkPort = await freePort();
    const configFile = path.join(data, 'hub.json');
    fs.writeFileSync(configFile, JSON.stringify({ link: { host: '127.0.0.1', keepalive_ms: 1000 }, mqtt: { url: b.url, ...LEASE } }));
    const args = ['hub', '--config', configFile, '--data', data, '--http-port', '0', '--link-port', String(linkPort)];
    const first = await spawnHubCli(args);
    cleanups.push(() => void first.child.kill('SIGKILL'));
    const { proxy, linked } = await relayBoardBehindProxy(linkPort, token, 6, 1000);
    const w = await watch(b.url, ['tether/shed/pin/15/state']);
    await w.waitFor('tether/shed/pin/15/state', (p) => p === 'OFF', 10_000);
    await w.publish('tether/shed/pin/15/set', 'ON');
    await eventually(() => (relayLevel(linked) === 1 ? true : undefined), 'the relay on');
    await new Promise((r) => setTimeout(r, 1000));
    proxy.blackhole();
    // Killed before it sees the outage (3.5 s): its unacknowledged renewals stay in the outbox.
    await new Promise((r) => setTimeout(r, 2500));
    first.child.kill('SIGKILL');
    await first.exited;
    await eventually(() => (relayLevel(linked) === 0 ? true : undefined), 'the relay off by its lease', 5000);
    const store = SqliteStore.open(path.join(data, 'tether.db'));
    const queued = await store.outboxPending('shed');
    await store.close();
    assert.ok(queued.some((q) => q.body['action'] === 'write_pin' && q.body['_hub_deliver_by'] === true), `a renewal was waiting in the outbox: ${JSON.stringify(queued)}`);
    proxy.heal();
    const second = await spawnHubCli(args);
    cleanups.push(() => void second.child.kill('SIGKILL'));
    await eventually(() => (linked.link.state === 'up' ? true : undefined), 'linked to the restarted hub', 10_000);
    const seen = await trace(linked, 3000);
    assert.deepEqual([...new Set(seen.map(([, level]) => level))], [0], `the relay never came back on: ${JSON.stringify(seen)}`);
  });
});
