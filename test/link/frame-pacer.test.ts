// Connections share the event loop (src/link/frame-pacer.ts): a connection flooding frames is
// handled a slice at a time, its socket paused meanwhile, so another connection's frame and an
// HTTP request are answered while its backlog waits, and the flood itself arrives whole and in order.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { SystemClock } from '../../src/common/clock.js';
import { FramePacer, type PacedReader } from '../../src/link/frame-pacer.js';
import { LinkChannel } from '../../src/link/channel.js';
import { Inbound } from '../../src/link/inbound.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { Outbox } from '../../src/protocol/link/reliable.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A connected pair on loopback: the client's socket and the server's. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
  client.on('error', () => undefined);
  const socket = await accepted;
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => void client.destroy());
  cleanups.push(() => void socket.destroy());
  return { client, server: socket };
}

/** A hub-side channel (deliveries handed over at once) that reports each message it delivers. */
function receiving(socket: net.Socket, pacer: FramePacer, deliver: (body: JsonObject, seq: number) => void): LinkChannel {
  const channel = new LinkChannel(
    socket,
    { outbox: new Outbox<JsonObject>({ capacity: 100, window: 64 }), inbound: new Inbound(0, { pipelined: true }) },
    { keepaliveMs: 60_000, outageMs: 600_000, clock: new SystemClock(), pacer },
    { deliver, closed: () => undefined },
  );
  channel.start(0);
  cleanups.push(() => channel.close());
  return channel;
}

/** `count` numbered messages as one write, from seq `from` on. */
function flood(from: number, count: number): string {
  let text = '';
  for (let seq = from; seq < from + count; seq++) text += `${JSON.stringify({ link: 'msg', seq, body: { event: 'reading', n: seq } })}\n`;
  return text;
}

const FLOOD = 5000;

describe('link: connections share the event loop', { timeout: 30_000 }, () => {
  test('another connection is heard, and an HTTP request answered, while a flood waits its turns', async () => {
    const pacer = new FramePacer({ slice: 4, framesPerTurn: 8 });
    const flooder = await pair();
    const other = await pair();
    const web = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => web.close(r)));

    let flooded = 0;
    let floodedWhenOtherHeard: number | undefined;
    let floodedWhenHttpAnswered: number | undefined;
    let answered: Promise<void> | undefined;
    receiving(flooder.server, pacer, () => {
      flooded++;
      if (flooded !== 1) return;
      // The flood has begun: now the other board speaks, and someone asks the web server.
      other.client.write(flood(1, 1));
      answered = new Promise<void>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: (web.address() as net.AddressInfo).port, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('end', () => {
            floodedWhenHttpAnswered = flooded;
            resolve();
          });
        }).on('error', reject);
      });
    });
    const heard = new Promise<void>((resolve) => receiving(other.server, pacer, () => {
      floodedWhenOtherHeard = flooded;
      resolve();
    }));
    flooder.client.write(flood(1, FLOOD));
    await heard;
    await answered;
    // Counted in frames, not time: a few turns of 8 frames each passed, not the flood's 5,000.
    assert.ok(floodedWhenOtherHeard !== undefined && floodedWhenOtherHeard <= 100, `the other board was heard after ${floodedWhenOtherHeard} flood frames`);
    assert.ok(floodedWhenHttpAnswered !== undefined && floodedWhenHttpAnswered <= 1000, `the HTTP request was answered after ${floodedWhenHttpAnswered} flood frames`);
  });

  test("a connection's share of a turn ends when the turn's time is spent, after its first frame: frames differ in cost", async () => {
    // A pacer that queues every arrival: the test hands out the turns itself.
    const holding = { arrived: () => true } as unknown as FramePacer;
    const { client, server } = await pair();
    const seqs: number[] = [];
    const channel = receiving(server, holding, (_body, seq) => void seqs.push(seq));
    client.write(flood(1, 5));
    for (let i = 0; i < 200 && channel.backlog < 5; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(channel.backlog, 5, 'the five frames wait their turn');
    assert.equal(channel.drain(10, performance.now() - 1), 1, 'the turn is over already: one frame all the same, so every connection moves on');
    assert.deepEqual(seqs, [1]);
    assert.equal(channel.drain(10, Number.POSITIVE_INFINITY), 4, 'time left: up to the slice');
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
  });

  test('a flood is paused and resumed with nothing lost or reordered', async () => {
    const pacer = new FramePacer({ slice: 16, framesPerTurn: 64 });
    const { client, server } = await pair();
    const seqs: number[] = [];
    let pausedSeen = false;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => (done = r));
    receiving(server, pacer, (body, seq) => {
      assert.equal(body['n'], seq);
      seqs.push(seq);
      if (server.isPaused()) pausedSeen = true;
      if (seqs.length === 2 * FLOOD) done();
    });
    client.write(flood(1, FLOOD));
    // A second burst while the first still waits: it queues behind it in the socket.
    client.write(flood(FLOOD + 1, FLOOD));
    await all;
    assert.ok(pausedSeen, 'the socket was paused while its backlog waited');
    assert.deepEqual(seqs, Array.from({ length: 2 * FLOOD }, (_, i) => i + 1));
    assert.equal(pacer.waiting, 0);
    assert.equal(server.isPaused(), false, 'the socket reads again once its backlog is handled');
  });

  test('waiting connections are served round-robin, a slice each, and a few small frames at once', async () => {
    const pacer = new FramePacer({ slice: 4, framesPerTurn: 4, sparse: 2, sparseBytes: 1000, msPerTurn: Number.POSITIVE_INFINITY });
    const log: string[] = [];
    /** A connection with `frames` waiting that logs each one it handles. */
    const reader = (name: string, frames: number, bytesEach = 100): PacedReader => {
      let left = frames;
      return {
        drain: (max) => {
          const n = Math.min(max, left);
          for (let i = 0; i < n; i++) log.push(`${name}${frames - left + i + 1}`);
          left -= n;
          return n;
        },
        get backlogged() {
          return left > 0;
        },
        get backlog() {
          return left;
        },
        get backlogBytes() {
          return left * bytesEach;
        },
      };
    };
    const turn = () => new Promise((r) => setImmediate(r));
    assert.equal(pacer.arrived(reader('a', 10)), true, 'a handles its slice and queues the rest');
    assert.equal(pacer.arrived(reader('b', 6)), true, "the turn's share is spent: b waits whole");
    assert.equal(pacer.arrived(reader('c', 2)), false, 'two frames are handled at once all the same');
    assert.equal(pacer.arrived(reader('d', 1, 1500)), true, 'but not one frame larger than sparseBytes (a batch): d waits its turn');
    assert.deepEqual(log.splice(0), ['a1', 'a2', 'a3', 'a4', 'c1', 'c2']);
    await turn();
    assert.deepEqual(log.splice(0), ['a5', 'a6', 'a7', 'a8']);
    await turn();
    assert.deepEqual(log.splice(0), ['b1', 'b2', 'b3', 'b4']);
    await turn();
    assert.deepEqual(log.splice(0), ['d1', 'a9', 'a10', 'b5']);
    await turn();
    assert.deepEqual(log.splice(0), ['b6']);
    assert.equal(pacer.waiting, 0);
  });
});
