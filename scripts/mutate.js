// npm run mutate: mutation testing of the code that carries Tether's promises (docs/testing.md).
// Two parts: StrykerJS over the TypeScript areas of stryker.config.mjs (a score per file, the
// surviving mutants listed), then the named mutations of test/mutations/named.json, TypeScript
// and firmware Python alike, each applied alone to a scratch copy whose tests must then fail.
// Exits 1 when a named mutation survives or is invalid, 2 on a usage error.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout, clearTimeout } from 'node:timers';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, '.mutate');
const NAMED_FILE = 'test/mutations/named.json';
// Unused imports and locals are style, not behaviour: a mutation that drops a call may leave one.
const TSC = ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noUnusedLocals', 'false', '--noUnusedParameters', 'false'];

const HELP = `Usage: npm run mutate -- [options]

Mutation testing of the code that carries Tether's promises (docs/testing.md):
StrykerJS over the TypeScript areas in stryker.config.mjs, then the named
mutations in ${NAMED_FILE} (TypeScript and firmware Python), each applied
alone to a scratch copy whose listed tests must then fail.

Options:
  --only <area|file>  run one area (leases, framing, …; see --list) or the areas
                      and named mutations of one file; repeat for more
  --named-only        skip Stryker, run only the named mutations
  --stryker-only      skip the named mutations
  --list              print the areas and the named mutations, run nothing
  --keep              keep the named mutations' scratch copy (its path is printed)
  -h, --help          this text

Exit status: 0 when every named mutation was caught, 1 when one survived or
was invalid (its find text gone, the build broken, or its tests failing without
it) or Stryker failed, 2 on a usage error. Stryker's survivors are reported,
never fatal. Reports: .mutate/report/mutation.html, .mutate/summary.txt.`;

/** @typedef {{ id: string, area: string, why: string, file: string, find: string, replace: string, tests: string[] }} Named */
/** @typedef {{ name: string, promise: string, mutate: string[], tests: string[] }} Area */

function usage(message) {
  console.error(`mutate: ${message}\n\n${HELP}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      'named-only': { type: 'boolean' },
      'stryker-only': { type: 'boolean' },
      list: { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
if (args['named-only'] && args['stryker-only']) usage('--named-only and --stryker-only leave nothing to run');

const config = await import('../stryker.config.mjs');
/** @type {Area[]} */
const allAreas = config.areas;
/** @type {Named[]} */
const allNamed = JSON.parse(readFileSync(join(ROOT, NAMED_FILE), 'utf8'));

const fileOf = (entry) => entry.replace(/:\d+(:\d+)?-\d+(:\d+)?$/, '');

/** The areas and named mutations --only picks: by area name, or by a file they mutate. */
function select(only) {
  if (only === undefined) return { areas: allAreas, named: allNamed };
  const areas = [];
  const named = [];
  for (const o of only) {
    const path = o.replace(/^\.\//, '');
    const byName = allAreas.find((a) => a.name === o);
    const byFile = allAreas
      .filter((a) => a.mutate.some((m) => fileOf(m) === path))
      .map((a) => ({ ...a, mutate: a.mutate.filter((m) => fileOf(m) === path) }));
    const namedHere = allNamed.filter((n) => n.area === o || n.file === path);
    if (byName === undefined && byFile.length === 0 && namedHere.length === 0) {
      usage(`--only ${o}: no area of that name and nothing mutated in that file (areas: ${[...new Set([...allAreas.map((a) => a.name), ...allNamed.map((n) => n.area)])].join(', ')})`);
    }
    areas.push(...(byName ? [byName] : byFile));
    named.push(...namedHere.filter((n) => !named.includes(n)));
  }
  return { areas, named };
}

const chosen = select(args.only);

if (args.list) {
  for (const a of allAreas) console.log(`${a.name}: ${a.promise}\n  mutates ${a.mutate.join('\n          ')}\n  tests   ${a.tests.join(' ')}`);
  console.log('\nnamed mutations:');
  for (const n of allNamed) console.log(`  ${n.id} (${n.area}, ${n.file}): ${n.why}`);
  process.exit(0);
}

mkdirSync(OUT, { recursive: true });
const started = Date.now();
const lines = [];
const say = (line = '') => {
  console.log(line);
  lines.push(line);
};
let failed = false;

// --- Stryker ------------------------------------------------------------------------------

async function runStryker(areas) {
  if (areas.length === 0) return;
  const { Stryker } = await import('@stryker-mutator/core');
  const base = config.default;
  const t0 = Date.now();
  let results;
  try {
    results = await new Stryker({
      ...base,
      mutate: areas.flatMap((a) => a.mutate),
      tap: { ...base.tap, testFiles: [...new Set(areas.flatMap((a) => a.tests))] },
    }).runMutationTest();
  } catch (err) {
    failed = true;
    say(`Stryker failed: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const seconds = (Date.now() - t0) / 1000;
  const byFile = new Map();
  for (const r of results) {
    const file = relative(ROOT, r.fileName ?? '');
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file).push(r);
  }
  say('');
  say(`Stryker: ${areas.map((a) => a.name).join(', ')} — ${results.length} mutants in ${seconds.toFixed(0)} s`);
  const count = (rs, ...statuses) => rs.filter((r) => statuses.includes(r.status)).length;
  const row = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(34) : String(c).padStart(8))).join(' ');
  say(row(['file', 'score %', 'killed', 'timeout', 'survived', 'no cov', 'errors']));
  const totals = [];
  for (const [file, rs] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    totals.push(...rs);
    say(row([file, ...scoreCells(rs, count)]));
  }
  say(row(['all', ...scoreCells(totals, count)]));
  const survivors = results.filter((r) => r.status === 'Survived' || r.status === 'NoCoverage');
  if (survivors.length > 0) {
    say('');
    say(`Surviving mutants (${survivors.length}; the diffs are in .mutate/report/mutation.html):`);
    for (const r of survivors.sort((a, b) => a.fileName.localeCompare(b.fileName) || a.location.start.line - b.location.start.line)) {
      const replacement = (r.replacement ?? '').replace(/\s+/g, ' ').slice(0, 70);
      say(`  ${relative(ROOT, r.fileName)}:${r.location.start.line} ${r.mutatorName}${r.status === 'NoCoverage' ? ' (no test reaches it)' : ''} → ${replacement}`);
    }
  }
}

