// LeaseTable on the ManualClock: the board's own record of which pins hold a lease and when each ends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { LeaseTable, type Lease } from '../../src/device/leases.js';

function table() {
  const clock = new ManualClock();
  const expired: Lease[] = [];
  const leases = new LeaseTable(clock, (lease) => expired.push(lease));
  return { clock, expired, leases };
}

describe('LeaseTable', { timeout: 30_000 }, () => {
  test('a lease ends at its deadline and is reported once, with its pin, value and deadline', async () => {
    const { clock, expired, leases } = table();
    await clock.advance(100);
    assert.deepEqual({ ...leases.grant(4, 1, 2000), timer: undefined }, { pin: 4, value: 1, deadline: 2100, timer: undefined });
    await clock.advance(1999);
    assert.deepEqual(expired, []);
    assert.equal(leases.get(4)?.value, 1);
    await clock.advance(1);
    assert.deepEqual(expired, [{ pin: 4, value: 1, deadline: 2100 }]);
    assert.equal(leases.get(4), undefined);
    assert.deepEqual(leases.all(), []);
    await clock.advance(10_000);
    assert.equal(expired.length, 1);
  });

  test('a replaced lease cancels the old timer: only the new deadline ends it', async () => {
    const { clock, expired, leases } = table();
    leases.grant(3, 1, 1000);
    await clock.advance(500);
    leases.grant(3, 0.5, 1000);
    assert.equal(clock.pendingTimers, 1, 'the first timer is gone, not left to fire');
    await clock.advance(600);
    assert.deepEqual(expired, [], 'the first deadline (1000 ms) passed without ending the new lease');
    assert.equal(leases.get(3)?.value, 0.5);
    await clock.advance(400);
    assert.deepEqual(expired, [{ pin: 3, value: 0.5, deadline: 1500 }]);
  });

  test('a stale timer that still fires does not end the lease that replaced it', async () => {
    // A clock whose clearTimer does nothing: the table's own check must tell the timers apart.
    const clock = new ManualClock();
    clock.clearTimer = () => undefined;
    const expired: Lease[] = [];
    const leases = new LeaseTable(clock, (lease) => expired.push(lease));
    leases.grant(3, 1, 1000);
    await clock.advance(500);
    leases.grant(3, 0.5, 1000);
    await clock.advance(600);
    assert.deepEqual(expired, []);
    assert.equal(leases.get(3)?.value, 0.5);
    await clock.advance(400);
    assert.deepEqual(expired, [{ pin: 3, value: 0.5, deadline: 1500 }]);
    // An ended lease's timer firing later reports nothing either.
    leases.grant(5, 1, 100);
    leases.end(5);
    await clock.advance(200);
    assert.equal(expired.length, 1);
  });

  test('end() says whether there was a lease, cancels its timer and never reports it as expired', async () => {
    const { clock, expired, leases } = table();
    assert.equal(leases.end(2), false);
    leases.grant(2, 1, 1000);
    assert.equal(leases.end(2), true);
    assert.equal(leases.get(2), undefined);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(leases.end(2), false, 'a second end finds nothing');
    await clock.advance(2000);
    assert.deepEqual(expired, []);
  });

  test('secondsLeft counts down, rounds to milliseconds and is never negative', async () => {
    const { clock, leases } = table();
    const lease = leases.grant(1, 1, 2500);
    assert.equal(leases.secondsLeft(lease), 2.5);
    await clock.advance(999.6);
    assert.equal(leases.secondsLeft(lease), 1.5);
    await clock.advance(0.2);
    assert.equal(leases.secondsLeft(lease), 1.5, '1500.2 ms rounds to 1.5 s');
    assert.equal(leases.secondsLeft({ pin: 1, value: 1, deadline: 1234.5678 }), 0.235, '234.7678 ms left rounds up to 235');
    assert.equal(leases.secondsLeft({ pin: 1, value: 1, deadline: 0 }), 0, 'a deadline passed is 0, not negative');
  });

  test('all() lists every lease sorted by pin, whatever order they were granted in', () => {
    const { leases } = table();
    for (const pin of [12, 3, 25, 7, 10]) leases.grant(pin, 1, 1000 + pin);
    assert.deepEqual(leases.all().map((l) => l.pin), [3, 7, 10, 12, 25]);
    assert.deepEqual(leases.all().map((l) => l.deadline), [1003, 1007, 1010, 1012, 1025]);
  });

  test('clear() ends every lease and cancels every timer without reporting any', async () => {
    const { clock, expired, leases } = table();
    leases.grant(1, 1, 1000);
    leases.grant(2, 1, 2000);
    leases.clear();
    assert.deepEqual(leases.all(), []);
    assert.equal(leases.get(1), undefined);
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(5000);
    assert.deepEqual(expired, []);
  });
});
