// Sequence-number edges (protocol.md §10.4): the half-way point of serial-number arithmetic and
// what isSeq lets through from the wire.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEQ_MODULUS, isSeq, seqDelta } from '../../src/protocol/link/seq.js';

describe('seq edges', { timeout: 30_000 }, () => {
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
