// The link channel over real sockets: pings only when idle, outages found by silence, and
// fault injection: exactly once and in order both ways through dropped connections.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { ManualClock, SystemClock, type Clock } from '../../src/common/clock.js';
import { LinkChannel, type ChannelOptions, type CloseReason, type LinkStreams } from '../../src/link/channel.js';
import { keyOfToken, SEAL_OVERHEAD, SealError } from '../../src/protocol/auth.js';
import { linkSeal } from '../../src/protocol/link/link-auth.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { Inbound } from '../../src/link/inbound.js';
import { Outbox } from '../../src/protocol/link/reliable.js';
import { FaultProxy } from '../support/fault-proxy.js';

const servers: net.Server[] = [];
const proxies: FaultProxy[] = [];
after(async () => {
  for (const p of proxies) await p.close();
  for (const s of servers) await new Promise((r) => s.close(r));
});

function streams(): LinkStreams {
  return { outbox: new Outbox<JsonObject>({ capacity: 100_000, window: 64 }), inbound: new Inbound() };
}

/** A listening server whose accepted sockets are handed out in order, and the port to dial. */
async function listener(): Promise<{ port: number; accepted: () => Promise<net.Socket> }> {
  const queue: net.Socket[] = [];
  const waiters: Array<(s: net.Socket) => void> = [];
  const server = net.createServer((s) => {
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => {
      const s = queue.shift();
      return s ? Promise.resolve(s) : new Promise((r) => waiters.push(r));
    },
  };
}

function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

interface End {
  channel: LinkChannel;
  got: JsonObject[];
  closed: Promise<CloseReason>;
}

function end(socket: net.Socket, s: LinkStreams, clock: Clock, got: JsonObject[], deliver?: (b: JsonObject) => void | Promise<void>): End {
  let onClosed: (r: CloseReason) => void = () => undefined;
  const closed = new Promise<CloseReason>((r) => (onClosed = r));
  const channel = new LinkChannel(socket, s, { keepaliveMs: 1000, outageMs: 3500, clock }, {
    deliver: deliver ?? ((body) => void got.push(body)),
    closed: (reason) => onClosed(reason),
  });
  return { channel, got, closed };
}

/** Counts the link pings a socket receives, before the channel sees them. */
function countPings(socket: net.Socket): () => number {
  let pings = 0;
  socket.on('data', (chunk: Buffer) => {
    pings += chunk.toString().split('\n').filter((l) => l === '{"link":"ping"}').length;
  });
  return () => pings;
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('link channel: keepalive and outage', { timeout: 30_000 }, () => {
  test('pings only when nothing else was sent for a keepalive interval', async () => {
    const clock = new ManualClock();
    const l = await listener();
    const aSock = await dial(l.port);
    const bSock = await l.accepted();
    const pingsAtB = countPings(bSock);
    const a = end(aSock, streams(), clock, []);
    const b = end(bSock, streams(), clock, []);
    a.channel.start(0);
    b.channel.start(0);
    await clock.advance(1000);
    await settle();
    assert.equal(pingsAtB(), 1, 'an idle link pings once per interval');
    for (let i = 0; i < 10; i++) {
      a.channel.send({ n: i });
      await settle();
      await clock.advance(500);
    }
    await settle();
    assert.equal(pingsAtB(), 1, 'a busy link sends no pings');
    assert.equal(b.got.length, 10);
    a.channel.close();
    assert.equal(await b.closed, 'peer_closed');
  });

  test('silence for outage_ms is an outage, even when the socket stays open (black hole)', async () => {
    const clock = new ManualClock();
    const l = await listener();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: l.port } });
    proxies.push(proxy);
    const aSock = await dial(proxy.port);
    const bSock = await l.accepted();
    const a = end(aSock, streams(), clock, []);
    const b = end(bSock, streams(), clock, []);
    a.channel.start(0);
    b.channel.start(0);
    proxy.blackhole();
    a.channel.send({ lost: true });
    await settle();
    await clock.advance(3000);
    assert.equal(a.channel.isOpen, true, 'not yet: 3.5 intervals of silence are needed');
    await clock.advance(600);
    assert.equal(await a.closed, 'outage');
    assert.equal(await b.closed, 'outage');
    assert.equal(b.got.length, 0);
    proxy.heal();
  });
});

