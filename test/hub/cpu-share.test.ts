// What a hub on one CPU needs from node's command line, and the warning when it lacks it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { hasSpareCore, hubNodeFlags, nodeFlagsWarning, SINGLE_THREADED_GC } from '../../src/hub/cpu-share.js';

test('one CPU: the hub wants its garbage collection on its own thread, and says so when node was started without it', { timeout: 30_000 }, () => {
  assert.deepEqual(hubNodeFlags(1), [SINGLE_THREADED_GC]);
  assert.equal(hasSpareCore(1), false);
  const warning = nodeFlagsWarning(1, ['--enable-source-maps']);
  assert.match(warning ?? '', /may run on 1 CPU only, and node was started without --single-threaded-gc/);
  assert.match(warning ?? '', /node --single-threaded-gc \.\.\.\/bin\/tether\.js hub/);
  assert.match(warning ?? '', /NODE_OPTIONS cannot carry the flag/);
  assert.equal(nodeFlagsWarning(1, ['--single-threaded-gc']), undefined);
  assert.equal(nodeFlagsWarning(1, ['--single_threaded_gc']), undefined, 'V8 takes the flag with underscores too');
});

test('two CPUs or more: V8 collects on its own threads, and nothing is asked of node', { timeout: 30_000 }, () => {
  for (const cpus of [2, 4, 64]) {
    assert.deepEqual(hubNodeFlags(cpus), []);
    assert.equal(hasSpareCore(cpus), true);
    assert.equal(nodeFlagsWarning(cpus, []), undefined);
  }
});

test('the node running these tests takes the flags a one-CPU hub is given (a unit with an unknown flag would not start)', { timeout: 30_000 }, () => {
  const run = spawnSync(process.execPath, [...hubNodeFlags(1), '-e', 'process.stdout.write("ran")'], { encoding: 'utf8' });
  assert.equal(run.stderr, '');
  assert.equal(run.status, 0);
  assert.equal(run.stdout, 'ran');
});
