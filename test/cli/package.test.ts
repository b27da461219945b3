// The npm package: `npm pack` makes a tarball that works once installed, with nothing from this
// checkout but the tarball and the npm cache, and no network.
//
// How it installs, and why not `npm install -g TARBALL --offline`: a global install resolves the
// dependency ranges against the registry's package documents, which `npm ci` (what fills the
// cache in CI) never fetches, so offline it fails with ENOTCACHED. This test installs the
// tarball with `npm ci --offline` into a scratch project whose lockfile pins the versions of
// package-lock.json: npm unpacks the real tarball, takes every dependency's tarball from the cache
// by its integrity, leaves the devDependencies out and links `tether` into node_modules/.bin, as
// a global install links it into PREFIX/bin.
//
// Install scripts are skipped (--ignore-scripts): better-sqlite3 then has no native binding.
// Offline, its install script compiles SQLite with node-gyp (about 90 s on a 2-core machine),
// too slow for the suite. `tether --help`, `tether device --sim` and `tether service … --print`
// never load better-sqlite3 (only the hub's store does), which the last test checks.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { collect, ROOT } from './run-cli.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-package-'));

after(() => fs.rmSync(work, { recursive: true, force: true }));

interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines?: Record<string, string>;
}

interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  dev?: boolean;
  link?: boolean;
}

/**
 * npm's own settings from `npm test` (npm_config_*, npm_package_*) would leak into the child npm;
 * only the cache location, the user config and the basics are passed on.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (!lower.startsWith('npm_') || lower === 'npm_config_cache' || lower === 'npm_config_userconfig') env[key] = value;
  }
  // A registry on a closed loopback port: should npm try the network despite --offline, it fails here.
  return { ...env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

function npm(args: string[], cwd: string): string {
  const run = spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `npm ${args.join(' ')} failed (${run.status ?? run.signal ?? String(run.error)}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** A lockfile for a project that depends only on the tarball, pinned to package-lock.json's versions. */
function scratchLockfile(pkg: PackageJson, spec: string): unknown {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: 'tether-package-check', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: spec, dependencies: pkg.dependencies, bin: pkg.bin, ...(pkg.engines ? { engines: pkg.engines } : {}) },
  };
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '' || entry.dev === true || entry.link === true) continue;
    // package-lock.json may leave out `resolved` for registry packages (omit-lockfile-registry-resolved);
    // with it, npm takes the tarball from the cache by integrity instead of asking the registry.
    const name = entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.slice(name.lastIndexOf('/') + 1)}-${entry.version ?? ''}.tgz`;
    packages[where] = { ...entry, resolved };
  }
  return { name: 'tether-package-check', lockfileVersion: 3, requires: true, packages };
}

/** node on PATH for the `#!/usr/bin/env node` line of the installed command. */
const PATH_WITH_NODE = `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`;

void describe('the npm package, packed and installed offline', { timeout: 90_000 }, () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const project = path.join(work, 'project');
  const installed = path.join(project, 'node_modules', pkg.name);
  const tether = path.join(project, 'node_modules', '.bin', 'tether');

  test('npm pack ships the built code, the dashboard, the docs, examples and firmware, and no tests or sources', () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js')), 'the tree is built before the tests run (npm run build)');
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
    assert.ok(packed !== undefined);
    assert.equal(packed.filename, `${pkg.name}-${pkg.version}.tgz`);
    const files = new Set(packed.files.map((f) => f.path));
    for (const needed of ['package.json', 'README.md', 'bin/tether.js', 'dist/src/cli/main.js', 'dist/src/service/systemd-unit.js', 'dist/web/index.html', 'docs/service.md', 'examples/bench.yaml', 'firmware/main.py', 'firmware/tether/ota.py']) {
      assert.ok(files.has(needed), `${needed} is in the package`);
    }
    const unwanted = [...files].filter((f) => /^(src|test|bench|scripts|dist\/test|dist\/bench|firmware\/tests|node_modules)\//.test(f) || f.includes('__pycache__'));
    assert.deepEqual(unwanted, []);
  });

  test('npm ci --offline installs the tarball with its dependencies and without the devDependencies', () => {
    const spec = `file:../${pkg.name}-${pkg.version}.tgz`;
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tether-package-check', private: true, dependencies: { [pkg.name]: spec } }));
    fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(scratchLockfile(pkg, spec)));
    npm(['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
    assert.equal(fs.realpathSync(tether), path.join(fs.realpathSync(installed), 'bin', 'tether.js'));
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(fs.existsSync(path.join(project, 'node_modules', dep, 'package.json')), `${dep} is installed`);
    for (const dev of ['typescript', 'eslint', 'esbuild', 'preact']) assert.equal(fs.existsSync(path.join(project, 'node_modules', dev)), false, `${dev} (a devDependency) is not installed`);
    assert.equal(fs.existsSync(path.join(installed, 'src')), false, 'no TypeScript sources');
  });

  test("the SDK imports by the package's name: tether-hw/client and tether-hw/protocol", () => {
    const script = `const c = await import('${pkg.name}/client'); const p = await import('${pkg.name}/protocol'); console.log(typeof c.connect, typeof p.TETHER_VERSION);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'function string');
  });

  test('the installed tether runs: --help, and device --sim until it listens and answers', async () => {
    const help = spawnSync(tether, ['--help'], { cwd: work, env: { ...process.env, PATH: PATH_WITH_NODE }, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: tether /);
    assert.match(help.stdout, /^ {2}service /m);

    const child = spawn(tether, ['device', '--sim', '--host', '127.0.0.1', '--port', '0'], { cwd: work, env: { ...process.env, PATH: PATH_WITH_NODE, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = collect(child, 60_000);
    try {
      let seen = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening on" line within 20 s; stdout: ${seen}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(seen);
          if (m !== null) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          void exited.then((r) => reject(new Error(`the installed tether device exited (${code}) before listening:\n${r.stderr}`)));
        });
      });
      const board = await connect({ host: '127.0.0.1', port });
      try {
        assert.equal((await board.getVersion()).protocol, 1);
      } finally {
        await board.close();
      }
      child.kill('SIGTERM');
      const result = await exited;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /SIGTERM: closing connections and putting pins in their safe state/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('service --print from the installed package names its own bin by real path, and better-sqlite3 was not needed', () => {
    const run = spawnSync(tether, ['service', 'install', 'device', '--config', path.join(installed, 'examples', 'bench.yaml'), '--print'], {
      cwd: work,
      env: { ...process.env, PATH: PATH_WITH_NODE, SUDO_USER: '' },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const execStart = run.stdout.split('\n').find((l) => l.startsWith('ExecStart='));
    assert.equal(execStart, `ExecStart=${process.execPath} ${path.join(fs.realpathSync(installed), 'bin', 'tether.js')} device --config ${path.join(fs.realpathSync(installed), 'examples', 'bench.yaml')}`);
    // Installed with --ignore-scripts: had anything above loaded better-sqlite3, it would have failed.
    assert.equal(fs.existsSync(path.join(project, 'node_modules', 'better-sqlite3', 'build')), false);
  });
});
