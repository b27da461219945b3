// Leases as a board on the real clock reports them: a millisecond may pass between the write and
// its reply, so the time left is checked against a window, never for equality.
import assert from 'node:assert/strict';

export interface ExpectedLease {
  value: number;
  safe_value: number;
  expires_in_s: number;
}

/**
 * Asserts a write's `lease`: the value and safe value exactly, the time left at most what was
 * asked (a board never grants more) and less than `slackS` under it.
 */
export function assertLease(actual: unknown, expected: ExpectedLease, slackS = 0.5): void {
  assert.ok(typeof actual === 'object' && actual !== null, `expected a lease, got ${JSON.stringify(actual)}`);
  const { expires_in_s: left, ...rest } = actual as Record<string, unknown>;
  const { expires_in_s: asked, ...expectedRest } = expected;
  assert.deepEqual(rest, expectedRest);
  assert.ok(typeof left === 'number' && left <= asked && left > asked - slackS, `expires_in_s: ${String(left)} s, expected ${asked} s or a little less`);
}
