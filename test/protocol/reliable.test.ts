// Exactly-once delivery logic: sequence arithmetic, the outbox and the inbox, and a simulated
// lossy link that breaks many times while both sides keep their state.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inbox, Outbox, OutboxFull } from '../../src/protocol/link/reliable.js';
import { SEQ_MODULUS, isSeq, seqDelta, seqNext } from '../../src/protocol/link/seq.js';
import { prng } from '../support/prng.js';

describe('sequence numbers', { timeout: 30_000 }, () => {
  test('wrap at 2^32 and compare across the wrap', () => {
    assert.equal(seqNext(SEQ_MODULUS - 1), 0);
    assert.equal(seqNext(0), 1);
    assert.equal(seqDelta(SEQ_MODULUS - 2, 1), 3);
    assert.equal(seqDelta(1, SEQ_MODULUS - 2), -3);
    assert.equal(seqDelta(7, 7), 0);
    assert.equal(seqDelta(0, 2 ** 31 - 1), 2 ** 31 - 1);
  });
});

describe('sequence numbers at the edges', { timeout: 30_000 }, () => {
  test('exactly half the modulus apart counts as behind, one less as ahead', () => {
    const half = SEQ_MODULUS / 2;
    assert.equal(seqDelta(0, half), -half);
    assert.equal(seqDelta(5, 5 + half), -half);
    assert.equal(seqDelta(0, half - 1), half - 1);
    assert.equal(seqDelta(half, 0), -half);
    assert.equal(seqDelta(SEQ_MODULUS - 1, SEQ_MODULUS - 1), 0);
  });

  test('isSeq takes only integers in [0, 2^32)', () => {
    for (const ok of [0, 1, 2 ** 31, SEQ_MODULUS - 1]) assert.equal(isSeq(ok), true, `${ok}`);
    const refused: unknown[] = [-1, -0.5, 1.5, SEQ_MODULUS, SEQ_MODULUS + 1, NaN, Infinity, '5', '0', true, null, undefined, [1]];
    for (const bad of refused) assert.equal(isSeq(bad), false, `${String(bad)}`);
  });
});

describe('Outbox', { timeout: 30_000 }, () => {
  test('numbers messages when they are sent, within the window, and frees them by cumulative ack', () => {
    const out = new Outbox<string>({ capacity: 10, window: 2 });
    for (const m of ['a', 'b', 'c']) out.push(m);
    assert.deepEqual(out.sendable(), [{ seq: 1, body: 'a' }, { seq: 2, body: 'b' }]);
    assert.deepEqual(out.sendable(), [], 'the window is full');
    assert.equal(out.ack(1), 1);
    assert.deepEqual(out.sendable(), [{ seq: 3, body: 'c' }]);
    assert.deepEqual(out.unacknowledged().map((m) => m.seq), [2, 3]);
    assert.equal(out.ack(1), 0, 'an old ack frees nothing');
    assert.equal(out.ack(3), 2);
    assert.equal(out.size, 0);
  });

  test('when full, the oldest queued reading makes room and is counted; commands are never dropped', () => {
    const out = new Outbox<string>({ capacity: 3, window: 1 });
    out.push('cmd');
    out.sendable();
    out.push('r1', true);
    out.push('r2', true);
    out.push('r3', true);
    assert.equal(out.takeDropped(), 1);
    assert.equal(out.takeDropped(), 0);
    out.ack(1);
    assert.deepEqual(out.sendable(), [{ seq: 2, body: 'r2' }], 'no gap: r1 never got a number');
    out.push('r4', true);
    out.push('x');
    out.push('y');
    assert.equal(out.takeDropped(), 2, 'r3, then r4, made room');
    assert.throws(() => out.push('z'), OutboxFull, 'only commands are left');
    assert.equal(out.size, 3);
  });

  test('continues a persisted stream and starts over after a restart', () => {
    const out = new Outbox<string>({ capacity: 5, window: 5 }, SEQ_MODULUS - 1);
    out.push('a');
    out.push('b');
    assert.deepEqual(out.sendable().map((m) => m.seq), [0, 1]);
    assert.deepEqual(out.restart(), ['a', 'b']);
    out.push('c');
    assert.deepEqual(out.sendable(), [{ seq: 1, body: 'c' }]);
  });
});

describe('Inbox', { timeout: 30_000 }, () => {
  test('delivers the next number once; old ones are duplicates, later ones gaps', () => {
    const inbox = new Inbox();
    assert.equal(inbox.accept(1), 'deliver');
    assert.equal(inbox.accept(1), 'duplicate');
    assert.equal(inbox.accept(3), 'gap');
    assert.equal(inbox.accept(2), 'deliver');
    assert.equal(inbox.lastDelivered, 2);
  });
});


