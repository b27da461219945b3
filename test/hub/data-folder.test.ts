// The hub's data folder and what it keeps there are private to the hub's user: the folder 0700,
// the database with its WAL and shared-memory files 0600, the API token 0600.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { API_TOKEN_FILE } from '../../src/hub/api-token.js';
import { ensureDataFolder } from '../../src/hub/data-folder.js';
import { startTestHub } from '../support/test-hub.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-data-folder-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

void describe('hub data folder', { timeout: 30_000 }, () => {
  void it('security: a hub makes its data folder 0700 and tether.db, -wal, -shm and api-token 0600, whatever the umask', async () => {
    const data = path.join(root, 'fresh', 'data');
    const umask = process.umask(0o022);
    let hub;
    try {
      hub = await startTestHub({ data });
    } finally {
      process.umask(umask);
    }
    try {
      // A write makes sure the WAL file exists and has been written to.
      await hub.store.addDevice('perm-probe', {});
      assert.equal(modeOf(data), 0o700);
      for (const name of ['tether.db', 'tether.db-wal', 'tether.db-shm', API_TOKEN_FILE]) {
        assert.equal(modeOf(path.join(data, name)).toString(8), '600', name);
      }
    } finally {
      await hub.close();
    }
  });

  void it('security: a database and token file left readable by an older hub are narrowed to 0600 on start', async () => {
    const data = path.join(root, 'older');
    const first = await startTestHub({ data });
    await first.close();
    for (const name of ['tether.db', API_TOKEN_FILE]) fs.chmodSync(path.join(data, name), 0o644);
    const again = await startTestHub({ data });
    try {
      for (const name of ['tether.db', API_TOKEN_FILE]) assert.equal(modeOf(path.join(data, name)).toString(8), '600', name);
    } finally {
      await again.close();
    }
  });

  void it('security: an existing data folder others can read is left as it is, with a warning that names it and the fix', () => {
    const data = path.join(root, 'shared');
    fs.mkdirSync(data, { mode: 0o755 });
    fs.chmodSync(data, 0o755);
    const warnings: string[] = [];
    ensureDataFolder(data, { warn: (m) => warnings.push(m) });
    assert.equal(modeOf(data), 0o755);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', new RegExp(`${data}.*mode 755.*chmod 700 ${data}`));

    const quiet: string[] = [];
    fs.chmodSync(data, 0o700);
    ensureDataFolder(data, { warn: (m) => quiet.push(m) });
    assert.deepEqual(quiet, []);
  });

  void it('a data folder path that is a file is refused with what to change', () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, '');
    assert.throws(() => ensureDataFolder(file), /is a file; give a folder/);
  });
});
