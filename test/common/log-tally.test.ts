// LogTally: one line a period per key, the first at once, the rest counted (protocol.md §1
// fairness, §10.8: a flood of refusals must not become a flood of log lines).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { LogTally, OTHER_KEYS } from '../../src/common/log-tally.js';

describe('security: LogTally', { timeout: 30_000 }, () => {
  test('security: the first occurrence is written at once, the rest of the minute in one line with their count', async () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const tally = new LogTally(clock, (key, count, last) => lines.push(`${key} ${count} ${last}`));
    for (let i = 1; i <= 500; i++) tally.note('10.0.0.5', `#${i}`);
    tally.note('10.0.0.6', 'other');
    assert.deepEqual(lines, ['10.0.0.5 1 #1', '10.0.0.6 1 other']);
    await clock.advance(59_999);
    assert.equal(lines.length, 2);
    await clock.advance(1);
    assert.deepEqual(lines.slice(2), ['10.0.0.5 499 #500'], 'a key with nothing more has no second line');
    // Still busy: counted into the next minute's line, not written at once.
    tally.note('10.0.0.5', '#501');
    assert.equal(lines.length, 3);
    await clock.advance(60_000);
    assert.deepEqual(lines.slice(3), ['10.0.0.5 1 #501']);
    // A quiet minute later, the next occurrence is news again.
    await clock.advance(60_000);
    tally.note('10.0.0.5', '#502');
    assert.deepEqual(lines.slice(4), ['10.0.0.5 1 #502']);
    tally.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('security: keys beyond the bound share one line', () => {
    const lines: string[] = [];
    const tally = new LogTally(new ManualClock(), (key, count) => lines.push(`${key} ${count}`), { maxKeys: 2 });
    for (let i = 0; i < 100; i++) tally.note(`10.0.1.${i}`, 'x');
    assert.deepEqual(lines, ['10.0.1.0 1', '10.0.1.1 1', `${OTHER_KEYS} 1`]);
    tally.close();
  });
});
