// The hub's handshake gate under a burst (protocol.md §10.8): a hub that restarts takes back
// thousands of boards in a few turns of its event loop, and those it has not read yet are not
// the silent flood the gate makes room against.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/device/logger.js';
import { HandshakeGate } from '../../src/hub/handshake-gate.js';

/** What the gate uses of a socket: its address, what it read, and pause, resume and destroy. */
class FakeSocket {
  bytesRead = 0;
  destroyed = false;
  paused = false;
  readonly remotePort = 40_000;
  constructor(readonly remoteAddress: string) {}
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

test('a burst accepted in one turn is not pushed out as silent: the boards beyond the slots wait for one, newest first', async () => {
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
  assert.ok(burst.slice(4).every((s) => s.paused), 'the others are not read while they wait');
  // The hub reads their hellos in its next turn (those waiting too: paused, a socket still
  // buffers); two handshakes end and their slots go to the newest waiting.
  for (const s of burst) s.bytesRead = 300;
  await nextTurn();
  await nextTurn();
  assert.ok(burst.every((s) => !s.destroyed), 'none was taken for silent');
  gate.release(burst[0] as unknown as net.Socket);
  gate.release(burst[1] as unknown as net.Socket);
  assert.deepEqual(started.slice(4), [burst[9], burst[8]]);
  assert.equal(burst[9]?.paused, false, 'resumed for its handshake');
  // One waiting board gives up (its board closed the connection): it leaves the room.
  gate.release(burst[4] as unknown as net.Socket);
  assert.equal(gate.waitingCount, 3);
  assert.ok(burst.every((s) => !s.destroyed));
});

test('once the hub has read, a silent connection still gives way to a newcomer', async () => {
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

test('silent connections that waited give way once the hub has read: the flood does not hold more than the slots', async () => {
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

test('the waiting room is bounded: the oldest waiting connection goes first', () => {
  const { gate, admit } = gateWith({ total: 1, waiting: 2 });
  const [, w1, w2, w3] = Array.from({ length: 4 }, (_, i) => admit(`10.0.2.${i + 1}`));
  assert.equal(gate.waitingCount, 2);
  assert.equal(w1?.destroyed, true, 'the oldest waiting one was closed');
  assert.equal(w2?.destroyed, false);
  assert.equal(w3?.destroyed, false);
});

test('an address holds at most its share, counting those that wait', () => {
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

test('a connection waits no longer than the handshake time', async () => {
  const { gate, clock, admit } = gateWith({ total: 1 });
  admit('10.0.4.1');
  const waiting = admit('10.0.4.2');
  assert.equal(gate.waitingCount, 1);
  await clock.advance(5000);
  assert.equal(waiting.destroyed, true);
  assert.equal(gate.waitingCount, 0);
});

test('when the waiting room is full, a silent waiting connection goes before older ones that spoke', async () => {
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
