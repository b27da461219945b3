// Mutation testing of the code that carries Tether's promises (docs/testing.md). Stryker mutates
// the TypeScript in a sandbox (all mutants compiled in at once, switched by an environment
// variable), compiles it with tsc, and runs the compiled node:test files with the tap runner, one
// process per test file; with perTest coverage each mutant runs only the test files that reach it.
// `npm run mutate` (scripts/mutate.js) runs this config, an area at a time with --only.
import { readFileSync } from 'node:fs';

/**
 * The lines of `file` from the line holding `from` up to the line before the one holding `to`
 * (or the end of the file), as a Stryker mutate range. Markers, not line numbers, so the range
 * follows the code as it moves; a marker that is gone stops the run instead of mutating nothing.
 */
function between(file, from, to) {
  const lines = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes(from));
  if (start === -1) throw new Error(`stryker.config.mjs: "${from}" is no longer in ${file}; update the area's range`);
  let end = lines.length;
  if (to !== undefined) {
    const found = lines.findIndex((l, i) => i > start && l.includes(to));
    if (found === -1) throw new Error(`stryker.config.mjs: "${to}" no longer follows "${from}" in ${file}; update the area's range`);
    end = found;
  }
  return `${file}:${start + 1}-${end}`;
}

const test = (name) => `dist/test/${name}.test.js`;

/**
 * What is mutated, and the fast unit tests that should notice. Slow suites (the CLI end to end,
 * the firmware under MicroPython, the browser) are left out: a mutant would cost their full run.
 */
export const areas = [
  {
    name: 'leases',
    promise: 'the board ends every write: a lease restores the safe value when it runs out',
    mutate: [
      'src/device/leases.ts',
      between('src/device/board-pins.ts', '  writePin(pin: number', '  private leaseView('),
      between('src/device/board-pins.ts', '  private checkNoLease(', '  private setupInput('),
      between('src/device/board-pins.ts', '  private maxLeaseFor(', '  private applyConfigPin('),
      between('src/device/board-pins.ts', '  restoreAllSafe(', 'function restoreSafe('),
      between('src/device/board-pins.ts', 'function restoreSafe(', 'function frequencyOf('),
    ],
    tests: [test('device/leases'), test('device/board'), test('protocol/vectors'), test('device/session')],
  },
  {
    name: 'framing',
    promise: 'frames are newline-delimited JSON objects within the size and nesting limits',
    mutate: ['src/protocol/framing.ts', 'src/protocol/codec.ts'],
    tests: [test('protocol/framing'), test('protocol/fuzz'), test('protocol/vectors'), test('device/session')],
  },
  {
    name: 'scopes',
    promise: 'a token opens only the actions its scope allows, on the board and on the hub API',
    mutate: [
      between('src/protocol/actions.ts', 'export const ACTION_SCOPES', '/** Other names accepted'),
      between('src/protocol/actions.ts', 'export function scopeAllows('),
      between('src/device/dispatcher.ts', 'export class Dispatcher', 'function masked('),
      'src/device/connection-seal.ts',
      'src/hub/api/auth.ts',
      'src/hub/api/auth-limiter.ts',
      'src/hub/api-token.ts',
      'src/hub/api-scope.ts',
      'src/hub/store/sqlite/api-tokens.ts',
    ],
    tests: [test('device/session'), test('device/direct-auth'), test('protocol/vectors'), test('hub/api'), test('hub/api-token'), test('hub/auth'), test('hub/api-stream'), test('hub/api-scopes')],
  },
  {
    name: 'streams',
    promise: 'must-arrive link messages are delivered exactly once, in order, across reconnects',
    mutate: ['src/protocol/link/reliable.ts', 'src/protocol/link/seq.ts'],
    tests: [test('protocol/reliable'), test('link/inbound'), test('link/channel')],
  },
  {
    name: 'ingest',
    promise: "a board's message is acknowledged only once the transaction holding it has committed",
    mutate: ['src/hub/ingest.ts'],
    tests: [test('hub/ingest')],
  },
  {
    name: 'rules',
    promise: 'a rule drives an output only under a lease it renews in time',
    mutate: ['src/hub/rules/leased-output.ts'],
    tests: [test('hub/rules')],
  },
  {
    name: 'pymodaq',
    promise: "PyMoDAQ's writes are held while PyMoDAQ talks, and end at the safe value when it goes quiet or another writer takes the pin",
    mutate: ['src/device/pymodaq/holds.ts'],
    tests: [test('device/pymodaq-server')],
  },
  {
    name: 'retention',
    promise: 'readings and events older than retention_days are removed, and only those',
    mutate: [between('src/hub/store/sqlite/sqlite-store.ts', '   * Deletes readings and events older than', undefined)],
    tests: [test('hub/store/sqlite')],
  },
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  mutate: areas.flatMap((a) => a.mutate),
  testRunner: 'tap',
  tap: {
    testFiles: [...new Set(areas.flatMap((a) => a.tests))],
    // Run directly, a node:test file reports to stdout; TAP whatever stdout is.
    nodeArgs: ['--test-reporter=tap'],
    forceBail: true,
  },
  plugins: ['@stryker-mutator/tap-runner'],
  // tsc still emits when a file has errors; @ts-nocheck (added by Stryker) keeps mutants from
  // being type errors, and the type checker plugin would cost a compile per mutant.
  buildCommand: 'tsc -p tsconfig.json',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  ignorePatterns: ['dist', 'web', 'docs', 'examples', '.mutate', '.ci', 'reports', '.mutate-summary.txt'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  incremental: false,
  reporters: ['progress', 'html', 'json'],
  htmlReporter: { fileName: '.mutate/report/mutation.html' },
  jsonReporter: { fileName: '.mutate/report/mutation.json' },
  // Reported, never enforced: the run fails on surviving named mutations instead.
  thresholds: { high: 90, low: 75 },
};