test('exactly once and in order through 200 broken connections, starting near the wrap', { timeout: 30_000 }, () => {
  const rand = prng(7);
  const start = SEQ_MODULUS - 500;
  const out = new Outbox<number>({ capacity: 100_000, window: 32 }, start);
  const inbox = new Inbox(start);
  const delivered: number[] = [];
  const total = 5000;
  for (let i = 0; i < total; i++) out.push(i);
  let outages = 0;
  // Bounded: a stream that stops making progress must fail here, not spin for ever.
  const maxConnections = 5000;
  while (delivered.length < total && outages < maxConnections) {
    // One connection: resend what is unacknowledged, then send new ones; the line drops
    // messages and acks at random and breaks after a random number of frames.
    const wire = [...out.unacknowledged(), ...out.sendable()];
    const breakAt = Math.floor(rand() * wire.length * 1.5);
    let lastAck: number | undefined;
    for (const [k, msg] of wire.entries()) {
      if (k === breakAt) break;
      if (rand() < 0.05) continue; // lost on the way; TCP would not, a dying link might
      const arrival = inbox.accept(msg.seq);
      if (arrival === 'deliver') delivered.push(msg.body);
      if (rand() < 0.8) lastAck = inbox.lastDelivered; // acks get lost too
    }
    if (lastAck !== undefined) out.ack(lastAck);
    outages++;
  }
  assert.ok(outages >= 200, `only ${outages} connections`);
  assert.ok(outages < maxConnections, `${delivered.length} of ${total} delivered after ${outages} connections: the stream stalled`);
  assert.deepEqual(delivered, Array.from({ length: total }, (_, i) => i));
});

describe('Outbox and Inbox at the edges', { timeout: 30_000 }, () => {
  test('OutboxFull names the capacity in its message', () => {
    const out = new Outbox<string>({ capacity: 1, window: 1 });
    out.push('a');
    assert.throws(() => out.push('b'), (err: unknown) => {
      assert.ok(err instanceof OutboxFull);
      assert.equal(err.name, 'OutboxFull');
      assert.equal(err.message, 'the outbox holds 1 messages already and none of them may be dropped');
      return true;
    });
  });

  test('restored messages are unacknowledged again and numbering continues after the last of them', () => {
    const restored = [{ seq: 7, body: 'a' }, { seq: 8, body: 'b' }];
    const out = new Outbox<string>({ capacity: 5, window: 5 }, 0, restored);
    assert.deepEqual(out.unacknowledged(), restored);
    assert.equal(out.size, 2);
    out.push('c');
    assert.deepEqual(out.sendable(), [{ seq: 9, body: 'c' }]);
    assert.deepEqual(new Outbox<string>({ capacity: 5, window: 5 }).unacknowledged(), [], 'a new outbox has nothing in flight');
  });

  test('onAcked hears only of acks that free something', () => {
    const heard: number[][] = [];
    const out = new Outbox<string>({ capacity: 5, window: 5, onAcked: (acked) => heard.push(acked.map((m) => m.seq)) });
    out.push('a');
    out.push('b');
    out.sendable();
    assert.equal(out.ack(0), 0);
    assert.deepEqual(heard, [], 'an ack that frees nothing is not reported');
    assert.equal(out.ack(2), 2);
    assert.equal(out.ack(2), 0);
    assert.deepEqual(heard, [[1, 2]]);
  });

  test('restart returns the bodies in flight then those queued, and leaves the outbox empty', () => {
    const out = new Outbox<string>({ capacity: 5, window: 1 });
    for (const m of ['a', 'b', 'c']) out.push(m);
    out.sendable();
    assert.deepEqual(out.restart(), ['a', 'b', 'c']);
    assert.equal(out.size, 0);
    assert.deepEqual(out.unacknowledged(), []);
  });

  test('rewind only moves back; restart starts the inbox over', () => {
    const inbox = new Inbox(5);
    inbox.rewind(7);
    assert.equal(inbox.lastDelivered, 5, 'a rewind ahead of the last delivery is ignored');
    inbox.rewind(3);
    assert.equal(inbox.lastDelivered, 3);
    inbox.restart();
    assert.equal(inbox.lastDelivered, 0);
    assert.equal(inbox.accept(1), 'deliver');
  });
});

