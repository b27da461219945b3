// `tether update` end to end against a fake board that speaks the `update` action like the
// firmware (offsets, sizes and SHA-256 checked, a reset after commit, a trial, a rollback), over
// TCP and through a fake hub's REST API; plus the shared pieces of src/cli/update-files.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { JsonObject } from '../../src/protocol/index.js';
import { rerunCommand } from '../../src/cli/update-command.js';
import { Progress } from '../../src/cli/update-files.js';
import { FirmwareError, caseClashes, chunksOf, collectFirmware, manifestDigest, readFirmwareVersion } from '../../src/firmware/index.js';
import { FakeBoard, GOOD_TOKEN, fail, ok, reply, type FakeConnection } from '../client/fake-board.js';
import type { Hub } from '../../src/hub/hub.js';
import { nearMissTokens } from '../support/near-miss-token.js';
import { startTestHub } from '../support/test-hub.js';
import { runCli } from './run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'tether-update-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const A_PY = Buffer.from(`# a module of more than two chunks\n${'x = 1  # padding\n'.repeat(180)}`);
const SENT: Record<string, Buffer> = {
  'lib/table.json': Buffer.from('{"rows": [1, 2, 3]}\n'),
  'main.py': Buffer.from('from tether import app\n'),
  'tether/__init__.py': Buffer.from("# the version\nVERSION = '0.1.1'\nPROTOCOL = 1\n"),
  'tether/a.py': A_PY,
  'tether/drivers/chip.mpy': Buffer.from([0x4d, 0x06, 0x00, 0x1f, 0xff, 0x00, 0x10]),
  'tether/empty.py': Buffer.alloc(0),
};
const NOT_SENT: Record<string, Buffer> = {
  'boot.py': Buffer.from('# runs the rollback\n'),
  'config/device.json': Buffer.from('{"auth": {"tokens": []}}'),
  'tests/mp/test_x.py': Buffer.from('def test_x(): pass\n'),
  'tether/__pycache__/a.cpython-311.pyc': Buffer.from('pyc'),
  'README.txt': Buffer.from('not firmware'),
  '.git/config.json': Buffer.from('{}'),
};

