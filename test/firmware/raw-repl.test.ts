// The raw REPL client against a fake board that answers byte for byte as MicroPython's pyexec.c.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boardSha256, chunkBytes, sha256Hex, syncFiles, type CopyProgress } from '../../src/firmware/board-files.js';
import { RawRepl, ReplError } from '../../src/firmware/raw-repl.js';
import { FakeBoard, type FakeBoardOptions } from '../support/fake-repl.js';

const enc = new TextEncoder();

async function entered(options: FakeBoardOptions = {}): Promise<{ board: FakeBoard; repl: RawRepl }> {
  const board = new FakeBoard(options);
  const repl = new RawRepl(board.port, { enterTimeoutMs: 300, plainPieceDelayMs: 0 });
  await repl.enter();
  return { board, repl };
}

function bytesOf(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

const FILES = [
  { path: 'boot.py', data: enc.encode("print('boot')\n") },
  { path: 'tether/app.py', data: bytesOf(1500, 1) },
  { path: 'tether/drivers/bme280.py', data: bytesOf(700, 2) },
  { path: 'config/device.json', data: enc.encode('{"name": "greenhouse"}\n') },
];

describe('raw REPL client', { timeout: 30_000 }, () => {
  test('enters the raw REPL of a board running main.py with the interrupt and Ctrl-A', async () => {
    const { board } = await entered({ running: true });
    assert.deepEqual(board.received, [0x0d, 0x03, 0x03, 0x0d, 0x01]);
  });

  test('a board that takes the interrupt late answers both tries with a banner: the second is let go before the first command', async () => {
    // main.py is in a call that does not see Ctrl-C at once (a name lookup): everything else sent
    // meanwhile waits in the board's input buffer, and both tries' Ctrl-A reach it together.
    const board = new FakeBoard({ running: true });
    const held: number[] = [];
    let busy = true;
    const port = {
      write: async (bytes: Uint8Array) => {
        if (busy) {
          for (const b of bytes) if (b !== 0x03) held.push(b);
          return;
        }
        await board.port.write(bytes);
      },
      listen: board.port.listen.bind(board.port),
      close: board.port.close.bind(board.port),
    };
    const repl = new RawRepl(port, { enterTimeoutMs: 300, plainPieceDelayMs: 0 });
    const entering = repl.enter();
    await new Promise((resolve) => setTimeout(resolve, 400));
    busy = false;
    await board.port.write(Uint8Array.from([0x03, ...held]));
    await entering;
    assert.equal(await repl.exec("print('hi')"), 'hi\n');
    assert.equal(repl.usesRawPaste, true, 'raw-paste is still used: the late banner was not taken for a refusal');
  });

  test('exec returns what the code printed', async () => {
    const { repl, board } = await entered();
    assert.equal(await repl.exec("print('hello board')"), 'hello board\n');
    assert.equal(board.pasted, 1);
    assert.equal(repl.usesRawPaste, true);
    assert.equal(await repl.exec("print('again')"), 'again\n', 'the prompt after the first command was consumed');
  });

  test("a Python exception is a 'traceback' error carrying the board's text", async () => {
    const { repl } = await entered();
    const err = await repl.exec("raise ValueError('bad pin')").catch((e: unknown) => e);
    assert.ok(err instanceof ReplError);
    assert.equal(err.code, 'traceback');
    assert.match(err.message, /ValueError: bad pin/);
    assert.match(err.boardText, /^Traceback \(most recent call last\):\n {2}File "<stdin>", line 1, in <module>\nValueError: bad pin\n$/);
    assert.equal(await repl.exec("print('still here')"), 'still here\n');
  });

  test('raw-paste waits for the \\x01 grants when the code is longer than the window', async () => {
    const { repl, board } = await entered({ stdinBufferMax: 64 });
    const file = { path: 'big.bin', data: bytesOf(2000, 7) };
    // Chunks sized to 2 windows of 32 bytes; force a longer command too.
    const long = `print('${'x'.repeat(300)}')`;
    assert.equal(await repl.exec(long), `${'x'.repeat(300)}\n`);
    assert.equal(repl.window, 32);
    assert.ok(board.grants >= 300 / 32 - 2, `the board granted ${board.grants} windows`);
    await syncFiles(repl, [file]);
    assert.equal(board.overruns, 0, 'the host never sent beyond its window');
    assert.equal(sha256Hex(board.files.get('/big.bin') ?? new Uint8Array()), sha256Hex(file.data));
  });

  test("falls back to plain raw mode on 'R\\x00' and on a board from before raw-paste", async () => {
    for (const rawPaste of ['refuses', 'absent'] as const) {
      const { repl, board } = await entered({ rawPaste });
      assert.equal(await repl.exec("print('plain')"), 'plain\n', rawPaste);
      assert.equal(await repl.exec("print('plain 2')"), 'plain 2\n', rawPaste);
      assert.equal(repl.usesRawPaste, false);
      assert.equal(board.plain, 2);
      assert.equal(board.pasted, 0);
      const { copied } = await syncFiles(repl, FILES);
      assert.equal(copied.length, FILES.length);
    }
  });

  test('copies files in chunks, reads back their hash, and skips unchanged files', async () => {
    const { repl, board } = await entered();
    const seen: CopyProgress[] = [];
    const first = await syncFiles(repl, FILES, (p) => seen.push(p));
    assert.deepEqual(first, { copied: FILES.map((f) => f.path), unchanged: [] });
    for (const f of FILES) assert.deepEqual(board.files.get(`/${f.path}`), f.data, f.path);
    assert.equal(await boardSha256(repl, 'tether/app.py'), sha256Hex(FILES[1]?.data ?? new Uint8Array()));
    assert.equal(await boardSha256(repl, 'nothing/here.py'), null);
    const app = seen.filter((p) => p.path === 'tether/app.py' && p.phase === 'copying');
    assert.ok(app.length > 2, 'progress comes per chunk');
    assert.deepEqual(app.at(-1), { path: 'tether/app.py', phase: 'copying', done: 1500, total: 1500 });
    assert.ok(chunkBytes() < 1500);

    const changed = [...FILES.slice(0, 3), { path: 'config/device.json', data: enc.encode('{"name": "shed"}\n') }];
    const second = await syncFiles(repl, changed);
    assert.deepEqual(second, { copied: ['config/device.json'], unchanged: ['boot.py', 'tether/app.py', 'tether/drivers/bme280.py'] });
    assert.equal(dec(board.files.get('/config/device.json')), '{"name": "shed"}\n');
  });

  test('soft reset comes back to the raw REPL with what boot.py printed', async () => {
    const { repl, board } = await entered({ bootOutput: 'boot: no update pending\n' });
    assert.equal(await repl.softReset(), 'boot: no update pending\n');
    assert.equal(board.softResets, 1);
    assert.equal(await repl.exec("print('after reset')"), 'after reset\n');
    await repl.exit({ start: true });
    assert.equal(board.softResets, 2);
  });

  test('a port with something other than MicroPython gives a no_repl error saying what to do', async () => {
    for (const notMicroPython of ['silent', 'garbage'] as const) {
      const board = new FakeBoard({ notMicroPython });
      const repl = new RawRepl(board.port, { enterTimeoutMs: 200 });
      const err = await repl.enter().catch((e: unknown) => e);
      assert.ok(err instanceof ReplError, notMicroPython);
      assert.equal(err.code, 'no_repl');
      assert.match(err.message, /no MicroPython answered on this port: is it flashed\?/);
      assert.match(err.message, notMicroPython === 'garbage' ? /ERROR/ : /printed nothing/);
    }
  });

  test('a port that closes mid-copy is a port_closed error; the next run copies only what is not yet right', async () => {
    const { repl, board } = await entered();
    board.cutAfterBytes(1900);
    const err = await syncFiles(repl, FILES).catch((e: unknown) => e);
    assert.ok(err instanceof ReplError);
    assert.equal(err.code, 'port_closed');
    assert.match(err.message, /run the command again/);
    assert.equal(board.files.has('/tether/app.py'), false, 'a cut copy never replaces the file');
    assert.equal(board.files.get('/boot.py')?.length, FILES[0]?.data.length);

    board.reconnect();
    const again = new RawRepl(board.port, { enterTimeoutMs: 300 });
    await again.enter();
    const result = await syncFiles(again, FILES);
    assert.deepEqual(result.unchanged, ['boot.py']);
    assert.deepEqual(result.copied, ['tether/app.py', 'tether/drivers/bme280.py', 'config/device.json']);
    for (const f of FILES) assert.deepEqual(board.files.get(`/${f.path}`), f.data, f.path);
  });

  test('a path that would need quoting is refused before anything is sent', async () => {
    const { repl, board } = await entered();
    const before = board.received.length;
    const err = await syncFiles(repl, [{ path: "it's.py", data: enc.encode('x') }]).catch((e: unknown) => e);
    assert.ok(err instanceof ReplError);
    assert.equal(err.code, 'bad_path');
    assert.equal(board.received.length, before);
  });
});

function dec(b: Uint8Array | undefined): string {
  return new TextDecoder().decode(b ?? new Uint8Array());
}
