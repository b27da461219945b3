// `tether hub release add / list / remove` from the command line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { tempDataDir } from '../support/test-hub.js';
import { runCli } from './run-cli.js';

function firmwareFolder(version: string): string {
  const dir = tempDataDir();
  fs.mkdirSync(path.join(dir, 'tether'));
  fs.writeFileSync(path.join(dir, 'main.py'), 'from tether import app\n');
  fs.writeFileSync(path.join(dir, 'tether', '__init__.py'), `VERSION = '${version}'\n`);
  return dir;
}

void describe('tether hub release', { timeout: 60_000 }, () => {
  void test('add keeps a firmware folder as a release, list shows it, a second add of the version and a folder without firmware are refused, remove takes it out', async () => {
    const data = tempDataDir();
    const fw = firmwareFolder('0.4.0');
    try {
      const empty = await runCli(['hub', 'release', 'list', '--data', data]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.equal(empty.stdout, 'no firmware releases yet; add one with: tether hub release add DIR\n');
      const added = await runCli(['hub', 'release', 'add', fw, '--data', data]);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^added release 0\.4\.0: 2 files, 41 B \(manifest [0-9a-f]{12}\)\n$/);
      const listed = await runCli(['hub', 'release', 'list', '--data', data]);
      assert.match(listed.stdout, /^0\.4\.0\t2 files\t41 B\tadded \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
      const again = await runCli(['hub', 'release', 'add', fw, '--data', data]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^tether: the hub holds release 0\.4\.0 already; remove it first \(tether hub release remove 0\.4\.0\), or raise VERSION/);
      const notFirmware = await runCli(['hub', 'release', 'add', data, '--data', data]);
      assert.equal(notFirmware.code, 1);
      assert.match(notFirmware.stderr, /is not a firmware folder: it has no readable tether\/__init__\.py; give the folder with main\.py and tether\//);
      const removed = await runCli(['hub', 'release', 'remove', '0.4.0', '--data', data]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal(removed.stdout, 'removed release 0.4.0\n');
      const gone = await runCli(['hub', 'release', 'remove', '0.4.0', '--data', data]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /the hub holds no release "0\.4\.0"; list them with: tether hub release list/);
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
      fs.rmSync(fw, { recursive: true, force: true });
    }
  });

  void test('each release command has --help with what it does and an example', async () => {
    for (const sub of ['add', 'list', 'remove']) {
      const help = await runCli(['hub', 'release', sub, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: tether hub release ${sub} `));
      assert.match(help.stdout, new RegExp(`\\$ tether hub release ${sub}`));
    }
    const group = await runCli(['hub', 'release', '--help']);
    assert.match(group.stdout, /add \[options\] <dir>/);
  });
});
