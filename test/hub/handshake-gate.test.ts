// The hub's handshake gate under a burst (protocol.md §10.8): a hub that restarts takes back
// thousands of boards in a few turns of its event loop, and those it has not read yet are not
// the silent flood the gate makes room against.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { ManualClock, SystemClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/device/logger.js';
import { HandshakeGate } from '../../src/hub/handshake-gate.js';
import { startLinkServer } from '../../src/hub/link-server.js';
import { keyOfToken, newNonce } from '../../src/protocol/auth.js';
import { linkProofs } from '../../src/protocol/link/link-auth.js';
import { LINK_VERSION } from '../../src/protocol/link/messages.js';

/** What the gate uses of a socket: its address, what it read, its events, and pause, resume, unshift and destroy. */
class FakeSocket extends EventEmitter {
  bytesRead = 0;
  destroyed = false;
  paused = false;
  /** What was put back for the handshake to read. */
  readonly unshifted: string[] = [];
  readonly remotePort = 40_000;
  constructor(readonly remoteAddress: string) {
    super();
  }
  /** The peer sends `text`: read at once (the gate reads a waiting connection). */
  receive(text: string): void {
    this.bytesRead += text.length;
    this.emit('data', Buffer.from(text));
  }
  unshift(chunk: Buffer): void {
    this.unshifted.push(chunk.toString());
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function gateWith(limits: { total: number; perAddress?: number; waiting?: number }) {
  const clock = new ManualClock();
  const gate = new HandshakeGate({ clock, logger: silentLogger, ...limits });
  const started: FakeSocket[] = [];
  const admit = (address: string) => {
    const socket = new FakeSocket(address);
    gate.admit(socket as unknown as net.Socket, () => started.push(socket));
    return socket;
  };
  return { gate, clock, started, admit };
}

test('a burst accepted in one turn is not pushed out as silent: the boards beyond the slots wait for one, newest first', { timeout: 30_000 }, async () => {
  const { gate, started, admit } = gateWith({ total: 4 });
  // Ten boards from ten addresses, accepted before the hub read any of them (their hellos wait in the kernel).
  const burst = Array.from({ length: 10 }, (_, i) => admit(`10.0.0.${i + 1}`));
  assert.deepEqual(
    burst.map((s) => s.destroyed),
    Array(10).fill(false),
    'none of them is closed',
  );
  assert.deepEqual(started, burst.slice(0, 4), 'four have their handshake');
  assert.equal(gate.waitingCount, 6);
  // The hub reads their hellos in its next turn, those waiting too; two handshakes end and their
  // slots go to the newest waiting, their hellos given back to be read by the handshake.
  for (const s of burst) s.receive(`{"link":"hello","device_id":"${s.remoteAddress}"}\n`);
  await nextTurn();
  await nextTurn();
  assert.ok(burst.every((s) => !s.destroyed), 'none was taken for silent');
  gate.release(burst[0] as unknown as net.Socket);
  gate.release(burst[1] as unknown as net.Socket);
  assert.deepEqual(started.slice(4), [burst[9], burst[8]]);
  assert.deepEqual(burst[9]?.unshifted, ['{"link":"hello","device_id":"10.0.0.10"}\n']);
  assert.equal(burst[9]?.listenerCount('data'), 0, 'the handshake reads it now');
  // One waiting board gives up (its board closed the connection): it leaves the room.
  gate.release(burst[4] as unknown as net.Socket);
  assert.equal(gate.waitingCount, 3);
  assert.ok(burst.every((s) => !s.destroyed));
});

test('once the hub has read, a silent connection still gives way to a newcomer', { timeout: 30_000 }, async () => {
  const { started, admit } = gateWith({ total: 2 });
  const quiet = admit('10.0.0.1');
  const spoke = admit('10.0.0.2');
  await nextTurn();
  await nextTurn();
  spoke.bytesRead = 12;
  const board = admit('10.0.0.3');
  assert.equal(quiet.destroyed, true, 'the silent one was closed to make room');
  assert.equal(spoke.destroyed, false);
  assert.deepEqual(started, [quiet, spoke, board]);
});

test('silent connections that waited give way once the hub has read: the flood does not hold more than the slots', { timeout: 30_000 }, async () => {
  const { gate, admit } = gateWith({ total: 2 });
  const flood = Array.from({ length: 6 }, (_, i) => admit(`10.0.1.${i + 1}`));
  assert.equal(gate.waitingCount, 4);
  await nextTurn();
  await nextTurn();
  await nextTurn();
  assert.equal(gate.size, 2);
  assert.equal(gate.waitingCount, 0, 'each waiting one pushed out an older silent one');
  assert.equal(flood.filter((s) => !s.destroyed).length, 2);
});

test('the waiting room is bounded: the oldest waiting connection goes first', { timeout: 30_000 }, () => {
  const { gate, admit } = gateWith({ total: 1, waiting: 2 });
  const [, w1, w2, w3] = Array.from({ length: 4 }, (_, i) => admit(`10.0.2.${i + 1}`));
  assert.equal(gate.waitingCount, 2);
  assert.equal(w1?.destroyed, true, 'the oldest waiting one was closed');
  assert.equal(w2?.destroyed, false);
  assert.equal(w3?.destroyed, false);
});

test('an address holds at most its share, counting those that wait', { timeout: 30_000 }, () => {
  const { gate, admit } = gateWith({ total: 2, perAddress: 3 });
  const mine = Array.from({ length: 4 }, () => admit('10.0.3.1'));
  assert.equal(gate.size, 2);
  assert.equal(gate.waitingCount, 1);
  assert.deepEqual(
    mine.map((s) => s.destroyed),
    [false, false, false, true],
    'the fourth from one address is refused',
  );
});

test('a connection waits no longer than the handshake time', { timeout: 30_000 }, async () => {
  const { gate, clock, admit } = gateWith({ total: 1 });
  admit('10.0.4.1');
  const waiting = admit('10.0.4.2');
  assert.equal(gate.waitingCount, 1);
  await clock.advance(5000);
  assert.equal(waiting.destroyed, true);
  assert.equal(gate.waitingCount, 0);
});

test('when the waiting room is full, a silent waiting connection goes before older ones that spoke', { timeout: 30_000 }, async () => {
  const { gate, admit } = gateWith({ total: 1, waiting: 2 });
  const holder = admit('10.0.5.1');
  const spoke = admit('10.0.5.2');
  const quiet = admit('10.0.5.3');
  holder.bytesRead = 300;
  spoke.bytesRead = 300;
  await nextTurn();
  await nextTurn();
  const newcomer = admit('10.0.5.4');
  assert.equal(quiet.destroyed, true, 'the silent one was closed');
  assert.deepEqual([holder, spoke, newcomer].map((s) => s.destroyed), [false, false, false]);
  assert.equal(gate.waitingCount, 2);
});

test('a waiting connection whose board gives up leaves the room, and no handshake is spent on it', { timeout: 30_000 }, async () => {
  const { gate, started, admit } = gateWith({ total: 1 });
  const holder = admit('10.0.6.1');
  const gaveUp = admit('10.0.6.2');
  const waits = admit('10.0.6.3');
  gaveUp.receive('{"link":"hello"}\n');
  waits.receive('{"link":"hello"}\n');
  holder.bytesRead = 300;
  gaveUp.emit('end'); // its board's handshake timeout passed: it closed the connection
  assert.equal(gaveUp.destroyed, true);
  assert.equal(gate.waitingCount, 1);
  gate.release(holder as unknown as net.Socket);
  await nextTurn();
  assert.deepEqual(started, [holder, waits], 'the slot went to the board still waiting');
});

test('on a real link port with 2 handshake slots, 12 boards that dial at once all get through, their hellos read once their turn came', { timeout: 30_000 }, async () => {
  const key = keyOfToken('a-token');
  const attached: string[] = [];
  const server = await startLinkServer({
    host: '127.0.0.1',
    port: 0,
    clock: new SystemClock(),
    logger: silentLogger,
    keyOf: () => Promise.resolve(key),
    keyChanges: () => 0,
    attach: (socket, hello) => {
      attached.push(hello.device_id);
      socket.destroy();
      return Promise.resolve();
    },
    maxHandshakes: 2,
  });
  try {
    const board = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const nonce = newNonce();
        const hello = JSON.stringify({ link: 'hello', protocol: LINK_VERSION, device_id: `b${i}`, nonce, boot_id: 'boot' });
        const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: `127.4.0.${i + 1}` }, () => socket.write(`${hello}\n`));
        socket.setEncoding('utf8');
        socket.on('data', (line: string) => {
          const challenge = JSON.parse(line) as { nonce: string };
          socket.write(`${JSON.stringify({ link: 'auth', proof: linkProofs(key, { boardNonce: nonce, hubNonce: challenge.nonce, hello }).board })}\n`);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    await Promise.all(Array.from({ length: 12 }, (_, i) => board(i)));
    assert.deepEqual(attached.sort(), Array.from({ length: 12 }, (_, i) => `b${i}`).sort());
  } finally {
    await server.close();
  }
});

test('the key a board proved is read again from the store before its welcome: a new token made meanwhile through another hub keeps it out', { timeout: 30_000 }, async () => {
  const old = keyOfToken('the-old-token');
  let current = old;
  const verdicts: boolean[] = [];
  const server = await startLinkServer({
    host: '127.0.0.1',
    port: 0,
    clock: new SystemClock(),
    logger: silentLogger,
    keyOf: () => Promise.resolve(current),
    // Nothing changed through this hub: only the store knows of the new token.
    keyChanges: () => 0,
    attach: async (socket, _hello, _seal, stillProven) => {
      verdicts.push(await stillProven());
      current = keyOfToken('a-new-token'); // made through another hub while this one attached
      verdicts.push(await stillProven());
      socket.destroy();
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const nonce = newNonce();
      const hello = JSON.stringify({ link: 'hello', protocol: LINK_VERSION, device_id: 'b0', nonce, boot_id: 'boot' });
      const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => socket.write(`${hello}\n`));
      socket.setEncoding('utf8');
      socket.on('data', (line: string) => {
        const challenge = JSON.parse(line) as { nonce: string };
        socket.write(`${JSON.stringify({ link: 'auth', proof: linkProofs(old, { boardNonce: nonce, hubNonce: challenge.nonce, hello }).board })}\n`);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    assert.deepEqual(verdicts, [true, false]);
  } finally {
    await server.close();
  }
});
