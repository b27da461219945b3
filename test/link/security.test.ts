// The board's side of the link against a hostile LAN (protocol.md §10.5, §10.6; docs/security.md):
// a fake hub gets neither the token nor a board proof and runs nothing on the board; a frame
// injected or altered on the path closes the link with nothing in it run, and the streams
// resume without losing or doubling a message; a pinned TLS hub certificate is the only one
// the board talks to.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import type { Logger } from '../../src/device/logger.js';
import type { Hub } from '../../src/hub/hub.js';
import { fingerprintOfPem } from '../../src/link/tls-pin.js';
import { keyOfToken, newNonce } from '../../src/protocol/auth.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { loadTestCert } from '../client/tls-cert.js';
import { LinkRecorder } from '../support/link-recorder.js';
import { startLinkedBoard, untilLinked, type LinkedBoard } from '../support/linked-board.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TWO_RELAYS = {
  name: 'shed',
  pins: [
    { pin: 15, name: 'relay', mode: 'output', value: 0 },
    { pin: 16, name: 'pump', mode: 'output', value: 0 },
  ],
};

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => void lines.push(m);
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines };
}

async function board(port: number, token: string, logger: Logger, extra: Partial<Parameters<typeof startLinkedBoard>[0]> = {}): Promise<LinkedBoard & { writes: Array<[number, number]> }> {
  const linked = await startLinkedBoard({ port, token, id: 'shed', config: TWO_RELAYS, logger, ...extra });
  cleanups.push(() => linked.close());
  // Every level the board drives onto a pin from now on: what a command that ran would leave.
  const writes: Array<[number, number]> = [];
  const gpio = linked.hardware.gpio;
  const write = gpio.write.bind(gpio);
  gpio.write = (pin, level) => {
    writes.push([pin, level]);
    write(pin, level);
  };
  return Object.assign(linked, { writes });
}

async function testHub(options: Parameters<typeof startTestHub>[0] = {}): Promise<Hub> {
  const hub = await startTestHub(options);
  cleanups.push(() => hub.close());
  return hub;
}

/** A plain TCP server posing as a hub: hands each connection's first line to `answer`, and records every line it receives. */
async function fakeHub(answer: (socket: net.Socket, hello: Buffer) => void): Promise<{ port: number; received: Buffer[]; hellos: () => number }> {
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    let first = true;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let nl = pending.indexOf(0x0a); nl !== -1; nl = pending.indexOf(0x0a)) {
        const line = Buffer.from(pending.subarray(0, nl));
        pending = pending.subarray(nl + 1);
        received.push(line);
        if (first) answer(socket, line);
        first = false;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  return { port, received, hellos: () => received.filter((l) => parse(l)['link'] === 'hello').length };
}

const parse = (line: Buffer): JsonObject => JSON.parse(line.toString('utf8')) as JsonObject;

/** What a board sent a hub that did not prove itself: hellos and nothing else, no token, no key, no proof. */
function assertNothingLeaked(received: Buffer[], token: string): void {
  assert.ok(received.length >= 2, `${received.length} lines`);
  const all = Buffer.concat(received).toString('utf8');
  assert.ok(!all.includes(token), 'the token never crossed the network');
  assert.ok(!all.includes(keyOfToken(token).toString('hex')), 'nor the key');
  for (const line of received) {
    const message = parse(line);
    assert.equal(message['link'], 'hello', `only hellos: ${line.toString()}`);
    assert.ok(!('token' in message) && !('proof' in message), line.toString());
  }
}

const NOT_PROVEN = /^hub 127\.0\.0\.1:\d+ did not prove it knows this board's key \(a fake hub, or the token differs from the hub's registration\)/;