describe('Outbox batches', { timeout: 30_000 }, () => {
  /** Strings stand for events; `!` marks one that may not join a batch (a reply, say). */
  const joinAll = (maxSize = 1000) => ({
    joinable: (body: string) => !body.startsWith('!'),
    size: (body: string) => body.length,
    maxSize,
    join: (bodies: string[]) => `[${bodies.join(',')}]`,
  });
  const events = (n: number) => Array.from({ length: n }, (_, i) => `e${i}`);
  /** An outbox that joins, to a peer taking up to 64 a batch, with `bodies` queued. */
  const batching = (window: number, bodies: string[], maxSize?: number) => {
    const out = new Outbox<string>({ capacity: 100, window, batch: joinAll(maxSize) });
    out.batchLimit = 64;
    for (const body of bodies) out.push(body);
    return out;
  };

  test('a sender that keeps up sends each message alone, batch limit or not', () => {
    const out = batching(4, ['a', 'b', 'c', 'd']);
    assert.deepEqual(out.sendable().map((m) => m.body), ['a', 'b', 'c', 'd']);
  });

  test('a backlog beyond the window goes out in batches just large enough to fit it, in order, one number each', () => {
    const out = batching(4, events(10));
    const sent = out.sendable();
    assert.deepEqual(sent.map((m) => m.seq), [1, 2, 3, 4]);
    // 10 for 4 places: 3 at once; then 7 for 3: 3; then 4 for 2: 2; then 2 for the last: 2.
    assert.deepEqual(sent.map((m) => m.body), ['[e0,e1,e2]', '[e3,e4,e5]', '[e6,e7]', '[e8,e9]']);
    assert.equal(out.unacknowledged().length, 4, 'ten messages under four numbers');
    assert.equal(out.size, 10, 'and the outbox still holds ten');
  });

  test('no batch larger than the peer allows, nor past the size budget; a message that may not join goes alone', () => {
    const limited = new Outbox<string>({ capacity: 100, window: 1, batch: joinAll() });
    limited.batchLimit = 3;
    for (let i = 0; i < 7; i++) limited.push(`e${i}`);
    assert.deepEqual(limited.sendable().map((m) => m.body), ['[e0,e1,e2]']);

    const sized = batching(1, ['aa', 'bb', 'cc', 'dd'], 7);
    assert.deepEqual(sized.sendable().map((m) => m.body), ['[aa,bb,cc]'], 'a fourth would make 8 > 7');

    const mixed = batching(1, ['e0', 'e1', '!reply', 'e2']);
    assert.deepEqual(mixed.sendable().map((m) => m.body), ['[e0,e1]']);
    mixed.ack(1);
    assert.deepEqual(mixed.sendable().map((m) => m.body), ['!reply'], 'alone, and the batch stops before it');
    mixed.ack(2);
    assert.deepEqual(mixed.sendable().map((m) => m.body), ['e2'], 'one left: alone, not a batch of one');
  });

  test('with no batcher, or a limit of 1, a backlog goes out one message a number', () => {
    const plain = new Outbox<string>({ capacity: 100, window: 2 });
    plain.batchLimit = 64;
    const one = new Outbox<string>({ capacity: 100, window: 2, batch: joinAll() });
    for (let i = 0; i < 5; i++) {
      plain.push(`e${i}`);
      one.push(`e${i}`);
    }
    assert.deepEqual(plain.sendable().map((m) => m.body), ['e0', 'e1']);
    assert.deepEqual(one.sendable().map((m) => m.body), ['e0', 'e1']);
  });

  test('a new connection to a peer that takes smaller batches, or none: the unacknowledged ones are taken apart and numbered again from there', () => {
    const out = batching(2, events(6));
    assert.deepEqual(out.sendable(), [
      { seq: 1, body: '[e0,e1,e2]' },
      { seq: 2, body: '[e3,e4,e5]' },
    ]);
    out.push('e6');
    out.ack(1); // the peer committed the first batch before the link broke
    out.batchLimit = 2;
    out.splitBatches();
    assert.deepEqual(out.unacknowledged(), [], 'nothing numbered past what the peer committed is kept under its old number');
    assert.equal(out.size, 4);
    assert.deepEqual(out.sendable(), [
      { seq: 2, body: '[e3,e4]' },
      { seq: 3, body: '[e5,e6]' },
    ]);

    const none = batching(1, events(3));
    none.sendable();
    none.batchLimit = 1;
    none.splitBatches();
    assert.deepEqual([none.sendable(), (none.ack(1), none.sendable()), (none.ack(2), none.sendable())].flat(), [
      { seq: 1, body: 'e0' },
      { seq: 2, body: 'e1' },
      { seq: 3, body: 'e2' },
    ]);
  });

  test('batches that fit the new peer keep their numbers', () => {
    const out = batching(1, events(3));
    out.sendable();
    out.batchLimit = 3;
    out.splitBatches();
    assert.deepEqual(out.unacknowledged(), [{ seq: 1, body: '[e0,e1,e2]' }]);
  });

  test('capacity counts the messages a batch carries, not its one number; a restart gives them back one by one', () => {
    const out = new Outbox<string>({ capacity: 6, window: 1, batch: joinAll() });
    out.batchLimit = 64;
    for (let i = 0; i < 6; i++) out.push(`e${i}`, true);
    assert.deepEqual(out.sendable().map((m) => m.body), ['[e0,e1,e2,e3,e4,e5]']);
    assert.equal(out.size, 6);
    assert.throws(() => out.push('e6', true), OutboxFull, 'six messages in flight fill a capacity of six, though they hold one number');
    assert.equal(out.size, 6);
    assert.deepEqual(out.restart(), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
  });
});
