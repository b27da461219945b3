// The firmware library's update side on its own: the bundle a folder makes (with coded
// refusals), the plan of what a board needs, and the OTA client's steps, events and coded
// failures against a board held in memory (memory-ota-channel.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TetherError } from '../../src/client/index.js';
import {
  DirectChannel,
  FIRMWARE_ERROR_CATALOGUE,
  FirmwareError,
  HubApiChannel,
  HubCommandChannel,
  OTA_ERROR_CATALOGUE,
  OtaClient,
  OtaError,
  collectFirmware,
  planUpdate,
  requireFiles,
  type OtaEvent,
  type OtaFailure,
} from '../../src/firmware/index.js';
import { HubError } from '../../src/hub/errors.js';
import { RELEASE_ERROR_CATALOGUE } from '../../src/hub/store/releases.js';
import { keyOfToken, manifestMac } from '../../src/protocol/auth.js';
import { MemoryOtaChannel } from './memory-ota-channel.js';
import { smallFirmwareFiles, writeFolder } from '../support/firmware-folder.js';

const scratch = mkdtempSync(join(tmpdir(), 'tether-ota-client-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const RELEASE = smallFirmwareFiles('0.1.1');

const folder = (files: Record<string, string>): string => writeFolder(mkdtempSync(join(scratch, 'fw-')), files);

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A board running 0.1.0 that shares main.py with the release and has a module the release dropped. */
function oldBoard(): MemoryOtaChannel {
  const board = new MemoryOtaChannel();
  board.flash.set('main.py', Buffer.from(RELEASE['main.py'] ?? ''));
  board.flash.set('tether/__init__.py', Buffer.from("VERSION = '0.1.0'\n"));
  board.flash.set('tether/gone.py', Buffer.from('OLD = 1\n'));
  board.flash.set('lib/mine.py', Buffer.from('# the user module, not the release\n'));
  return board;
}

function recorder(): { events: OtaEvent[]; onEvent: (e: OtaEvent) => void } {
  const events: OtaEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

function failure(code: OtaFailure['code']): (err: unknown) => boolean {
  return (err) => err instanceof OtaError && err.code === code && err.failure.code === code;
}

const WAIT = { waitMs: 30_000 };

void describe('firmware bundle', { timeout: 60_000 }, () => {
  void test('a folder that is not a firmware tree is refused with a stable code', async () => {
    const code = (c: string) => (err: unknown) => err instanceof FirmwareError && err.code === c;
    await assert.rejects(collectFirmware(folder({ 'main.py': '' })), code('no_version_file'));
    await assert.rejects(collectFirmware(folder({ 'tether/__init__.py': 'PROTOCOL = 1\n' })), code('no_version'));
    await assert.rejects(collectFirmware(folder({ ...RELEASE, 'tether/bad name.py': '' })), code('bad_path'));
    await assert.rejects(collectFirmware(folder({ ...RELEASE, 'tether/App.py': '' })), code('case_clash'));
    const many: Record<string, string> = { 'tether/__init__.py': "VERSION = '1'\n" };
    for (let i = 0; i < 128; i++) many[`tether/m${i}.py`] = '';
    await assert.rejects(collectFirmware(folder(many)), code('too_many_files'));
  });

  void test('requireFiles refuses a firmware with nothing a board takes, with no_files', async () => {
    const empty = await collectFirmware(folder({ 'tether/__init__.txt': '', 'tether/__init__.py': "VERSION = '1'\n" }));
    assert.equal(requireFiles(empty).files.length, 1);
    const dir = folder({ 'tether/__init__.py': "VERSION = '1'\n" });
    const fw = await collectFirmware(dir);
    assert.throws(() => requireFiles({ ...fw, files: [], totalBytes: 0 }), (err: unknown) => err instanceof FirmwareError && err.code === 'no_files' && err.message.includes(dir));
  });

  void test("planUpdate sends what differs, keeps what the board holds, and prunes only tether/, comparing paths without case", async () => {
    const fw = await collectFirmware(folder(RELEASE));
    const plan = planUpdate(fw, [
      { path: 'main.py', size: Buffer.byteLength(RELEASE['main.py'] ?? ''), sha256: sha256(RELEASE['main.py'] ?? '') },
      { path: 'TETHER/app.py', size: Buffer.byteLength(RELEASE['tether/app.py'] ?? ''), sha256: sha256(RELEASE['tether/app.py'] ?? '') },
      { path: 'tether/gone.py', size: 1, sha256: sha256('x') },
      { path: 'lib/mine.py', size: 1, sha256: sha256('y') },
    ]);
    // TETHER/app.py is the same file on FAT, but the board must get the release's spelling.
    assert.deepEqual(plan.send.map((f) => f.path), ['tether/__init__.py', 'tether/app.py']);
    assert.deepEqual(plan.delete, ['tether/gone.py']);
    assert.equal(plan.same, 1);
  });
});

void describe('OtaClient (board in memory)', { timeout: 60_000 }, () => {
  void test('sends only the files that differ, deletes what the release dropped, and reports each step in order', async () => {
    const changed = Buffer.byteLength(RELEASE['tether/__init__.py'] ?? '') + Buffer.byteLength(RELEASE['tether/app.py'] ?? '');
    const board = oldBoard();
    const { events, onEvent } = recorder();
    const result = await new OtaClient(board, { onEvent }).update(await collectFirmware(folder(RELEASE)), WAIT);
    assert.equal(result.outcome, 'confirmed');
    assert.equal(result.outcome === 'confirmed' && result.before, '0.1.0');
    assert.equal(result.outcome === 'confirmed' && result.status.version, '0.1.1');
    assert.deepEqual(
      [...board.flash].map(([p, d]) => [p, d.toString()]).sort(),
      [['lib/mine.py', '# the user module, not the release\n'], ...Object.entries(RELEASE)].sort(),
    );
    const types = events.map((e) => e.type);
    const firstChunk = types.indexOf('chunk_sent');
    assert.deepEqual(types.slice(0, 3), ['planned', 'upload_started', 'file_started']);
    assert.deepEqual(types.slice(-3), ['upload_ended', 'committed', 'on_trial']);
    assert.ok(firstChunk > 2);
    assert.deepEqual(events[0], { type: 'planned', running: '0.1.0', version: '0.1.1', files: 2, bytes: changed, unchanged: 1, deleting: ['tether/gone.py'] });
    assert.deepEqual(
      events.filter((e) => e.type === 'file_started'),
      [
        { type: 'file_started', index: 1, path: 'tether/__init__.py' },
        { type: 'file_started', index: 2, path: 'tether/app.py' },
      ],
    );
    const sent = events.reduce((n, e) => n + (e.type === 'chunk_sent' ? e.bytes : 0), 0);
    assert.equal(sent, changed);
    const commit = board.requests.find((r) => r['op'] === 'commit');
    assert.equal(commit?.['manifest_mac'], `mac of 0.1.1 ${String(commit?.['manifest'])}`, "the channel's proof goes with the commit");
  });

  void test('a board that already holds every file is left alone', async () => {
    const board = new MemoryOtaChannel();
    for (const [path, text] of Object.entries(RELEASE)) board.flash.set(path, Buffer.from(text));
    const { events, onEvent } = recorder();
    const result = await new OtaClient(board, { onEvent }).update(await collectFirmware(folder(RELEASE)), WAIT);
    assert.deepEqual(result, { outcome: 'unchanged', running: '0.1.0', version: '0.1.1' });
    assert.deepEqual(events, []);
    assert.equal(board.requests.filter((r) => r['op'] === 'begin').length, 0);
  });

  void test('a board still on trial is refused with on_trial before anything is staged', async () => {
    const board = oldBoard();
    board.state = 'trial';
    board.bootCount = 2;
    board.trialPolls = 99;
    await assert.rejects(new OtaClient(board).update(await collectFirmware(folder(RELEASE)), WAIT), (err: unknown) => {
      return failure('on_trial')(err) && (err as OtaError).failure.code === 'on_trial' && /boot 2 of 3/.test((err as Error).message);
    });
    assert.equal(board.staging, undefined);
  });

  void test('a failed chunk stops with upload_stopped at its file and offset; the next update resumes from the bytes the board holds', async () => {
    const board = oldBoard();
    board.failChunk = { n: 3, error: new TetherError('timeout', 'no reply within 5000 ms') };
    const fw = await collectFirmware(folder(RELEASE));
    const first = recorder();
    await assert.rejects(new OtaClient(board, { onEvent: first.onEvent }).update(fw, WAIT), (err: unknown) => {
      assert.ok(failure('upload_stopped')(err));
      assert.deepEqual((err as OtaError).failure, { code: 'upload_stopped', path: 'tether/__init__.py', offset: 8, reason: 'no reply within 5000 ms' });
      assert.ok((err as Error).cause instanceof TetherError);
      return true;
    });
    assert.equal(first.events.at(-1)?.type, 'upload_ended', 'the progress is ended before the failure');
    const second = recorder();
    const before = board.requests.length;
    const result = await new OtaClient(board, { onEvent: second.onEvent }).update(fw, WAIT);
    assert.equal(result.outcome, 'confirmed');
    assert.deepEqual(second.events[1], { type: 'resuming', receivedBytes: 8 });
    assert.equal(board.requests.slice(before).filter((r) => r['op'] === 'begin').length, 0, 'no new begin: the staging area is kept');
    const resumed = board.requests.slice(before).find((r) => r['op'] === 'chunk');
    assert.deepEqual([resumed?.['path'], resumed?.['offset']], ['tether/__init__.py', 8]);
  });

  void test("a chunk the board refuses for want of an admin token is the board's refusal, not a stopped upload", async () => {
    const board = oldBoard();
    board.failChunk = { n: 1, error: new TetherError('unauthorized', 'update needs a token with admin scope') };
    await assert.rejects(new OtaClient(board).update(await collectFirmware(folder(RELEASE)), WAIT), (err: unknown) => err instanceof TetherError && err.code === 'unauthorized');
  });

  void test('a board that rolls the update back fails with rolled_back, one that ignores it with not_applied', async () => {
    const fw = await collectFirmware(folder(RELEASE));
    const rolled = oldBoard();
    rolled.outcome = 'rollback';
    await assert.rejects(new OtaClient(rolled).update(fw, WAIT), (err: unknown) => failure('rolled_back')(err) && JSON.stringify((err as OtaError).failure) === JSON.stringify({ code: 'rolled_back', version: '0.1.1', runs: '0.1.0' }));
    const ignored = oldBoard();
    ignored.outcome = 'ignore';
    await assert.rejects(new OtaClient(ignored).update(fw, WAIT), failure('not_applied'));
  });

  void test('a signal stops the update between chunks, leaving the staged bytes for the next update', async () => {
    const board = oldBoard();
    const stop = new AbortController();
    let chunks = 0;
    const onEvent = (e: OtaEvent) => {
      if (e.type === 'chunk_sent' && ++chunks === 2) stop.abort(new Error('the hub is stopping'));
    };
    const fw = await collectFirmware(folder(RELEASE));
    await assert.rejects(new OtaClient(board, { onEvent }).update(fw, { ...WAIT, signal: stop.signal }), { message: 'the hub is stopping' });
    assert.equal(board.requests.filter((r) => r['op'] === 'chunk').length, 2, 'no chunk after the abort');
    assert.equal(board.staging?.committed, false);
    const resumed = recorder();
    assert.equal((await new OtaClient(board, { onEvent: resumed.onEvent }).update(fw, WAIT)).outcome, 'confirmed');
    assert.deepEqual(resumed.events[1], { type: 'resuming', receivedBytes: 8 });
  });

  void test('a signal stops the wait for a board that does not come back', async () => {
    const board = oldBoard();
    board.downPolls = Number.POSITIVE_INFINITY;
    const stop = new AbortController();
    let polls = 0;
    const poll = board.pollStatus.bind(board);
    board.pollStatus = () => {
      if (++polls === 2) stop.abort(new Error('the hub is stopping'));
      return poll();
    };
    await assert.rejects(new OtaClient(board).update(await collectFirmware(folder(RELEASE)), { waitMs: 600_000, signal: stop.signal }), { message: 'the hub is stopping' });
    assert.equal(polls, 2);
  });

  void test('abort says what the board discarded', async () => {
    const board = oldBoard();
    const client = new OtaClient(board);
    assert.deepEqual(await client.abort(), { cleared: 'nothing' });
    board.failChunk = { n: 1, error: new TetherError('timeout', 'no reply') };
    await assert.rejects(client.update(await collectFirmware(folder(RELEASE)), WAIT), failure('upload_stopped'));
    assert.equal((await client.status()).staging?.version, '0.1.1');
    assert.deepEqual(await client.abort(), { cleared: 'staging' });
    assert.equal((await client.status()).staging, undefined);
  });
});

void describe('OTA channels', { timeout: 60_000 }, () => {
  void test("a direct channel vouches for a commit with the admin token's MAC; the hub's API adds none of its own", () => {
    const direct = new DirectChannel({ host: '127.0.0.1', port: 1, token: 'admin-secret' });
    assert.deepEqual(direct.commitProof('0.1.1', 'ab'.repeat(32)), { manifest_mac: manifestMac(keyOfToken('admin-secret'), '0.1.1', 'ab'.repeat(32)) });
    assert.deepEqual(new DirectChannel({ host: '127.0.0.1', port: 1 }).commitProof('0.1.1', 'ab'), {});
    const viaHub = new HubApiChannel(new URL('http://127.0.0.1:7340/'), 'tank', 'token', 5000);
    assert.equal(viaHub.label, 'board tank (via http://127.0.0.1:7340)');
    assert.deepEqual(viaHub.commitProof(), {});
  });
});

void describe("OtaClient through the hub's command router (HubCommandChannel)", { timeout: 60_000 }, () => {
  /** The facade's command over a board in memory: refusals come back as ok:false replies; an unlinked board is device_offline. */
  function hubOver(board: MemoryOtaChannel, state: { online: boolean; offlineAnswers: number }) {
    const sent: string[] = [];
    return {
      sent,
      isOnline: () => state.online,
      async command(deviceId: string, request: Record<string, unknown>) {
        sent.push(`${deviceId} ${String(request['op'] ?? request['action'])}`);
        if (!state.online || state.offlineAnswers-- > 0) throw new HubError('device_offline', `${deviceId} is not linked now`);
        try {
          return await board.request(request);
        } catch (err) {
          if (err instanceof TetherError) return { ...request, ok: false, error: { code: err.code, message: err.message } };
          throw err;
        }
      },
    };
  }

  void test('updates a linked board, sends no MAC of its own (the hub adds it), and takes device_offline while the board restarts as passing', async () => {
    const board = oldBoard();
    const state = { online: true, offlineAnswers: 0 };
    const hub = hubOver(board, state);
    const channel = new HubCommandChannel(hub, 'tank');
    await channel.open();
    const onEvent = (e: OtaEvent) => {
      // The board's link drops at its reset; the first status poll after it finds it away.
      if (e.type === 'committed') state.offlineAnswers = 1;
    };
    const result = await new OtaClient(channel, { onEvent }).update(await collectFirmware(folder(RELEASE)), WAIT);
    assert.equal(result.outcome === 'confirmed' && result.status.version, '0.1.1');
    assert.equal(board.requests.find((r) => r['op'] === 'commit')?.['manifest_mac'], undefined);
    assert.ok(hub.sent.every((line) => line.startsWith('tank ')));
  });

  void test('a board that is not linked is refused with board_offline; a board refusal comes back as the TetherError it stands for', async () => {
    const board = oldBoard();
    const state = { online: false, offlineAnswers: 0 };
    await assert.rejects(new HubCommandChannel(hubOver(board, state), 'tank').open(), failure('board_offline'));
    state.online = true;
    const channel = new HubCommandChannel(hubOver(board, state), 'tank');
    await assert.rejects(channel.request({ action: 'update', op: 'chunk', path: 'x', offset: 0, data: '' }), (err: unknown) => err instanceof TetherError && err.code === 'bad_field');
    assert.equal(channel.transient(new HubError('device_offline', 'away')), true);
    assert.equal(channel.transient(new HubError('not_found', 'no such board')), false);
    assert.equal(channel.transient(new TetherError('bad_field', 'op: …')), false);
  });
});

void describe('error codes in the docs', { timeout: 60_000 }, () => {
  void test("every FirmwareError and OtaError code is in docs/firmware.md's table, and every ReleaseError code in docs/hub.md's", () => {
    const root = new URL('../../../', import.meta.url);
    const firmwareDoc = readFileSync(new URL('docs/firmware.md', root), 'utf8');
    const hubDoc = readFileSync(new URL('docs/hub.md', root), 'utf8');
    for (const code of [...Object.keys(FIRMWARE_ERROR_CATALOGUE), ...Object.keys(OTA_ERROR_CATALOGUE)]) assert.ok(firmwareDoc.includes(`| \`${code}\` |`), `docs/firmware.md lacks ${code}`);
    for (const code of Object.keys(RELEASE_ERROR_CATALOGUE)) assert.ok(hubDoc.includes(`| \`${code}\` |`), `docs/hub.md lacks ${code}`);
  });
});
