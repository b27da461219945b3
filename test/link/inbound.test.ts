// Inbound's two ways of delivering: serial for the board (a command runs after the one before
// it finished) and pipelined for the hub (handed over at once, committed in order).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inbound } from '../../src/link/inbound.js';

const never = (what: unknown) => assert.fail(`unexpected: ${String(what)}`);

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Inbound', { timeout: 30_000 }, () => {
  test('serial: the next delivery starts only after the one before it completed', async () => {
    const inbound = new Inbound();
    const started: number[] = [];
    const gates = [deferred(), deferred()];
    const deliver = (_b: object, seq: number) => {
      started.push(seq);
      return gates[seq - 1]?.promise;
    };
    inbound.receive(1, {}, deliver, () => undefined, never);
    inbound.receive(2, {}, deliver, () => undefined, never);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1]);
    gates[0]?.resolve();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1, 2]);
    gates[1]?.resolve();
    await inbound.settle();
    assert.equal(inbound.committed, 2);
  });

  test('pipelined: every delivery is handed over at once; commits are reported in order', async () => {
    const inbound = new Inbound(0, { pipelined: true });
    const started: number[] = [];
    const committed: number[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const deliver = (_b: object, seq: number) => {
      started.push(seq);
      return gates[seq - 1]?.promise;
    };
    for (const seq of [1, 2, 3]) inbound.receive(seq, {}, deliver, (s) => committed.push(s), never);
    assert.deepEqual(started, [1, 2, 3]);
    gates[2]?.resolve(); // the last one finishes first …
    gates[1]?.resolve();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(committed, []); // … but nothing is acknowledged past an unfinished one
    gates[0]?.resolve();
    await inbound.settle();
    assert.deepEqual(committed, [1, 2, 3]);
    assert.equal(inbound.committed, 3);
  });

  test('pipelined: a failed commit rewinds to the last committed number so the resend is taken again', async () => {
    const inbound = new Inbound(0, { pipelined: true });
    const failures: unknown[] = [];
    const committed: number[] = [];
    inbound.receive(1, {}, () => undefined, (s) => committed.push(s), never);
    inbound.receive(2, {}, () => Promise.reject(new Error('disk full')), (s) => committed.push(s), (e) => failures.push(e));
    inbound.receive(3, {}, () => undefined, (s) => committed.push(s), (e) => failures.push(e));
    await inbound.settle();
    assert.deepEqual(committed, [1]);
    assert.equal(failures.length, 1);
    assert.equal(inbound.committed, 1);
    assert.equal(inbound.inbox.accept(2), 'deliver'); // the sender's resend of 2 is new again
  });

  test('pipelined: a delivery that throws at once fails like one that rejects', async () => {
    const inbound = new Inbound(0, { pipelined: true });
    const failures: unknown[] = [];
    inbound.receive(1, {}, () => {
      throw new Error('bad row');
    }, never, (e) => failures.push(e));
    await inbound.settle();
    assert.equal(failures.length, 1);
    assert.equal(inbound.committed, 0);
  });

  test('pipelined: messages that share one commit complete together, as its last number', async () => {
    const inbound = new Inbound(0, { pipelined: true });
    const committed: number[] = [];
    const first = deferred();
    const second = deferred();
    const onCommitted = (s: number) => committed.push(s);
    for (const seq of [1, 2, 3]) inbound.receive(seq, {}, () => first.promise, onCommitted, never);
    for (const seq of [4, 5]) inbound.receive(seq, {}, () => second.promise, onCommitted, never);
    second.resolve();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(committed, [], 'nothing is acknowledged past a commit still running');
    first.resolve();
    await inbound.settle();
    assert.deepEqual(committed, [3, 5]);
    // A commit that already completed is not joined: the next message is a link of its own.
    inbound.receive(6, {}, () => first.promise, onCommitted, never);
    await inbound.settle();
    assert.deepEqual(committed, [3, 5, 6]);
    assert.equal(inbound.committed, 6);
  });

  test('pipelined: a shared commit that fails fails once, and its messages are taken again', async () => {
    const inbound = new Inbound(0, { pipelined: true });
    const failures: unknown[] = [];
    const shared = deferred();
    for (const seq of [1, 2, 3]) inbound.receive(seq, {}, () => shared.promise, never, (e) => failures.push(e));
    shared.reject(new Error('disk full'));
    await inbound.settle();
    assert.equal(failures.length, 1);
    assert.equal(inbound.committed, 0);
    assert.equal(inbound.inbox.accept(1), 'deliver');
  });
});