/** Score = (killed + timeout) / valid mutants, where compile and runtime errors are not valid. */
function scoreCells(rs, count) {
  const detected = count(rs, 'Killed', 'Timeout');
  const valid = detected + count(rs, 'Survived', 'NoCoverage');
  const score = valid === 0 ? 'n/a' : ((100 * detected) / valid).toFixed(1);
  return [score, count(rs, 'Killed'), count(rs, 'Timeout'), count(rs, 'Survived'), count(rs, 'NoCoverage'), count(rs, 'CompileError', 'RuntimeError')];
}

// --- named mutations ----------------------------------------------------------------------

/** Runs a command in `cwd`; resolves with its exit code (null on timeout) and its output. */
function run(cmd, argv, cwd, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s) => (output += s));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? null : code, output });
    });
  });
}

const compiled = (test) => join('dist', test.replace(/\.ts$/, '.js'));

/** The leaf tests that failed, from node:test's TAP output. */
function failures(tap) {
  const names = [...tap.matchAll(/^(\s*)not ok \d+ - (.*)$/gm)].map((m) => ({ depth: m[1].length, name: m[2] }));
  const deepest = Math.max(0, ...names.map((n) => n.depth));
  return names.filter((n) => n.depth === deepest).map((n) => n.name);
}

async function runNamed(named) {
  if (named.length === 0) return;
  const scratch = mkdtempSync(join(tmpdir(), 'tether-mutate-'));
  const skip = new Set(['node_modules', 'dist', '.git', '.mutate']);
  cpSync(ROOT, scratch, { recursive: true, filter: (src) => !skip.has(relative(ROOT, src).split('/')[0]) });
  symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
  const tsc = [...TSC, '--incremental', '--tsBuildInfoFile', join(scratch, '.tsbuildinfo')];
  say('');
  say(`Named mutations: ${named.length}, in ${args.keep ? scratch : 'a scratch copy'}`);
  try {
    const build = await run(process.execPath, tsc, scratch, 600_000);
    if (build.code !== 0) {
      failed = true;
      say(`the scratch copy does not build unmutated:\n${build.output.slice(0, 2000)}`);
      return;
    }
    // A mutation counts as caught only if its tests pass without it; how long they take then
    // sets the time a mutated run gets before it counts as hung (a mutant loops as often as not).
    const tests = [...new Set(named.flatMap((n) => n.tests))];
    const broken = new Set();
    const took = new Map();
    for (const test of tests) {
      const t0 = Date.now();
      const one = await run(process.execPath, ['--test', '--test-reporter=tap', compiled(test)], scratch, 900_000);
      took.set(test, Date.now() - t0);
      if (one.code !== 0) broken.add(test);
    }
    if (broken.size > 0) say(`  tests failing without any mutation: ${[...broken].join(', ')}`);
    const timeoutFor = (n) => Math.max(60_000, 4 * n.tests.reduce((sum, t) => sum + (took.get(t) ?? 0), 0));
    for (const n of named) {
      const t0 = Date.now();
      const stale = n.tests.filter((t) => broken.has(t));
      const verdict = stale.length > 0 ? { status: 'invalid', detail: `${stale.join(', ')} fail without the mutation` } : await applyOne(n, scratch, tsc, timeoutFor(n));
      const seconds = ((Date.now() - t0) / 1000).toFixed(0);
      if (verdict.status !== 'caught') failed = true;
      say(`  ${verdict.status.toUpperCase().padEnd(8)} ${n.id} (${n.file}, ${seconds} s)${verdict.detail ? `: ${verdict.detail}` : ''}`);
      if (verdict.status === 'survived') say(`           why it matters: ${n.why}`);
    }
  } finally {
    if (!args.keep) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Whether the scratch copy's dist/ holds a compiled TypeScript mutation. */
let distHoldsMutant = false;

/** Applies one named mutation to the scratch copy, runs its tests, and puts the file back. */
async function applyOne(n, scratch, tsc, timeoutMs) {
  const path = join(scratch, n.file);
  if (!existsSync(path)) return { status: 'invalid', detail: `${n.file} does not exist; update ${NAMED_FILE}` };
  const original = readFileSync(path, 'utf8');
  const found = original.split(n.find).length - 1;
  if (found !== 1) return { status: 'invalid', detail: `its find text occurs ${found} times in ${n.file}, not once; update ${NAMED_FILE}` };
  const ts = n.file.endsWith('.ts');
  if (!ts && distHoldsMutant) {
    // dist/ still holds the last TypeScript mutation, compiled in; the sources are back as they were.
    const rebuild = await run(process.execPath, tsc, scratch, 600_000);
    if (rebuild.code !== 0) return { status: 'invalid', detail: 'the scratch copy no longer builds unmutated' };
    distHoldsMutant = false;
  }
  writeFileSync(path, original.replace(n.find, () => n.replace));
  try {
    if (ts) {
      distHoldsMutant = true;
      const build = await run(process.execPath, tsc, scratch, 600_000);
      if (build.code !== 0) {
        const first = build.output.split('\n').filter((l) => l.includes('error TS')).slice(0, 3).join('; ');
        return { status: 'invalid', detail: `the build failed with it: ${first || build.output.slice(0, 300)}` };
      }
    }
    const r = await run(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=tap', ...n.tests.map(compiled)], scratch, timeoutMs);
    if (r.code === 0) return { status: 'survived', detail: `${n.tests.join(', ')} still pass` };
    const names = failures(r.output);
    const hung = r.code === null ? `the tests hung (stopped after ${(timeoutMs / 1000).toFixed(0)} s)` : '';
    if (names.length === 0) return { status: 'caught', detail: hung || 'the tests failed before any test reported' };
    return { status: 'caught', detail: `${names.length} failing${hung ? `, then ${hung}` : ''}: ${names.slice(0, 2).join('; ').slice(0, 160)}` };
  } finally {
    writeFileSync(path, original);
  }
}

// --- main ---------------------------------------------------------------------------------

if (!args['named-only']) await runStryker(chosen.areas);
if (!args['stryker-only']) await runNamed(chosen.named);
say('');
say(`Wall time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
writeFileSync(join(OUT, 'summary.txt'), `npm run mutate ${process.argv.slice(2).join(' ')}\n${new Date().toISOString()}\n${lines.join('\n')}\n`);
process.exit(failed ? 1 : 0);
