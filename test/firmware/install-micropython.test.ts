// The Python that `tether install` sends (src/firmware/board-files.ts) run by real MicroPython
// 1.27 (the WebAssembly port): the fake board of the other install tests only recognises the
// snippets, so this is where their hashing, base64 writing, renaming and mkdir -p are checked
// against MicroPython's own hashlib, binascii and os. The raw REPL framing around each command
// is done here (plain raw mode), as the WebAssembly port has no serial REPL to drive.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boardReadFile, boardRemoveTree, boardSha256s, sha256Hex, syncFiles } from '../../src/firmware/board-files.js';
import { RawRepl, type ReplPort } from '../../src/firmware/raw-repl.js';
import { loadFirmwareMicroPython, type FirmwareMicroPython } from '../support/micropython.js';

const enc = new TextEncoder();

/** A raw REPL whose commands MicroPython runs: banner on Ctrl-A, R\x00 to raw-paste, OK/output/\x04/error/\x04/> per command. */
function micropythonPort(fw: FirmwareMicroPython): ReplPort {
  let onData: (b: Uint8Array) => void = () => undefined;
  let line: number[] = [];
  const say = (text: string) => setImmediate(() => onData(enc.encode(text)));
  return {
    write: (bytes) => {
      for (const c of bytes) {
        if (c === 0x01 && line.length === 2 && line[0] === 0x05) {
          line = [];
          say('R\x00>');
        } else if (c === 0x01) {
          line = [];
          say('raw REPL; CTRL-B to exit\r\n>');
        } else if (c === 0x03) line = [];
        else if (c === 0x04) {
          const code = new TextDecoder().decode(new Uint8Array(line));
          line = [];
          let out = '';
          let err = '';
          try {
            out = fw.run(code);
          } catch (e) {
            err = e instanceof Error ? e.message : String(e);
          }
          say(`OK${out.replaceAll('\n', '\r\n')}\x04${err}\x04>`);
        } else if (c !== 0x0d || line.length > 0) line.push(c);
      }
      return Promise.resolve();
    },
    listen: (data) => {
      onData = data;
    },
    close: () => Promise.resolve(),
  };
}

function bytesOf(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

describe('the install snippets under MicroPython 1.27 (WebAssembly)', { timeout: 60_000 }, () => {
  test('hash, mkdir -p, chunked write with rename, read back: the files MicroPython holds are the ones sent', async () => {
    const fw = await loadFirmwareMicroPython();
    const repl = new RawRepl(micropythonPort(fw), { enterTimeoutMs: 1000, plainPieceDelayMs: 0 });
    await repl.enter();
    const files = [
      { path: 'inst/main.py', data: enc.encode("print('hello')\n") },
      { path: 'inst/tether/drivers/big.py', data: bytesOf(5000, 1) },
      { path: 'inst/config/device.json', data: enc.encode('{"name": "x"}\n') },
      { path: 'inst/empty.py', data: new Uint8Array(0) },
    ];
    assert.deepEqual(await boardSha256s(repl, files.map((f) => f.path)), [null, null, null, null]);
    const first = await syncFiles(repl, files);
    assert.equal(first.copied.length, 4);
    for (const f of files) {
      assert.equal(sha256Hex(fw.mp.FS.readFile(`/${f.path}`, { encoding: 'binary' } as never) as unknown as Uint8Array), sha256Hex(f.data), f.path);
    }
    assert.deepEqual(await boardSha256s(repl, files.map((f) => f.path)), files.map((f) => sha256Hex(f.data)), "MicroPython's hashlib agrees with Node's");
    assert.deepEqual(await boardReadFile(repl, 'inst/tether/drivers/big.py'), files[1]?.data);
    assert.equal(await boardReadFile(repl, 'inst/nothing.json'), null);
    assert.equal(fw.run("import os\nprint('big.py.part' in os.listdir('/inst/tether/drivers'))\n"), 'False\n', 'no .part file is left');
    const again = await syncFiles(repl, files);
    assert.deepEqual(again.copied, []);
    assert.equal(await boardRemoveTree(repl, 'inst/tether'), true);
    assert.equal(fw.run("import os\nprint(sorted(os.listdir('/inst')))\n"), "['config', 'empty.py', 'main.py']\n", 'the folder and all below it are gone');
    assert.equal(await boardRemoveTree(repl, 'inst/tether'), false, 'nothing left to remove');
  });
});