function firmwareDir(files: Record<string, Buffer> = { ...SENT, ...NOT_SENT }): string {
  const dir = mkdtempSync(join(scratch, 'fw-'));
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  return dir;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The board answers with this error. */
class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The board drops the connection instead of answering. */
class Drop extends Error {}

interface Staged {
  version: string;
  files: { path: string; size: number; sha256: string }[];
  delete: string[];
  data: Map<string, Buffer>;
  committed: boolean;
}

/** The board side of the `update` action, as firmware/tether/ota.py does it, in memory. */
class OtaModel {
  version = '0.1.0';
  previous: string | null = null;
  state: 'confirmed' | 'trial' = 'confirmed';
  bootCount = 0;
  rolledBackFrom: string | null = null;
  staging: Staged | undefined;
  /** True while "resetting": the board does not answer. */
  down = false;
  bootId = 'boot-1';
  /** What the board does after its reset: confirm after some status polls, or roll back. */
  outcome: 'confirm' | 'rollback' = 'confirm';
  trialPolls = 1;
  /** Drop the connection instead of answering the n-th chunk (1-based), once. */
  dropChunk = 0;
  requireToken = true;
  knowsUpdate = true;
  chunks = 0;
  /** The firmware's default max_frame_bytes. */
  frameLimit = 2048;
  /** The files on the board's flash, for op "list"; undefined: a firmware without op "list". */
  flash: Map<string, Buffer> | undefined;
  /** Files per op "list" reply. */
  listPage = 3;
  oversize = 0;
  readonly ops: JsonObject[] = [];
  private readonly authed = new WeakSet<object>();
  onReset: () => void = () => undefined;

  answer(request: JsonObject, session: object): JsonObject | 'drop' {
    if (JSON.stringify(request).length > this.frameLimit) {
      this.oversize += 1;
      return { ok: false, error: { code: 'frame_too_large', message: `the frame is longer than ${this.frameLimit} bytes` } };
    }
    const action = request['action'];
    if (action === 'challenge' || (action === 'auth' && request['proof'] !== undefined)) {
      // Challenge and response, and the seal, as the fake board does them (protocol.md §8.1);
      // only a direct connection (a FakeConnection) sends them.
      const answered = reply(request, session as FakeConnection);
      if (action === 'auth' && answered['ok'] === true) this.authed.add(session);
      return answered;
    }
    if (action === 'auth') {
      if (request['token'] !== GOOD_TOKEN) return fail({ ...request, token: '***' }, 'unauthorized', 'unknown token');
      this.authed.add(session);
      return ok({ ...request, token: '***' }, { scope: 'admin' });
    }
    if (action === 'get_version') return ok(request, { version: this.version, protocol: 1 });
    if (action !== 'update' || !this.knowsUpdate) return fail(request, 'unknown_action', `action: no action named ${JSON.stringify(action)}`);
    if (this.requireToken && !this.authed.has(session)) {
      return fail(request, 'unauthorized', 'update needs a token with admin scope; send {"action":"auth","token":"…"} first');
    }
    this.ops.push(request);
    try {
      return ok(request, this.update(request));
    } catch (err) {
      if (err instanceof Drop) return 'drop';
      if (err instanceof Refusal) return fail(request, err.code, err.message);
      throw err;
    }
  }

  private update(request: JsonObject): JsonObject {
    switch (request['op']) {
      case 'status':
        return { update: this.status() };
      case 'list': {
        if (this.flash === undefined) throw new Refusal('bad_field', 'op: expected one of "status", "begin", "chunk", "commit", "abort"');
        const after = typeof request['after'] === 'string' ? request['after'] : '';
        const paths = [...this.flash.keys()].sort().filter((p) => p > after);
        const page = paths.slice(0, this.listPage);
        return { files: page.map((p) => [p, this.flash?.get(p)?.length ?? 0, sha256(this.flash?.get(p) ?? Buffer.alloc(0))]), more: paths.length > page.length };
      }
      case 'clear': {
        if (this.state === 'trial') {
          this.state = 'confirmed';
          this.rolledBackFrom = this.version;
          this.version = this.previous ?? this.version;
          return { cleared: 'rolled_back', reset_in_ms: 100 };
        }
        const had = this.staging;
        this.staging = undefined;
        return { cleared: had === undefined ? 'nothing' : had.committed ? 'committed' : 'staging' };
      }
      case 'begin': {
        if (this.state === 'trial') throw new Refusal('bad_field', 'op: version is on trial');
        const files = request['files'] as Staged['files'];
        if (request['append'] === true) {
          const s = this.staging;
          if (s === undefined || s.version !== request['version']) throw new Refusal('bad_field', 'op: no update is being staged; send op "begin" first');
          s.files.push(...files);
          for (const f of files) s.data.set(f.path, Buffer.alloc(0));
        } else {
          const deleted = Array.isArray(request['delete']) ? (request['delete'] as string[]) : [];
          this.staging = { version: String(request['version']), files: [...files], delete: deleted, data: new Map(files.map((f) => [f.path, Buffer.alloc(0)])), committed: false };
        }
        return { chunk_bytes: 1024 };
      }
      case 'chunk': {
        const s = this.staging;
        if (s === undefined) throw new Refusal('bad_field', 'op: no update is being staged; send op "begin" first');
        this.chunks += 1;
        if (this.chunks === this.dropChunk) throw new Drop();
        const path = String(request['path']);
        const entry = s.files.find((f) => f.path === path);
        const have = s.data.get(path);
        if (entry === undefined || have === undefined) throw new Refusal('bad_field', `path: ${path} is not one of the files declared by begin`);
        if (request['offset'] !== have.length) throw new Refusal('bad_field', `offset: ${have.length} bytes of ${path} are staged; resume from there`);
        const raw = Buffer.from(String(request['data']), 'base64');
        if (have.length + raw.length > entry.size) throw new Refusal('bad_field', 'data: past the declared size');
        s.data.set(path, Buffer.concat([have, raw]));
        return { received: have.length + raw.length };
      }
      case 'commit': {
        const s = this.staging;
        if (s === undefined) throw new Refusal('bad_field', 'op: no update is being staged; send op "begin" first');
        for (const f of s.files) {
          const data = s.data.get(f.path) ?? Buffer.alloc(0);
          if (data.length !== f.size) throw new Refusal('bad_field', `files: ${f.path} has ${data.length} of its ${f.size} bytes staged`);
          if (sha256(data) !== f.sha256) throw new Refusal('bad_field', `files: ${f.path} does not match its sha256`);
        }
        s.committed = true;
        setTimeout(() => this.reset(), 100);
        return { reset_in_ms: 100 };
      }
      case 'abort':
        this.staging = undefined;
        return {};
      default:
        throw new Refusal('bad_field', 'op: expected one of "status", "begin", "chunk", "commit", "abort"');
    }
  }

  status(): JsonObject {
    if (this.state === 'trial') {
      this.trialPolls -= 1;
      if (this.trialPolls < 0) {
        this.state = 'confirmed';
        this.bootCount = 0;
      }
    }
    const out: JsonObject = {
      version: this.version,
      previous: this.previous,
      state: this.staging !== undefined && this.state !== 'trial' ? 'staging' : this.state,
      boot_count: this.bootCount,
      rolled_back_from: this.rolledBackFrom,
    };
    const s = this.staging;
    if (s !== undefined) {
      out['staging'] = {
        version: s.version,
        manifest: manifestDigest(s.files, s.delete),
        received: Object.fromEntries([...s.data].map(([p, d]) => [p, d.length])),
        committed: s.committed,
        chunk_bytes: 1024,
      };
    }
    return out;
  }

  private reset(): void {
    this.down = true;
    this.onReset();
    setTimeout(() => {
      const s = this.staging;
      this.staging = undefined;
      if (s !== undefined && this.outcome === 'confirm') {
        for (const [path, data] of s.data) this.flash?.set(path, data);
        for (const path of s.delete) this.flash?.delete(path);
        this.previous = this.version;
        this.version = s.version;
        this.state = 'trial';
        this.bootCount = 1;
        this.rolledBackFrom = null;
      } else if (s !== undefined) {
        this.rolledBackFrom = s.version;
      }
      this.bootId = `boot-${Number(this.bootId.slice(5)) + 1}`;
      this.down = false;
    }, 300);
  }
}

async function fakeBoard(model: OtaModel): Promise<FakeBoard> {
  const board = await FakeBoard.start({
    handler: (request: JsonObject, conn: FakeConnection) => {
      const reply = model.down ? 'drop' : model.answer(request, conn);
      if (reply === 'drop') conn.socket.destroy();
      else conn.send(reply);
    },
  });
  model.onReset = () => {
    for (const c of board.connections) c.socket.destroy();
  };
  return board;
}

function sentFiles(model: OtaModel): Record<string, string> {
  const begin = model.ops.find((o) => o['op'] === 'begin');
  return Object.fromEntries(((begin?.['files'] ?? []) as { path: string; sha256: string }[]).map((f) => [f.path, f.sha256]));
}

void describe('tether update (direct, fake board)', { timeout: 90_000 }, () => {
  let model: OtaModel;
  let board: FakeBoard;

  beforeEach(async () => {
    model = new OtaModel();
    board = await fakeBoard(model);
  });

  afterEach(async () => {
    await board.close();
  });

  void test('sends the firmware files, waits for the restart and the confirmation, and prints the versions', { timeout: 60_000 }, async () => {
    const dir = firmwareDir();
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', dir, '--token', GOOD_TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'version 0.1.0 → 0.1.1\n');
    const total = Object.values(SENT).reduce((n, d) => n + d.length, 0);
    assert.match(result.stderr, new RegExp(`^tether: 127\\.0\\.0\\.1:${board.port} runs 0\\.1\\.0; sending 0\\.1\\.1: 6 files, ${(total / 1024).toFixed(1)} KiB$`, 'm'));
    // stderr is not a terminal here: one plain line per 10 %
    assert.match(result.stderr, /^tether: sent 100% \(\d+\.\d KiB of \d+\.\d KiB, file 5\/6 tether\/drivers\/chip\.mpy\)$/m);
    assert.doesNotMatch(result.stderr, /\r/);
    assert.match(result.stderr, /^tether: the board checked every file; it resets in 100 ms and applies 0\.1\.1$/m);
    assert.match(result.stderr, /^tether: the board restarted with 0\.1\.1 on trial \(boot 1 of 3\); waiting for it to confirm$/m);
    // exactly the firmware files, in path order, and nothing of config/, tests/, boot.py, caches
    assert.deepEqual(sentFiles(model), Object.fromEntries(Object.entries(SENT).map(([p, d]) => [p, sha256(d)])));
    assert.deepEqual(Object.keys(sentFiles(model)), Object.keys(SENT).sort());
    const ops = model.ops.map((o) => o['op']);
    // This board's firmware predates op "list" (bad_field on the op): every file is sent.
    assert.deepEqual(ops.slice(0, 3), ['status', 'list', 'begin']);
    const expectedChunks = Object.values(SENT).reduce((n, d) => n + Math.ceil(d.length / 1024), 0);
    assert.equal(expectedChunks, 4 + 4);
    assert.equal(ops.filter((o) => o === 'chunk').length, expectedChunks);
    assert.equal(ops.filter((o) => o === 'commit').length, 1);
    assert.equal(model.version, '0.1.1');
    assert.equal(model.state, 'confirmed');
  });

  void test('a long list of files is declared in several begin requests that fit the frame limit', { timeout: 60_000 }, async () => {
    const files: Record<string, Buffer> = { 'tether/__init__.py': Buffer.from("VERSION = '0.1.1'\n") };
    for (let i = 0; i < 40; i++) files[`tether/drivers/driver_number_${String(i).padStart(2, '0')}.py`] = Buffer.from(`N = ${i}\n`);
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(files), '--token', GOOD_TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    const begins = model.ops.filter((o) => o['op'] === 'begin');
    assert.ok(begins.length >= 3, `${begins.length} begin requests`);
    assert.equal(begins[0]?.['append'], undefined);
    assert.ok(begins.slice(1).every((b) => b['append'] === true));
    assert.ok(begins.every((b) => JSON.stringify(b).length <= 2048));
    assert.equal(model.oversize, 0);
    assert.deepEqual(
      begins.flatMap((b) => (b['files'] as { path: string }[]).map((f) => f.path)),
      Object.keys(files).sort(),
    );
    assert.equal(model.version, '0.1.1');
  });

  void test('a begin request the board finds too long is sent again in smaller parts', { timeout: 60_000 }, async () => {
    model.frameLimit = 900;
    const files: Record<string, Buffer> = { 'tether/__init__.py': Buffer.from("VERSION = '0.1.1'\n") };
    for (let i = 0; i < 12; i++) files[`tether/m${i}.py`] = Buffer.from(`N = ${i}\n`);
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(files), '--token', GOOD_TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(model.oversize > 0);
    const begins = model.ops.filter((o) => o['op'] === 'begin');
    assert.deepEqual(begins.flatMap((b) => (b['files'] as { path: string }[]).map((f) => f.path)), Object.keys(files).sort());
  });

  void test('a dropped connection mid-upload says how to resume, and the same command resumes where it stopped', { timeout: 60_000 }, async () => {
    const dir = firmwareDir();
    // chunks go in path order: lib/table.json, main.py, tether/__init__.py, then tether/a.py's
    model.dropChunk = 5;
    const first = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', dir, '--token', GOOD_TOKEN]);
    assert.equal(first.code, 1, first.stderr);
    assert.equal(first.stdout, '');
    assert.match(first.stderr, /^tether: the upload stopped at tether\/a\.py, offset 1024: /m);
    assert.match(
      first.stderr,
      new RegExp(
        `the board keeps what it received; to resume from there, run: tether update 127\\.0\\.0\\.1 ${board.port} --firmware \\S+  \\(give the token with --token-file FILE or TETHER_TOKEN\\)$`,
        'm',
      ),
    );
    assert.doesNotMatch(first.stderr, new RegExp(GOOD_TOKEN));
    const staged = Object.fromEntries([...(model.staging?.data ?? [])].map(([p, d]) => [p, d.length]));
    assert.equal(staged['lib/table.json'], SENT['lib/table.json']?.length);
    assert.equal(staged['tether/a.py'], 1024);
    const opsBefore = model.ops.length;
    const second = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', dir], { env: { TETHER_TOKEN: GOOD_TOKEN } });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'version 0.1.0 → 0.1.1\n');
    assert.match(second.stderr, /^tether: resuming: the board already has 1\.1 KiB of this update$/m);
    const resumed = model.ops.slice(opsBefore);
    assert.ok(!resumed.some((o) => o['op'] === 'begin'), 'no second begin');
    const chunks = resumed.filter((o) => o['op'] === 'chunk');
    // nothing is sent twice: the files already there are skipped, tether/a.py goes on from 1024
    assert.deepEqual(chunks[0], { action: 'update', op: 'chunk', path: 'tether/a.py', offset: 1024, data: A_PY.subarray(1024, 2048).toString('base64') });
    assert.ok(!chunks.some((c) => ['lib/table.json', 'main.py', 'tether/__init__.py'].includes(String(c['path']))));
    assert.equal(chunks.length, 3 + 1);
  });

  void test("only the files whose SHA-256 differs from the board's are sent, and tether/ files the release dropped are deleted", { timeout: 60_000 }, async () => {
    const old: Record<string, Buffer> = { ...SENT, 'tether/__init__.py': Buffer.from("VERSION = '0.1.0'\n"), 'tether/a.py': Buffer.from('# old a\n') };
    model.flash = new Map([...Object.entries(old), ['tether/gone.py', Buffer.from('# dropped by 0.1.1\n')], ['user.py', Buffer.from("# the user's own\n")]]);
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(), '--token', GOOD_TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(Object.keys(sentFiles(model)), ['tether/__init__.py', 'tether/a.py']);
    assert.match(result.stderr, /^tether: 127\.0\.0\.1:\d+ runs 0\.1\.0; sending 0\.1\.1: 2 files, [\d.]+ KiB \(the board has the other 4\); deleting tether\/gone\.py$/m);
    const begin = model.ops.find((o) => o['op'] === 'begin');
    assert.deepEqual(begin?.['delete'], ['tether/gone.py'], "user.py is not the release's to delete");
    assert.ok(model.ops.filter((o) => o['op'] === 'list').length >= 3, 'the list is read a page at a time');
    assert.equal(model.flash.has('tether/gone.py'), false);
    assert.equal(model.flash.has('user.py'), true);
    for (const [path, data] of Object.entries(SENT)) assert.equal(sha256(model.flash.get(path) ?? Buffer.alloc(0)), sha256(data), path);
    // Run again: the board holds every file, so nothing is sent.
    const opsBefore = model.ops.length;
    const again = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(), '--token', GOOD_TOKEN]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'version 0.1.1: the board already holds every file of 0.1.1; nothing to send\n');
    assert.ok(!model.ops.slice(opsBefore).some((o) => o['op'] === 'begin'));
  });

  void test("--abort clears the board's update and says what the board did", { timeout: 60_000 }, async () => {
    const none = await runCli(['update', '127.0.0.1', String(board.port), '--abort', '--token', GOOD_TOKEN]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /holds no update; nothing to abort/);
    model.version = '0.1.1';
    model.previous = '0.1.0';
    model.state = 'trial';
    const rolled = await runCli(['update', '127.0.0.1', String(board.port), '--abort', '--token', GOOD_TOKEN]);
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.match(rolled.stdout, /put the files of the previous version back; it resets in 100 ms to run them/);
    assert.deepEqual(model.ops.map((o) => o['op']), ['clear', 'clear']);
    assert.equal(model.version, '0.1.0');
    const both = await runCli(['update', '127.0.0.1', String(board.port), '--abort', '--status']);
    assert.equal(both.code, 2);
  });

  void test('a board that rolls the update back makes the command fail and say why', { timeout: 60_000 }, async () => {
    model.outcome = 'rollback';
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(), '--token', GOOD_TOKEN]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /rolled back to 0\.1\.0: version 0\.1\.1 did not confirm that it was healthy .* within 3 boots\. Check what it prints when it starts \(mpremote repl\)/);
  });

  void test('a board still on trial when --wait runs out is reported as such', { timeout: 60_000 }, async () => {
    model.trialPolls = Number.POSITIVE_INFINITY;
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(), '--token', GOOD_TOKEN, '--wait', '2']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^tether: version 0\.1\.1 is still on trial after 2 s \(boot 1 of 3\): the board confirms it once it is healthy, or rolls back by itself after 3 boots/m);
  });

  void test('without an admin token the board refuses, and the message says to give one with --token-file or TETHER_TOKEN', { timeout: 60_000 }, async () => {
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir()]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /update needs a token with admin scope.*\ngive an admin token with --token-file FILE \(a file holding it\) or TETHER_TOKEN/);
    const wrong = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir()], { env: { TETHER_TOKEN: 'wrong-token-0123456789' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the token/);
    assert.match(wrong.stderr, /give an admin token with --token-file FILE/);
  });

  void test('a board whose firmware predates OTA updates gets the mpremote advice', { timeout: 60_000 }, async () => {
    model.knowsUpdate = false;
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--firmware', firmwareDir(), '--token', GOOD_TOKEN]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /does not know the update action: this board's firmware predates OTA updates; copy the files with mpremote once/);
  });

  void test('--status prints the update state', { timeout: 60_000 }, async () => {
    const result = await runCli(['update', '127.0.0.1', String(board.port), '--status', '--token', GOOD_TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'version 0.1.0, confirmed\n');
    model.version = '0.1.0';
    model.rolledBackFrom = '0.1.1';
    model.previous = '0.0.9';
    const rolled = await runCli(['update', '127.0.0.1', String(board.port), '--status', '--token', GOOD_TOKEN]);
    assert.equal(rolled.stdout, 'version 0.1.0, confirmed (previous 0.0.9); rolled back from 0.1.1\n');
  });

  void test('usage errors exit 2', { timeout: 60_000 }, async () => {
    for (const args of [
      ['update', '--firmware', 'firmware'],
      ['update', '127.0.0.1'],
      ['update', '127.0.0.1', '--device', 'tank', '--hub', 'http://127.0.0.1:1', '--firmware', 'firmware'],
      ['update', '--device', 'tank', '--firmware', 'firmware'],
      ['update', '--device', 'tank', '--hub', 'ftp://x', '--firmware', 'firmware'],
      ['update', '127.0.0.1', '--firmware', 'firmware', '--wait', '0'],
    ]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    }
  });
});

