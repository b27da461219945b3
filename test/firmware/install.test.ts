// `tether install` against a simulated serial port whose far end is a fake MicroPython board
// answering byte for byte as pyexec.c (test/support/fake-repl.ts), with the real firmware folder.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CliFailure } from '../../src/cli/context.js';
import { runInstall, type InstallFlags } from '../../src/cli/install-command.js';
import { serialPortMissing } from '../../src/cli/serial-port.js';
import { collectFirmware } from '../../src/firmware/index.js';
import type { SerialPortInfo } from '../../src/firmware/usb-boards.js';
import { FakeBoard, type FakeBoardOptions } from '../support/fake-repl.js';
import { FIRMWARE_DIR } from '../support/micropython.js';
import { runCli } from '../cli/run-cli.js';
import { boardIo, capture, PICO, wifiFlags, type Run } from './install-io.js';

const dec = new TextDecoder();

async function firmwarePaths(): Promise<string[]> {
  const fw = await collectFirmware(FIRMWARE_DIR);
  return [...fw.files.map((f) => f.path), 'boot.py'];
}

function sha(data: Uint8Array | undefined): string {
  return createHash('sha256').update(data ?? new Uint8Array()).digest('hex');
}

function copiedLine(run: Run): RegExpMatchArray {
  const line = run.err.find((l) => l.startsWith('copied '));
  const m = line?.match(/^copied (\d+) file\(s\) .*; (\d+) unchanged$/);
  assert.ok(m, `no summary line in ${run.err.join('\n')}`);
  return m;
}

async function failureOf(promise: Promise<unknown>): Promise<CliFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof CliFailure, `expected a CliFailure, got ${String(err)}`);
  return err;
}

