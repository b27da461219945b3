// Fault injection: firmware updates across real reboots. Every start of the board is a fresh
// CPython process (firmware/tests/host/ota_boot_sim.py) on a temporary copy of a small firmware
// tree: boot.py and tether/ota.py are the real ones, main.py either comes up and confirms or is
// broken. Power cuts end the process at a journal step without unwinding anything.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { manifestDigest } from '../../src/firmware/index.js';
import { FIRMWARE_DIR, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const FIRMWARE = FIRMWARE_DIR;
const SIM = join(FIRMWARE, 'tests', 'host', 'ota_boot_sim.py');
const CUT_EXIT = 86;

const skip = SKIP_WITHOUT_PYTHON3;

const HEALTHY_MAIN = `import tether
from tether import util
from tether.ota import Updater
print('main: running', tether.VERSION, util.WHO)
print('main: confirmed' if Updater().confirm() else 'main: nothing to confirm')
`;

const OLD: Record<string, string> = {
  'main.py': HEALTHY_MAIN,
  'tether/__init__.py': "VERSION = '0.1.0'\n",
  'tether/util.py': "WHO = 'old util'\n",
  'config/device.json': '{"name": "sim", "update": {"health_s": 20}}\n',
};

const NEW: Record<string, string> = {
  'main.py': `# 0.1.1\n${HEALTHY_MAIN}`,
  'tether/__init__.py': "VERSION = '0.1.1'\n",
  'tether/util.py': "WHO = 'new util'\n",
  'tether/added.py': 'ADDED = 1\n',
  'tether/sub/deep.py': 'DEEP = 1\n',
};

const BROKEN_MAIN = "raise RuntimeError('this build is broken')\n";
/** tether/auth.py and fields.py check the commit's manifest_mac. */
const REAL = ['boot.py', 'tether/ota.py', 'tether/errors.py', 'tether/auth.py', 'tether/fields.py'];

const scratch = mkdtempSync(join(tmpdir(), 'tether-ota-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

function copyReal(dir: string, paths: readonly string[]): void {
  for (const path of paths) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    copyFileSync(join(FIRMWARE, path), join(dir, path));
  }
}

/** A board's flash with the old version, and a folder with the update's files. */
function setup(update: Record<string, string> = NEW): { root: string; update: string } {
  counter += 1;
  const root = join(scratch, `board-${counter}`);
  const updateDir = join(scratch, `update-${counter}`);
  writeTree(root, OLD);
  copyReal(root, REAL);
  // The update carries the real tether/ota.py and errors.py too, unless it brings its own.
  copyReal(updateDir, ['tether/ota.py', 'tether/errors.py']);
  writeTree(updateDir, update);
  return { root, update: updateDir };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sim(root: string, ...args: string[]): Promise<Run> {
  const child = spawn('python3', [SIM, root, ...args], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function boot(root: string, ...args: string[]): Promise<Run> {
  return sim(root, ...args);
}

function update(root: string, dir: string, ...args: string[]): Promise<Run> {
  return sim(root, '--update', dir, ...args);
}

async function status(root: string): Promise<Record<string, unknown>> {
  const r = await sim(root, '--status');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Runs the jobs, a few at a time (each is a sequence of processes on its own tree). */
async function pool(jobs: (() => Promise<void>)[], width = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job !== undefined) await job();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** path → sha256 of every file on the board's flash (its ota/ area left out), plus its folders. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (path === 'ota' || entry.name === '__pycache__') continue;
      if (entry.isDirectory()) {
        out[`dir:${path}`] = '';
        walk(path);
      } else {
        out[path] = createHash('sha256').update(readFileSync(join(root, path))).digest('hex');
      }
    }
  };
  walk('');
  return out;
}

function steps(run: Run): string[] {
  return [...run.stderr.matchAll(/^step: (.+)$/gm)].map((m) => m[1] ?? '');
}

function why(run: Run): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

void describe('firmware update across simulated reboots (fault injection)', { skip, timeout: 480_000 }, () => {
  const reference = { root: '', update: '' };
  let oldTree: Record<string, string> = {};
  let newTree: Record<string, string> = {};
  let applied: Run = { code: null, stdout: '', stderr: '' };
  before(async () => {
    Object.assign(reference, setup());
    oldTree = tree(reference.root);
    const first = await update(reference.root, reference.update);
    assert.equal(first.code, 0, why(first));
    applied = await boot(reference.root);
    newTree = tree(reference.root);
  });

  void test('update, reboot, confirmation: the new version runs and is confirmed', async () => {
    assert.equal(applied.code, 0, why(applied));
    assert.match(applied.stdout, /^ota: applied update 0\.1\.1 \(was 0\.1\.0\); version 0\.1\.1 on trial, boot 1 of 3: confirm within 20 s$/m);
    // main.py imported the new modules, not the ones boot.py had loaded
    assert.match(applied.stdout, /^main: running 0\.1\.1 new util$/m);
    assert.match(applied.stdout, /^main: confirmed$/m);
    assert.notDeepEqual(newTree, oldTree);
    assert.equal(newTree['tether/added.py'] !== undefined && newTree['dir:tether/sub'] !== undefined, true);
    assert.equal(newTree['config/device.json'], oldTree['config/device.json']);
    assert.deepEqual(await status(reference.root), { version: '0.1.1', previous: '0.1.0', state: 'confirmed', boot_count: 0, rolled_back_from: null });
    // A start with nothing to do for the updater does not load tether/ota.py at all.
    const again = await boot(reference.root);
    assert.equal(again.code, 0, why(again));
    assert.doesNotMatch(again.stdout, /^ota/m);
    assert.match(again.stdout, /^main: running 0\.1\.1 new util$/m);
    assert.deepEqual(tree(reference.root), newTree);
  });

  void test('a broken main.py is rolled back after 3 trial boots, and the old main runs again', async () => {
    const { root, update: dir } = setup({ ...NEW, 'main.py': BROKEN_MAIN });
    assert.equal((await update(root, dir)).code, 0);
    for (let n = 1; n <= 3; n++) {
      const run = await boot(root);
      assert.equal(run.code, 1, why(run));
      assert.match(run.stdout, new RegExp(`version 0\\.1\\.1 on trial, boot ${n} of 3`));
      assert.match(run.stderr, /RuntimeError: this build is broken/);
      assert.deepEqual(await status(root), { version: '0.1.1', previous: '0.1.0', state: 'trial', boot_count: n, rolled_back_from: null });
    }
    const fourth = await boot(root);
    assert.equal(fourth.code, 0, why(fourth));
    assert.match(fourth.stdout, /^ota: version 0\.1\.1 was not confirmed within 3 boots: rolled back to 0\.1\.0$/m);
    assert.match(fourth.stdout, /^main: running 0\.1\.0 old util$/m);
    assert.deepEqual(tree(root), oldTree);
    assert.deepEqual(await status(root), { version: '0.1.0', previous: null, state: 'confirmed', boot_count: 0, rolled_back_from: '0.1.1' });
    const fifth = await boot(root);
    assert.equal(fifth.code, 0, why(fifth));
    assert.deepEqual(tree(root), oldTree);
  });

  void test('a broken tether/ota.py in the update is rolled back by the backup copy of the old one', async () => {
    const { root, update: dir } = setup({ ...NEW, 'tether/ota.py': 'def broken(:\n' });
    assert.equal((await update(root, dir)).code, 0);
    const runs: Run[] = [];
    for (let n = 0; n < 4; n++) runs.push(await boot(root));
    assert.match(runs[0]?.stdout ?? '', /applied update 0\.1\.1/);
    assert.match(runs[1]?.stdout ?? '', /^ota: boot step failed: SyntaxError/m);
    assert.match(runs[1]?.stdout ?? '', /^ota \(backup copy\): version 0\.1\.1 on trial, boot 2 of 3/m);
    assert.match(runs[3]?.stdout ?? '', /^ota \(backup copy\): version 0\.1\.1 was not confirmed within 3 boots: rolled back to 0\.1\.0$/m);
    assert.match(runs[3]?.stdout ?? '', /^main: running 0\.1\.0 old util$/m);
    assert.deepEqual(tree(root), oldTree);
    assert.equal((await status(root))['rolled_back_from'], '0.1.1');
  });

  void test('a power cut at every journal step leaves a tree that boots as the old or the new version, never a mix', async () => {
    const traced = setup();
    const updateRun = await update(traced.root, traced.update, '--trace');
    const bootRun = await boot(traced.root, '--trace');
    const updateSteps = steps(updateRun);
    const bootSteps = steps(bootRun);
    assert.ok(updateSteps.includes('journal staged'), updateRun.stderr);
    assert.ok(bootSteps.includes('journal applying') && bootSteps.includes('state trial'), bootRun.stderr);
    assert.ok(bootSteps.length >= 12, bootSteps.join(', '));
    const outcomes = { old: 0, new: 0 };
    const check = async (root: string, label: string) => {
      const recovery = await boot(root);
      assert.equal(recovery.code, 0, `${label}: ${why(recovery)}`);
      const after = tree(root);
      // main.py prints the version the tether package reports and a module's own text
      if (JSON.stringify(after) === JSON.stringify(newTree)) {
        outcomes.new += 1;
        assert.match(recovery.stdout, /^main: running 0\.1\.1 new util$/m, label);
      } else {
        assert.deepEqual(after, oldTree, `${label}: the tree is neither the old nor the new version`);
        outcomes.old += 1;
        assert.match(recovery.stdout, /^main: running 0\.1\.0 old util$/m, label);
      }
      const second = await boot(root);
      assert.equal(second.code, 0, `${label}: ${why(second)}`);
      assert.deepEqual(tree(root), after, `${label}: a second boot changed the tree`);
    };
    const jobs: (() => Promise<void>)[] = [];
    updateSteps.forEach((name, i) =>
      jobs.push(async () => {
        const { root, update: dir } = setup();
        const cut = await update(root, dir, '--cut-at', String(i + 1));
        assert.equal(cut.code, CUT_EXIT, why(cut));
        await check(root, `cut at update step ${i + 1} (${name})`);
      }),
    );
    bootSteps.forEach((name, i) =>
      jobs.push(async () => {
        const { root, update: dir } = setup();
        assert.equal((await update(root, dir)).code, 0);
        const cut = await boot(root, '--cut-at', String(i + 1));
        assert.equal(cut.code, CUT_EXIT, why(cut));
        assert.doesNotMatch(cut.stdout, /^main:/m);
        await check(root, `cut at boot step ${i + 1} (${name})`);
      }),
    );
    await pool(jobs);
    assert.ok(outcomes.old > 0 && outcomes.new > 0, JSON.stringify(outcomes));
  });
});

void test('the CLI and the board compute the same manifest digest (op "status" staging.manifest)', { skip, timeout: 30_000 }, () => {
  const files = [
    { path: 'main.py', size: 12, sha256: 'a'.repeat(64) },
    { path: 'tether/__init__.py', size: 0, sha256: createHash('sha256').digest('hex') },
  ];
  const code = `import sys, json\nsys.path.insert(0, ${JSON.stringify(FIRMWARE)})\nfrom tether.ota import manifest_digest\nprint(manifest_digest([[f['path'], f['size'], f['sha256']] for f in json.load(sys.stdin)]))`;
  const r = spawnSync('python3', ['-c', code], { input: JSON.stringify(files), encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), manifestDigest(files));
});