void describe('tether update --device --hub (fake hub REST API)', { timeout: 30_000 }, () => {
  const API_TOKEN = 'hub-api-token-0123456789';
  let model: OtaModel;
  let server: http.Server;
  let hubUrl: string;
  const commands: JsonObject[] = [];

  beforeEach(async () => {
    model = new OtaModel();
    model.requireToken = false;
    commands.length = 0;
    const session = {};
    server = http.createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${API_TOKEN}`) {
        send(401, { error: { code: 'unauthenticated', message: 'no bearer token, or an unknown one' } });
        return;
      }
      let text = '';
      req.setEncoding('utf8').on('data', (s: string) => (text += s));
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/api/devices/tank') {
          send(200, { device: { id: 'tank', online: !model.down, bootId: model.bootId }, state: null, sensors: [] });
        } else if (req.method === 'POST' && req.url?.startsWith('/api/devices/tank/commands?timeout_ms=') === true) {
          const body = JSON.parse(text) as JsonObject;
          commands.push(body);
          if (model.down) {
            send(409, { error: { code: 'device_offline', message: 'board "tank" is not linked now' } });
            return;
          }
          const reply = model.answer(body, session);
          if (reply === 'drop') send(409, { error: { code: 'board_restarted', message: 'the board restarted' } });
          else send(reply['ok'] === true ? 200 : 400, reply);
        } else {
          send(404, { error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    hubUrl = `http://127.0.0.1:${address.port}`;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  void test('updates the board through POST /api/devices/:id/commands and sees it come back', { timeout: 60_000 }, async () => {
    const result = await runCli(['update', '--device', 'tank', '--hub', hubUrl, '--firmware', firmwareDir()], { env: { TETHER_API_TOKEN: API_TOKEN } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'version 0.1.0 → 0.1.1\n');
    assert.match(result.stderr, /^tether: board tank \(via http:\/\/127\.0\.0\.1:\d+\) runs 0\.1\.0; sending 0\.1\.1: 6 files/m);
    assert.match(result.stderr, /^tether: sent 100% /m);
    assert.ok(commands.every((c) => !('id' in c)), 'the hub numbers requests itself');
    assert.deepEqual(commands[0], { action: 'get_version' });
    assert.deepEqual(sentFiles(model), Object.fromEntries(Object.entries(SENT).map(([p, d]) => [p, sha256(d)])));
    assert.equal(model.version, '0.1.1');
  });

  void test('a wrong API token is refused with the place to find the right one', { timeout: 60_000 }, async () => {
    const result = await runCli(['update', '--device', 'tank', '--hub', hubUrl, '--firmware', firmwareDir()], { env: { TETHER_API_TOKEN: 'nope' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the hub refused the API token .*; give it with --api-token-file <data>\/api-token \(or a file holding a token from tether hub token create\), or set TETHER_API_TOKEN/);
  });

  void test('an unknown device is a clear failure', { timeout: 60_000 }, async () => {
    const result = await runCli(['update', '--device', 'pump', '--hub', hubUrl, '--status'], { env: { TETHER_API_TOKEN: API_TOKEN } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the hub answered 404 not_found/);
  });
});

void describe('tether update --device --hub (a real hub checks the API token)', { timeout: 120_000 }, () => {
  let hub: Hub & { data: string };
  let hubUrl: string;
  before(async () => {
    hub = await startTestHub();
    hubUrl = `http://127.0.0.1:${hub.http.port}`;
  }, { timeout: 30_000 });
  after(async () => {
    await hub.close();
    rmSync(hub.data, { recursive: true, force: true });
  }, { timeout: 30_000 });

  void test('the right token gets through; one as long with a single character changed is refused with where to find the right one', { timeout: 60_000 }, async () => {
    const status = ['update', '--device', 'tank', '--hub', hubUrl, '--status'];
    const right = await runCli(status, { env: { TETHER_API_TOKEN: hub.apiToken.token } });
    assert.equal(right.code, 1);
    assert.match(right.stderr, /the hub answered 404 not_found/, 'with the real token the hub looked for the board (none is registered)');
    const viaFile = await runCli([...status, '--api-token-file', join(hub.data, 'api-token')]);
    assert.match(viaFile.stderr, /the hub answered 404 not_found/, 'the token file <data>/api-token works as it is');
    const dir = mkdtempSync(join(tmpdir(), 'tether-api-token-'));
    try {
      for (const miss of nearMissTokens(hub.apiToken.token)) {
        const file = join(dir, 'near-miss.token');
        writeFileSync(file, `${miss.token}\n`, { mode: 0o600 });
        const given: Array<[string, Parameters<typeof runCli>]> = [
          ['--api-token-file', [[...status, '--api-token-file', file]]],
          ['TETHER_API_TOKEN', [status, { env: { TETHER_API_TOKEN: miss.token } }]],
        ];
        for (const [how, args] of given) {
          const result = await runCli(...args);
          assert.equal(result.code, 1, `${miss.what} in ${how}: ${result.stderr}`);
          assert.equal(result.stdout, '');
          assert.match(
            result.stderr,
            /^tether: the hub refused the API token \(the API token is wrong; send Authorization: Bearer <token> with the token in <data>\/api-token or one from tether hub token create\); give it with --api-token-file <data>\/api-token \(or a file holding a token from tether hub token create\), or set TETHER_API_TOKEN\n$/,
            `${miss.what} in ${how}`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const inline = await runCli([...status, '--api-token', hub.apiToken.token]);
    assert.match(inline.stderr, /^tether: warning: --api-token shows the token to every user of this machine in the process list; use --api-token-file FILE or TETHER_API_TOKEN instead\n/);
    assert.match(inline.stderr, /the hub answered 404 not_found/, '--api-token still works');
  });
});

void describe('update-files', { timeout: 60_000 }, () => {
  void test('collectFirmware takes the firmware files, sorted, and the version', { timeout: 60_000 }, async () => {
    const fw = await collectFirmware(firmwareDir());
    assert.equal(fw.version, '0.1.1');
    assert.deepEqual(
      fw.files.map((f) => [f.path, f.size, f.sha256]),
      Object.entries(SENT)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([p, d]) => [p, d.length, sha256(d)]),
    );
    assert.equal(fw.totalBytes, Object.values(SENT).reduce((n, d) => n + d.length, 0));
  });

  void test('collectFirmware refuses a folder without a version or with names the board cannot take', { timeout: 60_000 }, async () => {
    await assert.rejects(collectFirmware(firmwareDir({ 'main.py': Buffer.from('') })), (err: unknown) => err instanceof FirmwareError && /tether\/__init__\.py/.test(err.message));
    await assert.rejects(
      collectFirmware(firmwareDir({ 'tether/__init__.py': Buffer.from('PROTOCOL = 1\n') })),
      (err: unknown) => err instanceof FirmwareError && /no line VERSION/.test(err.message),
    );
    await assert.rejects(
      collectFirmware(firmwareDir({ 'tether/__init__.py': Buffer.from("VERSION = '1'\n"), 'tether/bad name.py': Buffer.from('') })),
      (err: unknown) => err instanceof FirmwareError && /rename or remove: tether\/bad name\.py/.test(err.message),
    );
  });

  void test('security: collectFirmware leaves out Boot.py, Config/ and OTA/ like boot.py, config/ and ota/ (the board ignores case)', { timeout: 60_000 }, async () => {
    const fw = await collectFirmware(
      firmwareDir({
        ...SENT,
        'Boot.py': Buffer.from('# would overwrite boot.py on FAT\n'),
        'BOOT.PY': Buffer.from('# also boot.py\n'),
        'Config/device.json': Buffer.from('{}'),
        'OTA/state.json': Buffer.from('{}'),
        'Tests/test_x.py': Buffer.from(''),
      }),
    );
    assert.deepEqual(fw.files.map((f) => f.path), Object.keys(SENT).sort());
  });

  void test('security: collectFirmware refuses two files whose names differ only in case, naming both', { timeout: 60_000 }, async () => {
    await assert.rejects(
      collectFirmware(firmwareDir({ ...SENT, 'tether/A.py': Buffer.from('') })),
      (err: unknown) => err instanceof FirmwareError && /ignores case/.test(err.message) && /tether\/A\.py, tether\/a\.py$/.test(err.message),
    );
    await assert.rejects(
      collectFirmware(firmwareDir({ ...SENT, 'Tether/a.py': Buffer.from('') })),
      (err: unknown) => err instanceof FirmwareError && /Tether\/a\.py/.test(err.message) && /tether\/a\.py/.test(err.message),
    );
  });

  void test('caseClashes finds names and folders that are one on a file system without case, and nothing else', { timeout: 60_000 }, () => {
    assert.deepEqual(caseClashes(['main.py', 'tether/a.py', 'tether/b.py', 'lib/a.py']), []);
    assert.deepEqual(caseClashes(['x.py', 'X.py', 'y.py']), ['X.py', 'x.py']);
    assert.deepEqual(caseClashes(['Lib.py', 'lib.py/b.py', 'lib.py/c.py']), ['Lib.py', 'lib.py/b.py', 'lib.py/c.py']);
  });

  void test('readFirmwareVersion reads either quote', { timeout: 60_000 }, () => {
    assert.equal(readFirmwareVersion("VERSION = '0.1.0'\n"), '0.1.0');
    assert.equal(readFirmwareVersion('# x\nVERSION="2.0.0-rc1"  # comment\n'), '2.0.0-rc1');
    assert.equal(readFirmwareVersion('MY_VERSION = "1"\n'), undefined);
  });

  void test('chunksOf cuts from an offset, in base64', { timeout: 60_000 }, () => {
    const data = Buffer.from('abcdefghij');
    assert.deepEqual([...chunksOf(data, 0, 4)].map((c) => [c.offset, c.bytes, Buffer.from(c.data, 'base64').toString()]), [
      [0, 4, 'abcd'],
      [4, 4, 'efgh'],
      [8, 2, 'ij'],
    ]);
    assert.deepEqual([...chunksOf(data, 6, 4)].map((c) => c.offset), [6]);
    assert.deepEqual([...chunksOf(data, 10, 4)], []);
  });

  void test('Progress redraws one line on a terminal and prints a line per 10 % elsewhere', { timeout: 60_000 }, () => {
    let tty = '';
    const bar = new Progress({ isTTY: true, write: (s) => (tty += s) }, 2048, 2);
    bar.file(1, 'a.py');
    bar.advance(1024);
    bar.file(2, 'b.py');
    bar.advance(1024);
    bar.end();
    const frames = tty.split('\r').filter((s) => s !== '');
    assert.equal(frames.at(-1), '[########################] 100%  2.0 KiB of 2.0 KiB  file 2/2 b.py\x1b[K\n');
    assert.equal(frames[1], '[############------------]  50%  1.0 KiB of 2.0 KiB  file 1/2 a.py\x1b[K');
    let plain = '';
    const lines = new Progress({ isTTY: false, write: (s) => (plain += s) }, 1000, 1);
    lines.skip(250);
    lines.file(1, 'x.py');
    for (let i = 0; i < 15; i++) lines.advance(50);
    lines.end();
    assert.equal(
      plain,
      [30, 40, 50, 60, 70, 80, 90, 100].map((p) => `tether: sent ${p}% (${p * 10} B of 1000 B, file 1/1 x.py)\n`).join(''),
    );
  });

  void test('security: the command to resume never shows a token, nor puts one back on a command line', { timeout: 60_000 }, () => {
    assert.equal(
      rerunCommand(['update', 'board.local', '--firmware', 'my firmware', '--token', 'secret', '--api-token=s2']),
      `tether update board.local --firmware 'my firmware'  (give the token with --token-file FILE or TETHER_TOKEN, and the API token with --api-token-file FILE or TETHER_API_TOKEN)`,
    );
    assert.equal(rerunCommand(['update', 'b', '--firmware', 'f', '--token-file', 'admin.token']), 'tether update b --firmware f --token-file admin.token');
    assert.equal(rerunCommand(['update', 'b', '--token=secret', '--firmware', 'f']), 'tether update b --firmware f  (give the token with --token-file FILE or TETHER_TOKEN)');
  });
});
