// The hub's link port under load (protocol.md §10.8): connections in their handshake are bounded
// per address with the oldest silent one giving way, a handshake has 5 s, and an address whose
// hellos keep being refused is answered rate_limited for a while, with one log line a minute.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ManualClock, type Clock } from '../../src/common/clock.js';
import type { Logger } from '../../src/device/logger.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { LINK_VERSION } from '../../src/protocol/link/messages.js';
import { REFUSAL_LIMITS, RefusalLimiter } from '../../src/hub/refusal-limiter.js';
import { startLinkedBoard, untilLinked } from '../support/linked-board.js';
import { fileLimit, loopbackSources, startFlood } from '../support/link-flood.js';
import { openRawLink, type RawLink } from '../support/raw-link.js';
import { eventually, tempDataDir } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface HubRig {
  hub: Hub;
  warn: string[];
}

async function hubOn(clock?: Clock): Promise<HubRig> {
  const warn: string[] = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => warn.push(m), error: (m) => warn.push(m) };
  const config = parseHubConfig(
    { data: tempDataDir(), retention_days: 0, link: { host: '127.0.0.1', port: 0, keepalive_ms: 200 }, http: { host: '127.0.0.1', port: 0 } },
    'test hub',
  );
  const hub = await startHub({ config, logger, ...(clock !== undefined ? { clock } : {}) });
  cleanups.push(() => hub.close());
  return { hub, warn };
}

async function raw(port: number): Promise<RawLink> {
  const link = await openRawLink(port);
  cleanups.push(() => link.close());
  return link;
}

/** A silent TCP connection from `localAddress`; resolves once connected. */
async function silent(port: number, localAddress = '127.0.0.1'): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  cleanups.push(() => void socket.destroy());
  let closed = false;
  socket.once('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed: () => closed };
}

/**
 * A hello for a device the hub does not know: refused as `unauthorized`. It carries both the
 * token of link protocol 1 and the nonce of later versions, so it is a well-formed hello either way.
 */
function strangerHello(deviceId = 'nobody'): object {
  return { link: 'hello', protocol: LINK_VERSION, device_id: deviceId, token: 'not-a-registered-token', nonce: '0'.repeat(32), boot_id: 'boot-1' };
}

async function answerTo(port: number, hello: object): Promise<JsonObject | undefined> {
  const link = await raw(port);
  link.send(hello);
  await link.closed;
  return link.frames[0];
}

const codeOf = (frame: JsonObject | undefined) => (frame?.['error'] as JsonObject | undefined)?.['code'];

describe('security: the hub link port under a flood (real clock)', { timeout: 60_000 }, () => {
  test('security: a board links during a flood of silent hub connections', async () => {
    const { hub } = await hubOn();
    const { token } = await hub.store.addDevice('bench');
    // 40 addresses hold more than 256 handshakes between them, so both bounds are at work.
    const sources = await loopbackSources(40);
    // Each flood socket costs this process one descriptor until the hub closes its end.
    const count = Math.min(1_200, fileLimit() - 600);
    const flood = await startFlood({ port: hub.link.port, count, sources });
    cleanups.push(() => flood.stop());
    assert.ok(flood.connected >= Math.min(1_000, count), `the flood opened ${flood.connected} of ${count}`);
    const held = () => sources.reduce((sum, s) => sum + flood.openFrom(s), 0);
    await eventually(() => (held() <= 256 ? true : undefined), `the hub holds at most 256 silent handshakes (${held()} open)`);
    for (const source of sources) assert.ok(flood.openFrom(source) <= 8, `${flood.openFrom(source)} open from ${source}`);
    // A real board dials in from 127.0.0.1, an address the flood fills too.
    const linked = await startLinkedBoard({ port: hub.link.port, token, id: 'bench' });
    cleanups.push(() => linked.close());
    await untilLinked(linked.link, 10_000); // a hang guard: the time is measured by npm run bench:flood
    await eventually(async () => ((await hub.deviceLink('bench'))?.online === true ? true : undefined), 'online');
  });
});

