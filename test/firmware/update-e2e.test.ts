// `tether update` end to end against the real firmware under CPython: a board whose flash is a
// temp copy of firmware/, powered on again and again by firmware/tests/host/boot_loop.py
// (boot.py, then run_board.py, and again after every reset). Directly, with a broken release
// that the board rolls back, and through the real hub.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import type { JsonObject } from '../../src/protocol/index.js';
import { runCli, type CliResult } from '../cli/run-cli.js';
import { filesDiffering, firmwareCopy, otaBoardConfig, startBootLoopBoard, testReleases, type BootLoopBoard } from '../support/boot-loop-board.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const ADMIN = 'admin-token-0123456789abcdef';
const HUB_CONFIG = otaBoardConfig('e2e', 'update e2e board');
/** Direct mode: updates need an admin token. */
const CONFIG = { ...HUB_CONFIG, auth: { tokens: [{ token: ADMIN, scope: 'admin' }] } };

const scratch = mkdtempSync(join(tmpdir(), 'tether-update-e2e-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const { good: NEW, broken: BROKEN } = testReleases(scratch);

/** Every file `tether update` sends from `release` has the same content on the board's flash. */
async function assertFlashHolds(flash: string, releaseDir: string, why: string): Promise<void> {
  const differ = await filesDiffering(flash, releaseDir);
  assert.deepEqual(differ, [], `${why}: files on the flash that differ from ${relative(scratch, releaseDir)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

type Board = BootLoopBoard;

/** A board whose flash is a fresh copy of firmware/ with `config`, powered by boot_loop.py. */
async function startBoard(name: string, config: unknown, args: string[]): Promise<Board> {
  const board = await startBootLoopBoard(scratch, name, config, args);
  cleanups.push(() => board.close());
  return board;
}

/** Runs `check`; a failure carries the CLI's output and the board's console. */
async function withContext(board: Board, cli: CliResult | undefined, check: () => Promise<void> | void): Promise<void> {
  try {
    await check();
  } catch (err) {
    const output = cli === undefined ? '' : `\n--- tether (exit ${String(cli.code)}) stdout ---\n${cli.stdout}\n--- tether stderr ---\n${cli.stderr}`;
    throw new Error(`${(err as Error).message}${output}\n--- board stderr ---\n${board.stderr()}`, { cause: err });
  }
}

async function request(port: number, body: JsonObject): Promise<JsonObject> {
  const client = await connect({ host: '127.0.0.1', port, token: ADMIN });
  try {
    return await client.request(body);
  } finally {
    await client.close();
  }
}

describe('tether update against the firmware under CPython, across real resets', { timeout: 180_000 }, () => {
  test('directly: 0.1.0 → 0.1.1, progress shown, the flash holds the release, get_version says 0.1.1', async () => {
    const port = await freePort();
    const board = await startBoard('direct', CONFIG, ['--port', String(port)]);
    // A module an earlier release had and 0.1.1 no longer has.
    writeFileSync(join(board.flash, 'tether', 'obsolete.py'), '# dropped by 0.1.1\n');
    const cli = await runCli(['update', '127.0.0.1', String(port), '--firmware', NEW, '--token', ADMIN, '--wait', '20'], { timeoutMs: 40_000 });
    await withContext(board, cli, async () => {
      assert.equal(cli.code, 0);
      assert.match(cli.stdout, /^version 0\.1\.0 → 0\.1\.1$/m);
      // Only what differs from the board's files goes: 0.1.1 changed led.py and the version.
      assert.match(cli.stderr, /runs 0\.1\.0; sending 0\.1\.1: 2 files, [\d.]+ KiB \(the board has the other \d+\); deleting tether\/obsolete\.py$/m);
      assert.equal(existsSync(join(board.flash, 'tether', 'obsolete.py')), false);
      assert.match(cli.stderr, /sent 100% /);
      assert.match(cli.stderr, /the board checked every file; it resets in 1000 ms and applies 0\.1\.1/);
      assert.equal(board.boots.length, 2, 'one reset');
      assert.equal(board.boots[1]?.port, port);
      assert.equal((await request(port, { action: 'get_version' }))['version'], '0.1.1');
      assert.deepEqual(await request(port, { action: 'update', op: 'status' }), {
        action: 'update',
        op: 'status',
        update: { version: '0.1.1', previous: '0.1.0', state: 'confirmed', boot_count: 0, rolled_back_from: null },
        ok: true,
      });
      await assertFlashHolds(board.flash, NEW, 'after the update');
      assert.match(board.stderr(), /ota: applied update 0\.1\.1 \(was 0\.1\.0\); version 0\.1\.1 on trial, boot 1 of 3/);
    });
  });

  test('a release that fails at import: 3 trial boots, the board rolls back to 0.1.0 and tether update fails', async () => {
    const port = await freePort();
    const board = await startBoard('rollback', CONFIG, ['--port', String(port)]);
    const cli = await runCli(['update', '127.0.0.1', String(port), '--firmware', BROKEN, '--token', ADMIN, '--wait', '40'], { timeoutMs: 50_000 });
    await withContext(board, cli, async () => {
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /127\.0\.0\.1:\d+ rolled back to 0\.1\.0: version 0\.1\.1 did not confirm that it was healthy .* within 3 boots/);
      assert.doesNotMatch(cli.stdout, /→/);
      assert.equal((await request(port, { action: 'get_version' }))['version'], '0.1.0');
      const status = (await request(port, { action: 'update', op: 'status' }))['update'] as JsonObject;
      assert.equal(status['rolled_back_from'], '0.1.1');
      assert.equal(status['version'], '0.1.0');
      assert.equal(status['state'], 'confirmed');
      assert.equal(board.stderr().match(/RuntimeError: 0\.1\.1 is broken/g)?.length, 3, 'three trial boots that fail at import');
      assert.match(board.stderr(), /ota: version 0\.1\.1 was not confirmed within 3 boots: rolled back to 0\.1\.0/);
      await assertFlashHolds(board.flash, firmwareCopy(scratch, 'original'), 'after the rollback');
    });
  });

  test('through the hub: 0.1.0 → 0.1.1, and the hub sees tether-mpy 0.1.1 after the reset', async () => {
    const hub = await startTestHub({ data: join(scratch, 'hub') });
    cleanups.push(() => hub.close());
    const { token } = await hub.store.addDevice('pico');
    const board = await startBoard('hub', HUB_CONFIG, ['--hub', `127.0.0.1:${hub.link.port}`, '--id', 'pico', '--token', token, '--keepalive-ms', '200', '--no-listen']);
    const base = `http://127.0.0.1:${hub.http.port}`;
    const firmware = async (): Promise<unknown> => {
      const answer = (await (await fetch(`${base}/api/devices/pico`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } })).json()) as { device?: JsonObject };
      return answer.device?.['online'] === true ? answer.device['firmware'] : undefined;
    };
    await withContext(board, undefined, async () => assert.equal(await eventually(firmware, 'the board online at the hub', 10_000), 'tether-mpy 0.1.0'));
    const cli = await runCli(['update', '--device', 'pico', '--firmware', NEW, '--hub', base, '--api-token', hub.apiToken.token, '--wait', '20'], { timeoutMs: 40_000 });
    await withContext(board, cli, async () => {
      assert.equal(cli.code, 0);
      assert.match(cli.stdout, /^version 0\.1\.0 → 0\.1\.1$/m);
      assert.match(cli.stderr, /board pico \(via http:\/\/127\.0\.0\.1:\d+\) runs 0\.1\.0; sending 0\.1\.1/);
      assert.match(cli.stderr, /sent 100% /);
      assert.equal(board.boots.length, 2, 'one reset');
      assert.equal(await eventually(async () => ((await firmware()) === 'tether-mpy 0.1.1' ? true : undefined), 'the hub shows tether-mpy 0.1.1', 5000), true);
      await assertFlashHolds(board.flash, NEW, 'after the update');
    });
  });

  test('security: through a hub that dials the board (pull mode): the hub makes the manifest_mac with the configured token, and a commit without one is refused', async () => {
    const port = await freePort();
    const board = await startBoard('pull', CONFIG, ['--port', String(port)]);
    const hub = await startTestHub({ data: join(scratch, 'hub-pull'), config: { devices: [{ id: 'pi', address: `127.0.0.1:${port}`, token: ADMIN }] } });
    cleanups.push(() => hub.close());
    const base = `http://127.0.0.1:${hub.http.port}`;
    const headers = { authorization: `Bearer ${hub.apiToken.token}`, 'content-type': 'application/json' };
    const online = async (): Promise<true | undefined> => {
      const answer = (await (await fetch(`${base}/api/devices/pi`, { headers })).json()) as { device?: JsonObject };
      return answer.device?.['online'] === true ? true : undefined;
    };
    await withContext(board, undefined, async () => {
      await eventually(online, 'the board linked to the hub', 10_000);
      const bare = await fetch(`${base}/api/devices/pi/commands`, { method: 'POST', headers, body: JSON.stringify({ action: 'update', op: 'commit' }) });
      const error = ((await bare.json()) as { error?: JsonObject }).error;
      assert.equal(error?.['code'], 'missing_field', 'a commit naming no version and manifest gets no MAC from the hub');
      assert.match(String(error?.['message']), /^manifest_mac: /);
    });
    const cli = await runCli(['update', '--device', 'pi', '--firmware', NEW, '--hub', base, '--api-token', hub.apiToken.token, '--wait', '20'], { timeoutMs: 40_000 });
    await withContext(board, cli, async () => {
      assert.equal(cli.code, 0);
      assert.match(cli.stdout, /^version 0\.1\.0 → 0\.1\.1$/m);
      assert.equal(board.boots.length, 2, 'one reset');
      assert.equal((await request(port, { action: 'get_version' }))['version'], '0.1.1');
      await assertFlashHolds(board.flash, NEW, 'after the update');
    });
  });
});