describe('security: a board in hub mode and a fake hub', { timeout: 60_000 }, () => {
  test('security: a fake hub gets no token and no command runs', async () => {
    const token = 'the-real-board-token-0123456789';

    // A fake hub that answers the hello with a made-up challenge, then at once with a welcome
    // and a command, as if the board had trusted it.
    const bogus = await fakeHub((socket) => {
      socket.write(`${JSON.stringify({ link: 'challenge', nonce: newNonce(), proof: newNonce() + newNonce() })}\n`);
      socket.write('{"link":"welcome","protocol":2,"session":"s","keepalive_ms":1000,"outage_ms":3500,"stream":"evil","ack":0}\n');
      socket.write('{"link":"msg","seq":1,"ack":0,"body":{"action":"write_pin","pin":16,"value":1,"timeout":30,"id":"evil"}}\n');
    });
    const log = recordingLogger();
    const first = await board(bogus.port, token, log.logger);
    await eventually(() => (bogus.hellos() >= 3 ? true : undefined), 'three hellos');
    await pause(50);
    assertNothingLeaked(bogus.received, token);
    assert.notEqual(first.link.state, 'up');
    assert.deepEqual(first.writes, [], 'no command ran');
    const refusals = log.lines.filter((l) => NOT_PROVEN.test(l));
    assert.ok(refusals.length >= 2, log.lines.join('\n'));
    assert.match(refusals[0] ?? '', /its proof is wrong; nothing from it was run/);
    // Each refusal raises the backoff's ceiling (the test board's jitter is one half): 50, 100, 200 ms…
    const waits = refusals.map((l) => Number(/trying again in (\d+) ms/.exec(l)?.[1]));
    assert.deepEqual(waits.slice(0, 3), [50, 100, 200].slice(0, waits.length));
    await first.close();

    // A fake hub that replays what a real hub said to this board: its challenge, its sealed
    // welcome and its sealed commands, one of them a write.
    const hub = await testHub();
    const registered = (await hub.store.addDevice('shed')).token;
    const path = await LinkRecorder.start({ host: '127.0.0.1', port: hub.link.port });
    cleanups.push(() => path.close());
    const replayLog = recordingLogger();
    const second = await board(path.port, registered, replayLog.logger);
    await untilLinked(second.link);
    const reply = await hub.facade.command('shed', { action: 'write_pin', pin: 16, value: 1, timeout: 0.2 });
    assert.equal(reply['ok'], true);
    await eventually(async () => (await hub.facade.events({ device: 'shed', type: 'lease_expired' }))[0], 'the lease ended');
    const recorded = [...(path.connections[0]?.down ?? [])];
    assert.equal(parse(recorded[0] as Buffer)['link'], 'challenge', 'the real hub proved first');
    assert.ok(recorded.some((l) => l.includes('"write_pin"')), 'the write is in what is replayed');
    const writesBefore = second.writes.length;
    const helloToHub = parse(path.lines('up').at(0) as Buffer);

    const replay = await fakeHub((socket) => {
      for (const line of recorded) socket.write(Buffer.concat([line, Buffer.from('\n')]));
    });
    path.target = { host: '127.0.0.1', port: replay.port };
    path.dropAll();
    await eventually(() => (replay.hellos() >= 2 ? true : undefined), 'two hellos to the replaying hub');
    await pause(50);
    assertNothingLeaked(replay.received, registered);
    assert.equal(second.writes.length, writesBefore, 'nothing replayed ran');
    assert.ok(replayLog.lines.some((l) => NOT_PROVEN.test(l)), replayLog.lines.join('\n'));

    // Back to the real hub: what the board says of its link state did not move.
    const hellosToFake = replay.received.map(parse);
    path.target = { host: '127.0.0.1', port: hub.link.port };
    path.dropAll();
    await eventually(async () => ((await hub.facade.events({ device: 'shed', type: 'online' })).length === 2 ? true : undefined), 'linked to the real hub again');
    const helloAfter = parse(path.connections.at(-1)?.up[0] as Buffer);
    assert.deepEqual(helloAfter['rx'], hellosToFake[0]?.['rx'], 'the same rx as before the fake hub');
    assert.equal(helloAfter['boot_id'], helloToHub['boot_id']);
    assert.equal((helloAfter['rx'] as JsonObject)['stream'] !== null, true, "the real hub's stream, not the fake's");
    assert.deepEqual((await hub.facade.events({ device: 'shed', type: 'online', afterId: 0, limit: 10 })).map((e) => e.data['new_boot']), [true, false]);
  });
});