describe('fault injection: link channel delivery', { timeout: 30_000 }, () => {
  test('1,000 messages each way arrive once and in order through 20+ dropped connections', { timeout: 60_000 }, async () => {
    const clock = new SystemClock();
    const l = await listener();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: l.port }, seed: 11 });
    proxies.push(proxy);
    const aStreams = streams();
    const bStreams = streams();
    const gotAtA: JsonObject[] = [];
    const gotAtB: JsonObject[] = [];
    const total = 1000;
    let commitFailures = 0;
    // B commits slowly and fails once, as a hub's store might.
    const commitAtB = async (body: JsonObject) => {
      await new Promise((r) => setTimeout(r, Math.random() < 0.05 ? 2 : 0));
      if (body['n'] === 500 && commitFailures++ === 0) throw new Error('disk full');
      gotAtB.push(body);
    };
    let sentA = 0;
    let sentB = 0;
    let connections = 0;
    while (gotAtA.length < total || gotAtB.length < total) {
      connections++;
      proxy.setSplit(connections % 3 === 0);
      const aSock = await dial(proxy.port);
      const bSock = await l.accepted();
      const a = end(aSock, aStreams, clock, gotAtA);
      const b = end(bSock, bStreams, clock, gotAtB, commitAtB);
      // The handshake's job, done by hand here: each side settles what it was still committing,
      // then resumes from what the other committed.
      await Promise.all([aStreams.inbound.settle(), bStreams.inbound.settle()]);
      a.channel.start(bStreams.inbound.committed);
      b.channel.start(aStreams.inbound.committed);
      for (let k = 0; k < 50 && sentA < total; k++) a.channel.send({ n: sentA++ });
      for (let k = 0; k < 50 && sentB < total; k++) b.channel.send({ n: sentB++ });
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 15)));
      proxy.dropAll();
      await Promise.all([a.closed, b.closed]);
    }
    const expected = Array.from({ length: total }, (_, n) => ({ n }));
    assert.deepEqual(gotAtB, expected);
    assert.deepEqual(gotAtA, expected);
    assert.ok(connections >= 20, `only ${connections} connections`);
    assert.equal(commitFailures, 2, 'the failed commit was delivered again, then committed');
  });
});

/** Both seals of one connection, as the handshake derives them. */
function seals() {
  const key = keyOfToken('channel-test-token-0123456789');
  const nonces = { boardNonce: '00112233445566778899aabbccddeeff', hubNonce: 'f0e1d2c3b4a5968778695a4b3c2d1e0f' };
  return { hub: linkSeal(key, nonces, 'hub'), board: linkSeal(key, nonces, 'board') };
}

/** A channel with more options, and what it was closed with. */
function sealedEnd(socket: net.Socket, clock: Clock, extra: Partial<ChannelOptions>) {
  const got: JsonObject[] = [];
  let onClosed: (c: { reason: CloseReason; detail: string; sealFailed: SealError | undefined }) => void = () => undefined;
  const closed = new Promise<{ reason: CloseReason; detail: string; sealFailed: SealError | undefined }>((r) => (onClosed = r));
  const channel = new LinkChannel(socket, streams(), { keepaliveMs: 1000, outageMs: 3500, clock, ...extra }, {
    deliver: (body) => void got.push(body),
    closed: (reason, detail, sealFailed) => onClosed({ reason, detail, sealFailed }),
  });
  return { channel, got, closed };
}

