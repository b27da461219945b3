// Fault injection: the FaultProxy itself, checked against a tiny echo server on real sockets.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { FaultProxy } from './fault-proxy.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Echoes every byte back and ends when the client ends; counts what it saw. */
interface Echo {
  port: number;
  connections: number;
  dataEvents: number;
  closes: number;
}

async function startEcho(): Promise<Echo> {
  const sockets = new Set<net.Socket>();
  const echo: Echo = { port: 0, connections: 0, dataEvents: 0, closes: 0 };
  const server = net.createServer((socket) => {
    echo.connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('data', () => echo.dataEvents++);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      echo.closes++;
      sockets.delete(socket);
    });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  echo.port = (server.address() as net.AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return echo;
}

/** A raw client that records every 'data' chunk and whether the socket closed. */
class Probe {
  readonly chunks: Buffer[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  static connect(port: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        const probe = new Probe(socket);
        cleanups.push(() => void socket.destroy());
        resolve(probe);
      });
      socket.once('error', reject);
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  async waitBytes(n: number, timeoutMs = 2000): Promise<Buffer> {
    await until(() => this.received.length >= n, timeoutMs, () => `got ${this.received.length} of ${n} bytes`);
    return this.received;
  }

  async waitClosed(timeoutMs = 2000): Promise<void> {
    await until(() => this.closed, timeoutMs, () => 'socket still open');
  }
}

async function until(done: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${why()}`);
    await sleep(5);
  }
}

async function setup(seed?: number): Promise<{ echo: Echo; proxy: FaultProxy }> {
  const echo = await startEcho();
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: echo.port }, seed });
  cleanups.push(() => proxy.close());
  return { echo, proxy };
}

/** Sends one line and waits for its echo, proving the path works end to end. */
async function roundTrip(probe: Probe, line: string): Promise<void> {
  const before = probe.received.length;
  await probe.write(line);
  const got = await probe.waitBytes(before + Buffer.byteLength(line));
  assert.equal(got.subarray(before).toString('utf8'), line);
}

describe('fault injection: FaultProxy', { timeout: 30_000 }, () => {
  test('passes a 1 MB payload both ways intact, then passes on the end', async () => {
    const { proxy } = await setup();
    const probe = await Probe.connect(proxy.port);
    const payload = randomBytes(1 << 20);
    await probe.write(payload);
    const got = await probe.waitBytes(payload.length, 5000);
    assert.ok(got.equals(payload));
    assert.deepEqual(proxy.bytes, { up: payload.length, down: payload.length });
    assert.equal(proxy.connections, 1);
    assert.equal(proxy.active, 1);
    probe.socket.end();
    await probe.waitClosed();
    await until(() => proxy.active === 0, 2000, () => `${proxy.active} still active`);
    assert.equal(proxy.swallowed, 0);
  });

  test('split mode delivers the same bytes in more chunks, cutting inside UTF-8 characters', async () => {
    const { echo, proxy } = await setup(7);
    proxy.setSplit(true);
    const probe = await Probe.connect(proxy.port);
    const line = 'Grüße, 温度 🌡️ 21.5 °C\n';
    const sent = 20;
    for (let i = 0; i < sent; i++) await roundTrip(probe, line);
    assert.equal(probe.received.toString('utf8'), line.repeat(sent));
    assert.ok(echo.dataEvents > sent, `server saw ${echo.dataEvents} chunks for ${sent} writes`);
    assert.ok(probe.chunks.length > sent, `client saw ${probe.chunks.length} chunks for ${sent} writes`);
    const insideCharacter = probe.chunks.slice(1).some((c) => ((c[0] ?? 0) & 0xc0) === 0x80);
    assert.ok(insideCharacter, 'no chunk started in the middle of a multi-byte character');
  });

  test('delay mode delays each chunk by at least the delay and keeps the order', async () => {
    const { proxy } = await setup();
    const delay = 60;
    proxy.setDelay(delay, 40);
    const probe = await Probe.connect(proxy.port);
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}\n`);
    const start = performance.now();
    let firstEcho = 0;
    probe.socket.once('data', () => (firstEcho = performance.now()));
    for (const line of lines) {
      await probe.write(line);
      await sleep(3); // separate chunks, so that jitter could reorder them if order were not kept
    }
    const expected = lines.join('');
    const got = await probe.waitBytes(Buffer.byteLength(expected));
    assert.equal(got.toString('utf8'), expected);
    // Up and down each wait at least the delay; only lower bounds, so a slow machine cannot fail it.
    assert.ok(firstEcho - start >= 2 * delay, `first echo after ${firstEcho - start} ms`);
  });

  test('blackhole swallows bytes without closing; after heal only new connections work', async () => {
    const { echo, proxy } = await setup();
    const old = await Probe.connect(proxy.port);
    await roundTrip(old, 'before\n');
    const echoedBefore = old.received.length;

    proxy.blackhole();
    await old.write('x'.repeat(100));
    const during = await Probe.connect(proxy.port);
    await during.write('y'.repeat(50));
    await sleep(150);
    assert.equal(old.received.length, echoedBefore, 'an echo got through the blackhole');
    assert.equal(during.received.length, 0, 'a new connection got an echo during the blackhole');
    assert.equal(old.closed, false);
    assert.equal(during.closed, false);
    assert.equal(echo.closes, 0, 'the target side saw a close');
    assert.equal(echo.connections, 1, 'a connection reached the target during the blackhole');
    assert.equal(proxy.swallowed, 150);
    assert.equal(proxy.active, 2);

    proxy.heal();
    const fresh = await Probe.connect(proxy.port);
    await roundTrip(fresh, 'after\n');
    await old.write('z'.repeat(10));
    await during.write('w'.repeat(10));
    await sleep(100);
    assert.equal(old.received.length, echoedBefore, 'the old connection came back to life');
    assert.equal(during.received.length, 0, 'the connection made during the blackhole came back to life');
    assert.equal(old.closed, false);
    assert.equal(proxy.swallowed, 170);
  });

  test('blackhole(ms) heals by itself', async () => {
    const { proxy } = await setup();
    const old = await Probe.connect(proxy.port);
    await roundTrip(old, 'before\n');
    proxy.blackhole(100);
    await sleep(150);
    const fresh = await Probe.connect(proxy.port);
    await roundTrip(fresh, 'after\n');
    await old.write('lost\n');
    await sleep(50);
    assert.equal(old.received.toString('utf8'), 'before\n');
    assert.equal(old.closed, false);
  });

  test('dropAll closes the client side promptly', async () => {
    const { echo, proxy } = await setup();
    const probe = await Probe.connect(proxy.port);
    await roundTrip(probe, 'hello\n');
    proxy.dropAll();
    assert.equal(proxy.active, 0);
    await probe.waitClosed();
    await until(() => echo.closes === 1, 2000, () => 'the target side is still open');
    const next = await Probe.connect(proxy.port);
    await roundTrip(next, 'again\n');
  });

  test('refuse closes new connections immediately, and lets them in again when off', async () => {
    const { echo, proxy } = await setup();
    proxy.refuse(true);
    const refused = await Probe.connect(proxy.port);
    await refused.waitClosed();
    assert.equal(refused.received.length, 0);
    assert.equal(echo.connections, 0);
    assert.equal(proxy.connections, 1);
    assert.equal(proxy.active, 0);
    proxy.refuse(false);
    const accepted = await Probe.connect(proxy.port);
    await roundTrip(accepted, 'in\n');
    assert.equal(proxy.connections, 2);
  });

  test('close is idempotent and closes the client side', async () => {
    const { proxy } = await setup();
    const probe = await Probe.connect(proxy.port);
    await roundTrip(probe, 'hi\n');
    await Promise.all([proxy.close(), proxy.close()]);
    await proxy.close();
    await probe.waitClosed();
  });
});