describe('tether install over a simulated serial port', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const install = (board: FakeBoard, flags: Partial<InstallFlags>, io = boardIo(board, dirs)) => {
    const run = capture();
    return { run, io, done: runInstall({ wait: 5, ...flags }, run.ctx, io) };
  };

  test('copies the whole firmware, boot.py and the config files, then starts main.py', async () => {
    const board = new FakeBoard();
    const { run, io, done } = install(board, { name: 'greenhouse', ...wifiFlags(dirs) });
    await done;
    const paths = await firmwarePaths();
    for (const p of paths) assert.equal(sha(board.files.get(`/${p}`)), sha(fs.readFileSync(path.join(FIRMWARE_DIR, p))), p);
    assert.deepEqual(JSON.parse(dec.decode(board.files.get('/config/wifi.json'))), { ssid: 'tether-lab', password: 'tether-pass', country: 'DE' });
    const device = JSON.parse(dec.decode(board.files.get('/config/device.json'))) as { name: string; auth: { tokens: Array<{ token: string; scope: string }> } };
    assert.equal(device.name, 'greenhouse');
    const token = fs.readFileSync(path.join(io.tokenDir ?? '', 'greenhouse.token'), 'utf8').trim();
    assert.deepEqual(device.auth.tokens, [{ token, scope: 'admin' }]);
    assert.equal(fs.statSync(path.join(io.tokenDir ?? '', 'greenhouse.token')).mode & 0o777, 0o600);
    assert.equal([...board.files.keys()].filter((p) => p.endsWith('.part')).length, 0);
    const m = copiedLine(run);
    assert.equal(Number(m[1]), paths.length + 2);
    assert.equal(board.softResets, 1, 'main.py was started');
    assert.equal(board.overruns, 0);
    assert.deepEqual(io.opened, ['/dev/ttyACM0'], 'the one board found by its USB id');
    const progress = io.progressText().trim().split('\n');
    assert.equal(progress.length, paths.length + 2, 'a progress line per file');
    assert.match(progress.at(-1) ?? '', /^tether: \[\d+\/\d+\] main\.py {2}[\d.]+ KiB of [\d.]+ KiB, [\d.]+ (KiB|B|MiB)\/s$/);
    assert.match(run.out.join('\n'), /greenhouse is installed and starting/);
  });

  test('a second run copies nothing and keeps the board\'s device.json', async () => {
    const board = new FakeBoard();
    const io = boardIo(board, dirs);
    const wifi = wifiFlags(dirs);
    await install(board, { name: 'porch', ...wifi }, io).done;
    const before = new Map(board.files);
    const written = board.received.length;
    const second = install(board, { name: 'porch', ...wifi }, io);
    await second.done;
    const m = copiedLine(second.run);
    assert.equal(m[1], '0');
    assert.equal(Number(m[2]), (await firmwarePaths()).length + 1, 'firmware and wifi.json unchanged (device.json is kept, not compared)');
    assert.deepEqual(board.files, before);
    assert.ok(board.received.length - written < 8000, `the second run sent ${board.received.length - written} bytes: hashes only`);
  });

  test("an earlier update's journal, backups and trial state are removed, so no rollback can undo the install", async () => {
    const board = new FakeBoard();
    board.files.set('/ota/state.json', new TextEncoder().encode('{"state": "trial", "version": "0.1.1", "tries": 1}'));
    board.files.set('/ota/prev/main.py', new TextEncoder().encode("print('0.1.0')\n"));
    board.files.set('/ota/prev/tether/app.py', new TextEncoder().encode('# 0.1.0\n'));
    const { run, done } = install(board, { name: 'shed', ...wifiFlags(dirs) });
    await done;
    assert.deepEqual([...board.files.keys()].filter((p) => p.startsWith('/ota')), []);
    assert.ok(run.err.some((l) => l.startsWith('removed ota/')), run.err.join('\n'));
    const again = install(board, { name: 'shed', ...wifiFlags(dirs) });
    await again.done;
    assert.ok(!again.run.err.some((l) => l.startsWith('removed ota/')), 'nothing to remove the second time');
  });

  test('after the port drops mid-copy, the next run copies only what is missing', async () => {
    const board = new FakeBoard();
    const io = boardIo(board, dirs);
    const wifi = wifiFlags(dirs);
    const open = io.openPort.bind(io);
    // The cable is pulled 90 kB into the first run's connection.
    io.openPort = async (p) => open(p).then((port) => (board.cutAfterBytes(90_000), port));
    const first = install(board, { name: 'shed', ...wifi }, io);
    const err = await failureOf(first.done);
    assert.match(err.message, /^port_closed: \/dev\/ttyACM0: the port closed .*run the command again/);
    const total = (await firmwarePaths()).length + 2;
    const landed = [...board.files.keys()].filter((p) => !p.endsWith('.part')).length;
    assert.ok(landed > 2 && landed < total, `${landed} of ${total} files landed before the cut`);
    assert.equal(board.files.has('/main.py'), false, 'main.py goes last, so a cut board does not start half a firmware');

    io.openPort = open;
    const second = install(board, { name: 'shed', ...wifi }, io);
    await second.done;
    const m = copiedLine(second.run);
    assert.equal(Number(m[1]) + Number(m[2]), total - 1, 'every file but the kept device.json was compared');
    assert.ok(Number(m[1]) <= total - landed + 1, `copied ${m[1]} files, at most the ${total - landed} missing and the cut one`);
    for (const p of await firmwarePaths()) assert.equal(sha(board.files.get(`/${p}`)), sha(fs.readFileSync(path.join(FIRMWARE_DIR, p))), p);
  });

  test('a board whose flash fills up is board_full, with no partial file left on it', async () => {
    const board = new FakeBoard({ flashBytes: 60_000 });
    const err = await failureOf(install(board, { name: 'full', ...wifiFlags(dirs) }).done);
    assert.match(err.message, /^board_full: \/dev\/ttyACM0: the board's flash is full at \S+ \(\d+ of \d+ bytes written; the partial file was removed\): remove files/);
    assert.deepEqual([...board.files.keys()].filter((p) => p.endsWith('.part')), []);
    assert.equal(board.files.has('/main.py'), false);
  });

  test('an upgrade cut short leaves no main.py, so the board never starts old and new modules together', async () => {
    const board = new FakeBoard();
    const io = boardIo(board, dirs);
    const wifi = wifiFlags(dirs);
    await install(board, { name: 'barn', ...wifi }, io).done;
    // A newer firmware: every module changed, main.py not.
    const newer = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-fw-'));
    dirs.push(newer);
    fs.cpSync(FIRMWARE_DIR, newer, { recursive: true, filter: (src) => !src.includes('__pycache__') && !src.includes(`${path.sep}tests`) });
    for (const f of fs.readdirSync(path.join(newer, 'tether'))) {
      if (f.endsWith('.py')) fs.appendFileSync(path.join(newer, 'tether', f), '# 0.2.0\n');
    }
    const open = io.openPort.bind(io);
    io.openPort = async (p) => open(p).then((port) => (board.cutAfterBytes(30_000), port));
    await failureOf(install(board, { name: 'barn', firmware: newer, ...wifi }, io).done);
    assert.equal(board.files.has('/main.py'), false, 'main.py was taken away before the first module was replaced');
    io.openPort = open;
    await install(board, { name: 'barn', firmware: newer, ...wifi }, io).done;
    assert.equal(sha(board.files.get('/main.py')), sha(fs.readFileSync(path.join(newer, 'main.py'))), 'main.py is back once every module is');
    assert.equal(sha(board.files.get('/tether/app.py')), sha(fs.readFileSync(path.join(newer, 'tether', 'app.py'))));
  });

  test("a board that answers R\\x00 to raw-paste gets plain raw mode in paced pieces", async () => {
    const board = new FakeBoard({ rawPaste: 'refuses' });
    const { run, done } = install(board, { name: 'plain' });
    await done;
    assert.equal(board.pasted, 0);
    assert.ok(board.plain > 100, `${board.plain} plain commands`);
    assert.match(run.err.join('\n'), /plain raw mode, 256-byte pieces/);
    for (const p of await firmwarePaths()) assert.equal(sha(board.files.get(`/${p}`)), sha(fs.readFileSync(path.join(FIRMWARE_DIR, p))), p);
  });

  test('a port without MicroPython is error no_repl, saying to flash MicroPython first', async () => {
    for (const notMicroPython of ['silent', 'garbage'] as const satisfies Array<FakeBoardOptions['notMicroPython']>) {
      const board = new FakeBoard({ notMicroPython });
      const err = await failureOf(install(board, { name: 'x' }).done);
      assert.match(err.message, /^no_repl: \/dev\/ttyACM0: no MicroPython answered on this port: is it flashed\? Flash MicroPython 1\.23\+ first \(docs\/install\.md/, notMicroPython);
      assert.equal(board.files.size, 0);
    }
  });

  test('--dry-run lists what would be copied and what is unchanged, and writes nothing', async () => {
    const board = new FakeBoard();
    const io = boardIo(board, dirs);
    const dry = install(board, { name: 'dry', dryRun: true, ...wifiFlags(dirs) }, io);
    await dry.done;
    const total = (await firmwarePaths()).length + 2;
    assert.match(dry.run.out[0] ?? '', new RegExp(`^dry run: would copy ${total} file\\(s\\), [\\d.]+ KiB; 0 unchanged; nothing written$`));
    assert.ok(dry.run.out.includes('  copy       tether/app.py (' + (fs.statSync(path.join(FIRMWARE_DIR, 'tether/app.py')).size / 1024).toFixed(1) + ' KiB)'));
    assert.equal(board.files.size, 0);
    assert.equal(board.softResets, 0);
    assert.equal(fs.existsSync(path.join(io.tokenDir ?? '', 'dry.token')), false, 'no token file made on a dry run');

    await install(board, { name: 'dry', ...wifiFlags(dirs) }, io).done;
    const changed = install(board, { name: 'dry', dryRun: true, ...wifiFlags(dirs, 'a new password') }, io);
    await changed.done;
    assert.match(changed.run.out[0] ?? '', /^dry run: would copy 1 file\(s\)/);
    assert.ok(changed.run.out.includes('  copy       config/wifi.json (0.1 KiB)') || changed.run.out.some((l) => /^ {2}copy {7}config\/wifi\.json \(\d+ B\)$/.test(l)));
    assert.ok(changed.run.out.includes("  kept       config/device.json (the board's own)"));
    assert.equal((JSON.parse(dec.decode(board.files.get('/config/wifi.json'))) as { password: string }).password, 'tether-pass');
  });

  test('--list shows the ports that look like a board; without --port one is chosen by USB id, several are refused', async () => {
    const ports: SerialPortInfo[] = [
      { path: '/dev/ttyS0' },
      { path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60' },
      { path: '/dev/ttyACM3', vendorId: '046d', productId: 'c52b' },
      PICO,
    ];
    const board = new FakeBoard();
    const list = capture();
    await runInstall({ wait: 5, list: true }, list.ctx, boardIo(board, dirs, ports));
    assert.deepEqual(list.out, [
      '/dev/ttyACM0\t2e8a:0005\tRaspberry Pi RP2040/RP2350 (Pico, Pico W, Pico 2 W)\tserial e6614c311b7e6f35',
      '/dev/ttyUSB0\t10c4:ea60\tCP210x USB-serial bridge (many ESP32 boards)',
    ]);

    const several = await failureOf(install(board, { name: 'x' }, boardIo(board, dirs, ports)).done);
    assert.match(several.message, /^several_boards: 2 boards found; choose one with --port:\n {2}\/dev\/ttyACM0\t2e8a:0005\t.*\n {2}\/dev\/ttyUSB0\t10c4:ea60\t/);
    const none = await failureOf(install(board, { name: 'x' }, boardIo(board, dirs, [{ path: '/dev/ttyS0' }])).done);
    assert.match(none.message, /^no_board: no board found on USB/);
    assert.equal(board.received.length, 0, 'nothing was sent to any port');

    const esp = boardIo(board, dirs, [{ path: '/dev/ttyS0' }, { path: '/dev/ttyUSB1', vendorId: '1A86', productId: '55D4' }]);
    await install(board, { name: 'esp', dryRun: true }, esp).done;
    assert.deepEqual(esp.opened, ['/dev/ttyUSB1']);
    const given = boardIo(board, dirs, ports);
    await install(board, { name: 'esp', dryRun: true, port: '/dev/ttyS0' }, given).done;
    assert.deepEqual(given.opened, ['/dev/ttyS0'], '--port is used as given, even with several boards attached');
  });

  test('a missing serialport package says how to install it', () => {
    const missing = Object.assign(new Error("Cannot find package 'serialport' imported from /x.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    assert.match(serialPortMissing(missing, 'linux', 'x64'), /^serial_missing: .*not installed .*npm install serialport@13/);
    assert.match(serialPortMissing(new Error('bindings failed'), 'linux', 'arm'), /^serial_missing: the serialport package did not load on linux-arm: bindings failed/);
  });

  test('every option is in --help, and a --wifi-ssid without its password file is a usage error', async () => {
    const help = await runCli(['install', '--help']);
    assert.equal(help.code, 0);
    for (const option of ['--port', '--list', '--wifi-ssid', '--wifi-password-file', '--wifi-country', '--hub', '--name', '--config', '--dry-run']) assert.match(help.stdout, new RegExp(`${option}\\b`), option);
    const usage = await runCli(['install', '--wifi-ssid', 'lab']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--wifi-ssid needs --wifi-password-file FILE/);
  });
});
