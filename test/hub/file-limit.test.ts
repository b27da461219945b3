// The hub's open-file limit against its boards: each linked board holds a descriptor, and a
// connection beyond the limit is closed by libuv unseen, so the hub says so at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FILES_BESIDES_BOARDS, fileLimitWarning, processFileLimits } from '../../src/hub/file-limit.js';

test('the hub warns at start when its registered boards would not fit under the open-file limit', { timeout: 30_000 }, () => {
  const warning = fileLimitWarning(10_000, 1024);
  assert.match(warning ?? '', /^10000 boards are registered, but this process may open only 1024 files/);
  assert.match(warning ?? '', /Raise the hub's open-file limit to at least 10512 \(ulimit -n/);
  assert.equal(fileLimitWarning(10_000, 10_000 + FILES_BESIDES_BOARDS), undefined, 'enough for every board');
  assert.equal(fileLimitWarning(10_000, undefined), undefined, 'no /proc: nothing to say');
});

test('the limits are read from /proc', { timeout: 30_000, skip: process.platform !== 'linux' }, () => {
  const limits = processFileLimits();
  assert.ok(limits !== undefined && limits.soft > 0 && limits.hard >= limits.soft, JSON.stringify(limits));
});
