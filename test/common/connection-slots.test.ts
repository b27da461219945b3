// ConnectionSlots: the bounds and the order in which connections give way (protocol.md §1
// fairness, §10.8), apart from sockets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionSlots } from '../../src/common/connection-slots.js';

interface TestSlot {
  name: string;
  key: string;
  evictable: boolean;
}

const slot = (name: string, key = 'a', evictable = true): TestSlot => ({ name, key, evictable });

describe('security: ConnectionSlots', { timeout: 30_000 }, () => {
  test('security: a full set gives the oldest evictable slot away, and refuses, changing nothing, when none can go', () => {
    const slots = new ConnectionSlots<TestSlot>({ total: 3 });
    const [a, b, c] = [slot('a', 'a', false), slot('b'), slot('c')];
    for (const s of [a, b, c]) assert.deepEqual(slots.admit(s), { admitted: true, evicted: undefined });
    const d = slot('d');
    assert.deepEqual(slots.admit(d), { admitted: true, evicted: b }, 'b is the oldest that may go; a may not');
    c.evictable = false;
    d.evictable = false;
    assert.deepEqual(slots.admit(slot('e')), { admitted: false });
    assert.equal(slots.size, 3);
    assert.equal(slots.release(b), false, 'b was already given away');
    assert.equal(slots.release(c), true);
    assert.deepEqual(slots.admit(slot('e')), { admitted: true, evicted: undefined });
  });

  test('security: a full key gives way within the key first, and the total bound then across keys', () => {
    const slots = new ConnectionSlots<TestSlot>({ total: 4, perKey: 2 });
    const y1 = slot('y1', 'y');
    const x1 = slot('x1', 'x');
    const x2 = slot('x2', 'x');
    for (const s of [y1, x1, x2]) slots.admit(s);
    const x3 = slot('x3', 'x');
    assert.deepEqual(slots.admit(x3), { admitted: true, evicted: x1 }, 'x1, not the older y1 of another key');
    x2.evictable = false;
    x3.evictable = false;
    assert.deepEqual(slots.admit(slot('x4', 'x')), { admitted: false }, 'key x is full of slots that may not go, though the total has room');
    assert.equal(slots.countOf('x'), 2);
    slots.admit(slot('z1', 'z'));
    assert.equal(slots.size, 4);
    assert.deepEqual(slots.admit(slot('w1', 'w')), { admitted: true, evicted: y1 }, 'the total is full: the oldest evictable of any key');
    assert.equal(slots.countOf('y'), 0);
  });
});
