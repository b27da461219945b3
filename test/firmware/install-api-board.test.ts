// The `tether install` line the API gives for a board registered from the browser: run as
// shown (the token in NAME.hub-token), it writes the very config/hub.json the API showed and
// registers nothing new. The fake board never runs what it got, so the wait ends in not_online.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { runInstall, type InstallFlags } from '../../src/cli/install-command.js';
import type { NewBoardLink } from '../../src/hub/types.js';
import { keyOfToken } from '../../src/protocol/auth.js';
import { FakeBoard } from '../support/fake-repl.js';
import { startTestHub } from '../support/test-hub.js';
import { boardIo, capture, tempDir } from './install-io.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** `tether install --name N --hub URL --hub-data DIR` as flags. */
function installFlags(line: string): Pick<InstallFlags, 'name' | 'hub' | 'hubData'> {
  const words = line.split(' ');
  assert.deepEqual(words.slice(0, 2), ['tether', 'install']);
  const value = (flag: string) => words[words.indexOf(flag) + 1] ?? assert.fail(`${flag} in ${line}`);
  return { name: value('--name'), hub: value('--hub'), hubData: value('--hub-data') };
}

test('the install line of POST /api/devices writes the config/hub.json the API showed, with its token, and registers nothing new', { timeout: 60_000 }, async () => {
  const hub = await startTestHub();
  try {
    const res = await fetch(`http://127.0.0.1:${hub.http.port}/api/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.apiToken.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'tank' }),
    });
    assert.equal(res.status, 201);
    const made = (await res.json()) as NewBoardLink;
    const line = made.link.installCommand ?? assert.fail('an install line');
    // The test hub's link is not at the defaults: the material says to add --hub-config.
    assert.ok(made.link.notes.some((n) => /add --hub-config FILE/.test(n)), made.link.notes.join('\n'));
    const hubConfig = path.join(tempDir(dirs), 'hub.json');
    fs.writeFileSync(hubConfig, JSON.stringify({ data: hub.data, link: { host: '127.0.0.1', port: hub.link.port } }));

    const board = new FakeBoard();
    const io = boardIo(board, dirs);
    fs.writeFileSync(path.join(io.tokenDir ?? '', made.link.installTokenFile), `${made.token}\n`, { mode: 0o600 });
    const run = capture();
    const ended = await runInstall({ ...installFlags(line), hubConfig, wait: 0.5 }, run.ctx, io).catch((e: unknown) => e);
    assert.match(String(ended), /not_online/, run.err.join('\n'));
    assert.equal(new TextDecoder().decode(board.files.get('/config/hub.json')), `${made.link.hubJson}\n`, 'the config the API showed');
    assert.deepEqual((await hub.store.keyOf('tank')), keyOfToken(made.token), 'the token the API made still links');
    assert.ok(!run.err.some((l) => /registered tank|new token/.test(l)), run.err.join('\n'));
  } finally {
    await hub.close();
  }
});