/** Every line a socket receives, raw. */
function lines(socket: net.Socket): Buffer[] {
  const seen: Buffer[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (let nl = pending.indexOf(0x0a); nl !== -1; nl = pending.indexOf(0x0a)) {
      seen.push(Buffer.from(pending.subarray(0, nl)));
      pending = pending.subarray(nl + 1);
    }
  });
  return seen;
}

describe('link channel: sealed frames (protocol.md §10.6)', { timeout: 30_000 }, () => {
  test('every frame both ways goes sealed and arrives opened, pings and acks too', async () => {
    const clock = new ManualClock();
    const l = await listener();
    const boardSock = await dial(l.port);
    const hubSock = await l.accepted();
    const onWire = lines(boardSock);
    const { hub, board } = seals();
    const h = sealedEnd(hubSock, clock, { seal: hub });
    const b = sealedEnd(boardSock, clock, { seal: board });
    h.channel.start(0);
    b.channel.start(0);
    h.channel.send({ action: 'ping', id: 'h1' });
    b.channel.send({ event: 'state', ts: 1 });
    await clock.advance(1000);
    await settle();
    assert.deepEqual(b.got, [{ action: 'ping', id: 'h1' }]);
    assert.deepEqual(h.got, [{ event: 'state', ts: 1 }]);
    assert.ok(onWire.length >= 2);
    assert.ok(onWire.every((line) => /^\{"mac":"[0-9a-f]{32}",/.test(line.toString())), onWire.join('\n'));
    assert.equal(h.channel.isOpen && b.channel.isOpen, true);
    h.channel.close();
    b.channel.close();
  });

  test('a frame injected on the way closes the channel with the SealError, and nothing in it is delivered', async () => {
    const clock = new ManualClock();
    const l = await listener();
    const boardSock = await dial(l.port);
    const hubSock = await l.accepted();
    const { board } = seals();
    const b = sealedEnd(boardSock, clock, { seal: board });
    b.channel.start(0);
    hubSock.write('{"link":"msg","seq":1,"body":{"action":"write_pin","pin":2,"value":1}}\n');
    const closed = await b.closed;
    assert.equal(closed.reason, 'protocol_error');
    assert.ok(closed.sealFailed instanceof SealError);
    assert.match(closed.detail, /^frame 0 is not sealed/);
    assert.deepEqual(b.got, []);
    hubSock.destroy();
  });

  test('a message longer than the peer takes goes out as what tooLong gives, under its own number', async () => {
    const clock = new ManualClock();
    const l = await listener();
    const boardSock = await dial(l.port);
    const hubSock = await l.accepted();
    const onWire = lines(boardSock);
    const { hub, board } = seals();
    const swapped: number[] = [];
    const h = sealedEnd(hubSock, clock, { seal: hub, peerLimit: { maxFrameBytes: 300, tooLong: (seq) => (swapped.push(seq), { action: 'ping', id: `dropped-${seq}` }) } });
    const b = sealedEnd(boardSock, clock, { seal: board });
    h.channel.start(0);
    b.channel.start(0);
    // Sealed, `{"link":"msg","seq":N,"ack":0,"body":{"note":"…"}}` is 41 + 36 + digits of N + the note.
    const exactly = (n: number) => 'x'.repeat(300 - SEAL_OVERHEAD - `{"link":"msg","seq":${n},"ack":0,"body":{"note":""}}`.length);
    h.channel.send({ note: exactly(1) });
    h.channel.send({ note: `${exactly(2)}x` });
    h.channel.send({ note: 'short' });
    await settle();
    assert.deepEqual(swapped, [2], 'one byte over is swapped, exactly the limit is not');
    assert.deepEqual(b.got, [{ note: exactly(1) }, { action: 'ping', id: 'dropped-2' }, { note: 'short' }]);
    assert.equal(onWire[0]?.length, 300);
    assert.ok(onWire.every((line) => line.length <= 300));
    h.channel.close();
    b.channel.close();
  });
});
