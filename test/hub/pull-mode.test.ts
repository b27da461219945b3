// Pull mode: the hub dials a board that only listens (direct mode) and keeps it linked.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { SystemClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { silentLogger } from '../../src/device/logger.js';
import { startDevice } from '../../src/device/runtime.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';
import type { HubError } from '../../src/hub/errors.js';
import type { Hub } from '../../src/hub/hub.js';
import { decodeFrame } from '../../src/protocol/codec.js';
import { encodeFrame, LineDecoder } from '../../src/protocol/framing.js';
import { newNonce } from '../../src/protocol/auth.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { TapProxy } from '../support/tap-proxy.js';
import { prng } from '../support/prng.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const TEST = { timeout: 30_000 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listeningBoard(auth: unknown = 'none') {
  const clock = new SystemClock();
  const config = parseBoardConfig({
    name: 'pi',
    listen: { host: '127.0.0.1', port: 0 },
    auth,
    pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
    sensors: [{ name: 'chip', driver: 'chip_temp' }],
  });
  const hardware = createSimHardware(config, clock);
  const device = await startDevice({ config, hardware, clock, logger: silentLogger, host: '127.0.0.1', port: 0 });
  cleanups.push(() => device.close());
  return { device, hardware };
}

/**
 * A listening board that answers get_info and get_state, then meets what the hub asks next (its
 * subscriptions) with silence (`stall`) or by dropping the connection (`drop`): a handshake that
 * breaks after the board has said who it is.
 */