describe('security: the hub link port bounds handshakes (manual clock)', { timeout: 60_000 }, () => {
  test('security: at most 8 connections per address in their handshake; the oldest silent one gives way, one that has spoken does not', async () => {
    const { hub } = await hubOn(new ManualClock());
    const port = hub.link.port;
    const pause = () => new Promise((r) => setTimeout(r, 50)); // for the hub to read what was written
    const first: Array<Awaited<ReturnType<typeof silent>>> = [];
    for (let i = 0; i < 8; i++) first.push(await silent(port));
    // The newer half start a hello: they are no longer silent.
    for (const c of first.slice(4)) c.socket.write('{"link":"hel');
    await pause();
    const more: Array<Awaited<ReturnType<typeof silent>>> = [];
    for (let i = 0; i < 4; i++) more.push(await silent(port));
    await eventually(() => (first.slice(0, 4).every((c) => c.closed()) ? true : undefined), 'the four silent ones closed');
    assert.deepEqual(
      [...first, ...more].map((c) => c.closed()),
      [true, true, true, true, false, false, false, false, false, false, false, false],
      'the silent ones gave way, oldest first; those that spoke and the newcomers stay',
    );
    for (const c of more) c.socket.write('{"link":"hel');
    await pause();
    // Every slot of 127.0.0.1 is held by a connection that has spoken: a newcomer is closed at once.
    const refused = await silent(port);
    await eventually(() => (refused.closed() ? true : undefined), 'the newcomer closed');
    // Another address has slots of its own.
    const other = await silent(port, '127.0.0.2').catch(() => undefined);
    await pause();
    assert.equal(other?.closed() ?? false, false);
    assert.equal([...first.slice(4), ...more].some((c) => c.closed()), false);
  });

  test('security: a handshake has 5 s, silent or not', async () => {
    const clock = new ManualClock();
    const { hub } = await hubOn(clock);
    const quiet = await silent(hub.link.port);
    const slow = await silent(hub.link.port);
    slow.socket.write('{"link":"hello",');
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(quiet.closed() || slow.closed(), false, 'not before 5 s');
    await clock.advance(1);
    await eventually(() => (quiet.closed() && slow.closed() ? true : undefined), 'both closed at 5 s');
  });

  test('security: a blank line before the hello is skipped at once', async () => {
    // The hub's clock never moves: an answer here cannot come from a timeout.
    const { hub } = await hubOn(new ManualClock());
    const blank = await raw(hub.link.port);
    blank.sendBytes(`\r\n\n${JSON.stringify(strangerHello())}\n`);
    const reply = await blank.waitFor(() => true, 'an answer to the hello');
    assert.ok(reply['link'] === 'challenge' || codeOf(reply) === 'unauthorized', JSON.stringify(reply));
  });

  test('security: a TLS ClientHello on the plain link port is closed at once, unanswered', async () => {
    const { hub } = await hubOn(new ManualClock());
    const tlsHello = await raw(hub.link.port);
    tlsHello.sendBytes(Buffer.from('16030100a5010000a10303', 'hex'));
    await tlsHello.closed;
    assert.deepEqual(tlsHello.frames, []);
  });

  test('security: after 5 refused hellos from an address the 6th is answered rate_limited, and the log has one line for them', async () => {
    const clock = new ManualClock();
    const { hub, warn } = await hubOn(clock);
    const { token } = await hub.store.addDevice('bench');
    const port = hub.link.port;
    for (let i = 0; i < 5; i++) assert.equal(codeOf(await answerTo(port, strangerHello())), 'unauthorized', `hello ${i + 1}`);
    const limited = await answerTo(port, strangerHello());
    assert.equal(codeOf(limited), 'rate_limited', JSON.stringify(limited));
    assert.match(String((limited?.['error'] as JsonObject)['message']), /try again in 30 s/);
    // The block is per address, before any token or proof is looked at: the real board waits too.
    assert.equal(codeOf(await answerTo(port, { ...strangerHello('bench'), token })), 'rate_limited');
    const refusedLines = () => warn.filter((l) => l.includes('refused') && l.includes('127.0.0.1'));
    assert.equal(refusedLines().length, 1, warn.join('\n'));
    assert.match(refusedLines()[0] ?? '', /refused 1 hello from 127\.0\.0\.1/);

    // After 30 s hellos are looked at again; 5 more refusals block it for twice as long.
    await clock.advance(30_000);
    for (let i = 0; i < 5; i++) assert.equal(codeOf(await answerTo(port, strangerHello())), 'unauthorized', `hello ${i + 1} after the block`);
    assert.match(String(((await answerTo(port, strangerHello()))?.['error'] as JsonObject)['message']), /try again in 60 s/);
    // A minute after the first line, one more line counts the rest.
    await clock.advance(30_000);
    assert.equal(refusedLines().length, 2, warn.join('\n'));
    assert.match(refusedLines()[1] ?? '', /refused 12 hellos from 127\.0\.0\.1 in the last minute .*rate_limited for \d+ s more/);
  });

  test('security: malformed hellos and other versions keep their own answer and are not counted', async () => {
    const { hub } = await hubOn(new ManualClock());
    const port = hub.link.port;
    for (let i = 0; i < 6; i++) assert.equal(codeOf(await answerTo(port, { ...strangerHello(), protocol: 99 })), 'unsupported', `hello ${i + 1}`);
    for (let i = 0; i < 6; i++) assert.equal(codeOf(await answerTo(port, { link: 'hello' })), 'missing_field', `hello ${i + 1}`);
    assert.equal(codeOf(await answerTo(port, strangerHello())), 'unauthorized');
  });
});

describe('security: RefusalLimiter', { timeout: 30_000 }, () => {
  const refusal = { code: 'unauthorized', message: 'unknown device or wrong token' } as const;

  test('security: each block is twice as long as the one before, up to 5 minutes, and only unauthorized counts', async () => {
    const clock = new ManualClock();
    const limiter = new RefusalLimiter({ clock, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    cleanups.push(() => limiter.close());
    const blocks: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) limiter.refused('10.0.0.5', refusal);
      assert.equal(limiter.limited('10.0.0.5'), undefined, `round ${round}: 4 are not enough`);
      limiter.refused('10.0.0.5', { code: 'bad_field', message: 'malformed' });
      assert.equal(limiter.limited('10.0.0.5'), undefined, `round ${round}: a malformed hello is not counted`);
      limiter.refused('10.0.0.5', refusal);
      const left = limiter.limited('10.0.0.5') ?? 0;
      blocks.push(left);
      assert.equal(limiter.limited('10.0.0.6'), undefined, 'another address is not blocked');
      await clock.advance(left);
    }
    assert.deepEqual(blocks, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    assert.equal(REFUSAL_LIMITS.maxBackoffMs, 300_000);
  });

  test('security: refusals spread over more than a minute do not block', async () => {
    const clock = new ManualClock();
    const limiter = new RefusalLimiter({ clock, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    cleanups.push(() => limiter.close());
    for (let i = 0; i < 12; i++) {
      limiter.refused('10.0.0.5', refusal);
      await clock.advance(15_000);
    }
    assert.equal(limiter.limited('10.0.0.5'), undefined);
  });
});
