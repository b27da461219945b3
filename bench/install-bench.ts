// npm run bench:install: `tether install` of the whole firmware (and its config files) over a
// simulated serial line at 115,200 baud, 11,520 bytes/s each way, to a fake MicroPython board
// that answers as pyexec.c does (test/support/fake-repl.ts). Measured: a first install with
// raw-paste, a second run that finds everything unchanged, and a first install on a board that
// refuses raw-paste (plain raw mode, 256-byte pieces 10 ms apart). Baseline in the same run: the
// same file bytes, as they are, sent one way over the same paced line, the least any copy could take.
// BENCH_BYTES_PER_S=11520 changes the pace.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliContext } from '../src/cli/context.js';
import { DEFAULT_FIRMWARE_DIR, runInstall, type InstallIo } from '../src/cli/install-command.js';
import { collectFirmware } from '../src/firmware/index.js';
import { FakeBoard, pacedPort, type FakeBoardOptions } from '../test/support/fake-repl.js';

const PACE = Number(process.env['BENCH_BYTES_PER_S'] ?? 11_520);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-install-bench-'));
const passwordFile = path.join(work, 'wifi.txt');
fs.writeFileSync(passwordFile, 'tether-pass\n');
const quiet: CliContext = { out: () => undefined, err: () => undefined, stdoutIsTTY: false, fail: () => undefined };

function ioFor(board: FakeBoard): InstallIo & { sent: () => number } {
  let sent = 0;
  return {
    sent: () => sent,
    listPorts: () => Promise.resolve([{ path: '/dev/ttyACM0', vendorId: '2e8a', productId: '0005' }]),
    openPort: (p) => {
      void p;
      board.reconnect();
      const paced = pacedPort(board.port, PACE);
      return Promise.resolve({ ...paced, write: (bytes: Uint8Array) => ((sent += bytes.length), paced.write(bytes)) });
    },
    progress: { isTTY: false, write: () => undefined },
    tokenDir: work,
  };
}

async function install(board: FakeBoard): Promise<{ seconds: number; sent: number }> {
  const io = ioFor(board);
  const started = performance.now();
  await runInstall({ wait: 5, name: 'bench', wifiSsid: 'tether-lab', wifiPasswordFile: passwordFile }, quiet, io);
  return { seconds: (performance.now() - started) / 1000, sent: io.sent() };
}

/** The same bytes one way over the same paced line, in 256-byte writes, to a port that only counts. */
async function rawTransfer(bytes: number): Promise<number> {
  const sink = pacedPort({ write: () => Promise.resolve(), listen: () => undefined, close: () => Promise.resolve() }, PACE);
  const piece = new Uint8Array(256);
  const started = performance.now();
  for (let left = bytes; left > 0; left -= piece.length) await sink.write(piece.subarray(0, Math.min(piece.length, left)));
  return (performance.now() - started) / 1000;
}

const firmware = await collectFirmware(DEFAULT_FIRMWARE_DIR);
const bootBytes = fs.statSync(path.join(DEFAULT_FIRMWARE_DIR, 'boot.py')).size;
const fileBytes = firmware.totalBytes + bootBytes;
console.log(`install bench: ${firmware.files.length + 1} firmware files (${fileBytes} bytes, version ${firmware.version}) over a line paced at ${PACE} bytes/s each way; Node ${process.version}`);

const baseline = await rawTransfer(fileBytes);
console.log(`baseline: the same ${fileBytes} bytes one way at that pace: ${baseline.toFixed(2)} s (${Math.round(fileBytes / baseline)} bytes/s)`);

const rows: Array<[string, FakeBoardOptions, boolean]> = [
  ['first install, raw-paste', {}, false],
  ['second run, nothing changed', {}, true],
  ['first install, plain raw (R\\x00)', { rawPaste: 'refuses' }, false],
];
let reused: FakeBoard | undefined;
for (const [label, options, again] of rows) {
  const board = again && reused !== undefined ? reused : new FakeBoard(options);
  const { seconds, sent } = await install(board);
  reused = board;
  const rate = again ? '' : `, ${Math.round(fileBytes / seconds)} file bytes/s`;
  console.log(`${label}: ${seconds.toFixed(2)} s, ${sent} bytes sent${rate}; ${(seconds / baseline).toFixed(2)}× the baseline (overruns ${board.overruns})`);
}
fs.rmSync(work, { recursive: true, force: true });