async function handshakeBreaker() {
  const sockets = new Set<net.Socket>();
  const breaker = { mode: 'stall' as 'stall' | 'drop', states: 0, port: 0, dropAll: () => sockets.forEach((s) => s.destroy()) };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new LineDecoder(1 << 16);
    const answer = (bytes: Buffer) => {
      const decoded = decodeFrame(bytes);
      const action = decoded.ok ? decoded.message['action'] : undefined;
      if (action === 'get_info') socket.write(encodeFrame({ ok: true, action, info: { firmware_version: '0.1.0', runtime: 'test' } }));
      else if (action === 'get_state') {
        breaker.states++;
        socket.write(encodeFrame({ ok: true, action, boot_id: 'b1', uptime_s: 1, pins: [], leases: [], sensors: ['chip'] }));
      } else if (breaker.mode === 'drop') socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, { frame: answer, oversize: () => socket.destroy() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  breaker.port = (server.address() as net.AddressInfo).port;
  cleanups.push(() => {
    breaker.dropAll();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return breaker;
}

const LINK_EVENTS = new Set(['online', 'offline']);

/**
 * Checks at every hub update and every few ms that the board reads online only while the last
 * online/offline event stored for it is an online, and that those events alternate.
 */
function watchLinkEvents(hub: Hub, id: string) {
  const problems: string[] = [];
  const online = () => hub.facade.devices().find((d) => d.id === id)?.online === true;
  const linkEvents = async () =>
    (await hub.facade.events({ device: id, limit: 1000 }))
      .filter((e) => LINK_EVENTS.has(e.type))
      .map((e) => e.type)
      .reverse();
  const check = async (when: string) => {
    // Online read in the same turn as the events: the store answers the query as it is called.
    const isOnline = online();
    const log = await linkEvents();
    if (isOnline && log.at(-1) !== 'online') problems.push(`${when}: online, but the link events are [${log.join(', ')}]`);
    if (log.some((type, i) => type === (i === 0 ? 'offline' : log[i - 1]))) problems.push(`${when}: the link events do not alternate: [${log.join(', ')}]`);
  };
  const unsubscribe = hub.facade.onUpdate((u) => void check(`at a ${u.type} update`));
  const poll = setInterval(() => void check('polled'), 5);
  cleanups.push(() => {
    unsubscribe();
    clearInterval(poll);
  });
  return { online, linkEvents, problems };
}

/** Polls for ms that the board never reads online (its handshake hangs meanwhile). */
async function staysOffline(online: () => boolean, ms: number): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    assert.equal(online(), false, 'not online while the handshake hangs');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hub: pull mode', { timeout: 120_000 }, () => {
  test('the hub dials a listening board: online, readings stored, leased commands run', TEST, async () => {
    const { device, hardware } = await listeningBoard();
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 }, devices: [{ id: 'pi', address: `127.0.0.1:${device.port}` }] } });
    cleanups.push(() => hub.close());
    await eventually(() => (hub.facade.devices().find((d) => d.id === 'pi')?.online === true ? true : undefined), 'pi online');
    assert.equal(typeof hub.facade.device('pi')?.rssi, 'number', 'the signal strength from get_info');
    const listed = hub.facade.devices().find((d) => d.id === 'pi');
    assert.match(listed?.firmware ?? '', /^tether \d+\.\d+\.\d+ \(node \d+\.\d+\.\d+, pull\)$/, 'version and runtime from get_info\'s info');
    assert.ok(listed?.capabilities.includes('gpio'), `capabilities from get_info: ${JSON.stringify(listed?.capabilities)}`);
    await eventually(async () => ((await hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length >= 2 ? true : undefined), 'readings');
    const reply = await hub.facade.command('pi', { action: 'write_pin', pin: 15, value: 1, timeout: 0.3, id: 7 });
    assert.equal(reply['ok'], true);
    assert.equal(reply['id'], 7);
    assert.equal(hardware.gpio.level(15), 1);
    await eventually(async () => (await hub.facade.events({ device: 'pi', type: 'lease_expired' }))[0], 'lease_expired logged');
    assert.equal(hardware.gpio.level(15), 0);
  });

  test('fault injection: after a dropped connection and a black hole the hub dials again and reports resume', TEST, async () => {
    const { device } = await listeningBoard();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: device.port } });
    cleanups.push(() => proxy.close());
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 }, devices: [{ id: 'pi', address: `127.0.0.1:${proxy.port}` }] } });
    cleanups.push(() => hub.close());
    const { online, linkEvents, problems } = watchLinkEvents(hub, 'pi');
    await eventually(() => (online() ? true : undefined), 'online');
    const connections = async () => (await hub.facade.events({ device: 'pi', type: 'online' })).length;
    proxy.dropAll();
    // The hub dials again within a backoff step, too fast to poll for "offline": count the links.
    await eventually(async () => ((await connections()) === 2 && online() ? true : undefined), 'linked a second time');
    assert.equal((await hub.facade.events({ device: 'pi', type: 'offline' })).length, 1);
    // Counted first: under load the hub can dial again before a poll sees it offline.
    const dialed = proxy.connections;
    proxy.blackhole();
    await eventually(() => (online() ? undefined : true), 'offline: the pings went unanswered');
    assert.equal((await linkEvents()).at(-1), 'offline');
    const links = await connections();
    // The hub dials again into the black hole: TCP connects, the handshake hangs for its 5 s.
    await eventually(() => (proxy.connections > dialed ? true : undefined), 'dialed again into the black hole');
    await assert.rejects(hub.facade.command('pi', { action: 'ping' }), (e: HubError) => e.code === 'device_offline');
    await staysOffline(online, 500);
    assert.equal(await connections(), links, 'no link recorded into the black hole');
    proxy.heal();
    proxy.dropAll(); // ends the hung handshake now rather than at its timeout
    await eventually(() => (online() ? true : undefined), 'online after the black hole', 10_000);
    const before = (await hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length;
    await eventually(async () => ((await hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length > before ? true : undefined), 'new readings');
    assert.ok((await connections()) >= 3);
    assert.deepEqual(problems, []);
  });

  test('a handshake that breaks after get_state answers: never online, nothing recorded, the store not marked linked', TEST, async () => {
    const breaker = await handshakeBreaker();
    const hub = await startTestHub({ config: { devices: [{ id: 'pi', address: `127.0.0.1:${breaker.port}` }] } });
    cleanups.push(() => hub.close());
    const { online, linkEvents, problems } = watchLinkEvents(hub, 'pi');
    await eventually(() => (breaker.states >= 1 ? true : undefined), 'get_state answered');
    // Stalled: the subscriptions go unanswered (for the hub's 5 s request timeout).
    await staysOffline(online, 300);
    await assert.rejects(hub.facade.command('pi', { action: 'ping' }), (e: HubError) => e.code === 'device_offline');
    // Dropped: this connection now, and every next one right after get_state answers.
    breaker.mode = 'drop';
    breaker.dropAll();
    await eventually(() => (breaker.states >= 4 ? true : undefined), 'dialed and dropped three more times', 10_000);
    assert.deepEqual(await linkEvents(), []);
    const stored = await hub.store.getDevice('pi');
    assert.equal(stored?.online, false, 'the store was not marked linked');
    assert.equal(stored?.bootId, null);
    assert.equal(online(), false);
    assert.deepEqual(problems, []);
  });

  test('drops at random points of the handshake and the link: online only once recorded, each online paired with an offline', TEST, async () => {
    const { device } = await listeningBoard();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: device.port } });
    cleanups.push(() => proxy.close());
    // A few ms per chunk stretch the handshake's three round trips, so the drops land inside it too.
    proxy.setDelay(5, 10);
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 }, devices: [{ id: 'pi', address: `127.0.0.1:${proxy.port}` }] } });
    cleanups.push(() => hub.close());
    const { online, linkEvents, problems } = watchLinkEvents(hub, 'pi');
    const random = prng(7);
    // Each round starts linked (the backoff back at its first step), so the redials stay quick.
    for (let round = 1; round <= 8; round++) {
      await eventually(() => (online() ? true : undefined), `online, round ${round}`);
      const dialed = proxy.connections;
      proxy.dropAll();
      await eventually(() => (proxy.connections > dialed ? true : undefined), `dialed again, round ${round}`);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 60)));
      proxy.dropAll();
    }
    await eventually(() => (online() ? true : undefined), 'online after the drops');
    assert.equal((await linkEvents()).at(-1), 'online');
    assert.equal((await hub.store.getDevice('pi'))?.online, true);
    assert.deepEqual(problems, []);
  });
  test('security: pull mode proves a board token by challenge and response and seals the link; an injected command closes it unrun', TEST, async () => {
    const token = 'pull-mode-board-token-0123456789';
    const { device, hardware } = await listeningBoard({ tokens: [{ token, scope: 'admin' }] });
    const tap = await TapProxy.start(device.port);
    cleanups.push(() => tap.close());
    const hub = await startTestHub({ config: { telemetry: { interval_ms: 100 }, devices: [{ id: 'pi', address: `127.0.0.1:${tap.port}`, token }] } });
    cleanups.push(() => hub.close());
    const online = () => hub.facade.devices().find((d) => d.id === 'pi')?.online === true;
    await eventually(() => (online() ? true : undefined), 'pi online');
    await eventually(async () => ((await hub.facade.readings({ device: 'pi', sensor: 'chip', from: 0, to: Date.now() + 60_000 })).length >= 2 ? true : undefined), 'readings');
    const reply = await hub.facade.command('pi', { action: 'write_pin', pin: 15, value: 1, timeout: 5 });
    assert.equal(reply['ok'], true);
    assert.equal(hardware.gpio.level(15), 1);
    assert.equal((await hub.facade.command('pi', { action: 'write_pin', pin: 15, value: 0 }))['ok'], true);

    const up = tap.lines('up');
    const down = tap.lines('down');
    assert.deepEqual(Object.keys(JSON.parse(up[0] ?? '{}') as object), ['action', 'nonce'], 'a challenge first');
    const auth = JSON.parse(up[1] ?? '{}') as Record<string, unknown>;
    assert.deepEqual([auth['action'], auth['seal'], typeof auth['proof']], ['auth', true, 'string']);
    assert.ok(!tap.seen.up.includes(token) && !tap.seen.down.includes(token), 'the token never crossed');
    const sealed = /^\{"mac":"[0-9a-f]{32}",/;
    assert.ok(up.length > 4 && up.slice(2).every((l) => sealed.test(l)), 'every hub frame after its auth is sealed');
    assert.ok(down.length > 4 && down.slice(2).every((l) => sealed.test(l)), 'every board frame after its auth reply is sealed');

    // Someone on the path writes a command of their own: the board closes the link, runs nothing.
    const links = (await hub.facade.events({ device: 'pi', type: 'online' })).length;
    tap.inject('up', '{"action":"write_pin","pin":15,"value":1,"timeout":5}\n');
    await eventually(async () => ((await hub.facade.events({ device: 'pi', type: 'online' })).length > links && online() ? true : undefined), 'linked again', 10_000);
    assert.equal(hardware.gpio.level(15), 0, 'the injected write never ran');
  });

  test('security: pull mode does not link to a device at the address that cannot prove the token, and sends it nothing else', TEST, async () => {
    const token = 'pull-mode-board-token-0123456789';
    const actions: unknown[] = [];
    const sockets = new Set<net.Socket>();
    const impostor = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      const decoder = new LineDecoder(1 << 16);
      socket.on('data', (chunk: Buffer) =>
        decoder.push(chunk, {
          frame: (bytes) => {
            const decoded = decodeFrame(bytes);
            const request = decoded.ok ? decoded.message : {};
            actions.push(request['action']);
            if (request['action'] === 'challenge') socket.write(encodeFrame({ ...request, nonce: newNonce(), ok: true }));
            // Accepts any proof, as a fake would, but can only guess the board's.
            else if (request['action'] === 'auth') socket.write(encodeFrame({ ...request, proof: '***', scope: 'admin', board_proof: 'ab'.repeat(32), ok: true }));
          },
          oversize: () => socket.destroy(),
        }),
      );
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => impostor.close(() => resolve()));
    });
    const hub = await startTestHub({ config: { devices: [{ id: 'pi', address: `127.0.0.1:${(impostor.address() as net.AddressInfo).port}`, token }] } });
    cleanups.push(() => hub.close());
    await eventually(() => (actions.filter((a) => a === 'auth').length >= 2 ? true : undefined), 'dialed twice', 10_000);
    assert.equal(hub.facade.devices().find((d) => d.id === 'pi')?.online, false);
    assert.deepEqual((await hub.facade.events({ device: 'pi', type: 'online' })), []);
    assert.deepEqual([...new Set(actions)].sort(), ['auth', 'challenge'], 'nothing but challenge and auth reached it');
  });
});