describe('security: the path between a board and the hub', { timeout: 60_000 }, () => {
  test('security: an injected frame on an authenticated plain-TCP link is refused', async () => {
    const hub = await testHub();
    const { token } = await hub.store.addDevice('shed');
    const path = await LinkRecorder.start({ host: '127.0.0.1', port: hub.link.port });
    cleanups.push(() => path.close());
    const log = recordingLogger();
    const linked = await board(path.port, token, log.logger);
    await untilLinked(linked.link);
    await eventually(() => hub.facade.state('shed') ?? undefined, 'the state reported');
    const device = (await hub.deviceLink('shed')) ?? assert.fail('registered');
    const online = async () => (await hub.facade.events({ device: 'shed', type: 'online' })).length;
    let pings = 0;
    const sendPings = async (n: number) => {
      for (let i = 0; i < n; i++) await device.send({ action: 'ping', id: `p${++pings}` });
    };
    await sendPings(5);

    // 1. A well-formed msg with the next number, as the hub would send it but unsealed; then one
    // with a made-up seal. Each closes the link at once; neither runs.
    const nextSeq = () => 1 + Math.max(...path.lines('down').map((l) => Number(parse(l)['seq'] ?? 0)));
    for (const [i, seal] of ['', `"mac":"${newNonce()}",`].entries()) {
      await eventually(async () => ((await online()) === i + 1 && linked.link.state === 'up' ? true : undefined), `linked (${i + 1})`);
      const body = { action: 'write_pin', pin: 16, value: 1, timeout: 30, id: `injected-${i}` };
      path.injectToBoard(`{${seal}"link":"msg","seq":${nextSeq()},"ack":0,"body":${JSON.stringify(body)}}\n`);
      await sendPings(5);
      await eventually(async () => ((await online()) === i + 2 ? true : undefined), `relinked after injection ${i + 1}`);
    }
    assert.ok(log.lines.some((l) => /link closed \(protocol_error: frame \d+ is not sealed/.test(l)), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => /link closed \(protocol_error: frame \d+ failed its MAC/.test(l)), log.lines.join('\n'));

    // 2. One byte of a real command altered on the way: pin 15 becomes pin 16.
    let altered = 0;
    path.alterDown = (line) => {
      const text = line.toString('utf8');
      if (altered > 0 || !text.includes('"write_pin","pin":15')) return line;
      altered++;
      return Buffer.from(text.replace('"pin":15', '"pin":16'), 'utf8');
    };
    const reply = await hub.facade.command('shed', { action: 'write_pin', pin: 15, value: 1, timeout: 30 }, { timeoutMs: 10_000 });
    assert.equal(reply['ok'], true, 'the command ran once the link came back, as the hub sent it');
    assert.equal(altered, 1);
    assert.equal(await online(), 4, 'the altered frame closed the link, and the board came back');
    await sendPings(5);

    // Nothing injected or altered ran; what the hub sent ran once each, in order.
    assert.deepEqual(linked.writes, [[15, 1]]);
    assert.equal(linked.hardware.gpio.level(16), 0);
    const replies = await eventually(async () => {
      const r = (await hub.facade.events({ device: 'shed', type: 'command_reply', afterId: 0, limit: 1000 })).map((e) => String(e.data['id']));
      return r.length >= pings ? r : undefined;
    }, 'every ping answered');
    await pause(100);
    assert.deepEqual((await hub.facade.events({ device: 'shed', type: 'command_reply', afterId: 0, limit: 1000 })).map((e) => String(e.data['id'])), replies);
    assert.deepEqual(replies, Array.from({ length: pings }, (_, i) => `p${i + 1}`), 'each once, in order');
  });
});

describe('security: TLS to the hub, pinned', { timeout: 60_000 }, () => {
  test('security: the board links only to the hub certificate it pins, and closes before the hello otherwise', async () => {
    const cert = loadTestCert();
    const hubLog = recordingLogger();
    const hub = await testHub({
      logger: hubLog.logger,
      config: { link: { host: '127.0.0.1', port: 0, keepalive_ms: 200, tls: { cert: cert.certFile, key: cert.certFile.replace(/cert\.pem$/, 'key.pem') } } },
    });
    const fingerprint = fingerprintOfPem(cert.cert);
    assert.equal(hub.link.fingerprint, fingerprint);
    assert.ok(hubLog.lines.some((l) => l.includes(fingerprint)), 'the hub says what to pin at start');
    const { token } = await hub.store.addDevice('shed');

    // Pinned as openssl prints it (upper case, colons): links, and commands run.
    const asOpenssl = fingerprint.toUpperCase().match(/../g)?.join(':') ?? '';
    const good = await board(hub.link.port, token, recordingLogger().logger, { tls: { fingerprint: asOpenssl } });
    await untilLinked(good.link);
    assert.equal((await hub.facade.command('shed', { action: 'write_pin', pin: 15, value: 1, timeout: 30 }))['ok'], true);
    assert.deepEqual(good.writes, [[15, 1]]);
    await good.close();

    // A pin that differs in one digit: the board closes before it says anything.
    hubLog.lines.length = 0;
    const wrong = `${fingerprint.slice(0, -1)}${fingerprint.endsWith('0') ? '1' : '0'}`;
    const boardLog = recordingLogger();
    const refused = await board(hub.link.port, token, boardLog.logger, { tls: { fingerprint: wrong } });
    await eventually(() => (boardLog.lines.filter((l) => l.includes('presented a TLS certificate')).length >= 2 ? true : undefined), 'two refusals');
    assert.notEqual(refused.link.state, 'up');
    assert.match(
      boardLog.lines.find((l) => l.includes('presented a TLS certificate')) ?? '',
      new RegExp(`^hub 127\\.0\\.0\\.1:\\d+ presented a TLS certificate with fingerprint ${fingerprint}, not the pinned ${wrong}; nothing was sent to it`),
    );
    await pause(50);
    assert.ok(!hubLog.lines.some((l) => l.includes('refused')), 'no hello reached the hub');
    assert.equal((await hub.facade.events({ device: 'shed', type: 'online' })).length, 1, 'only the pinned board linked');
  });
});
