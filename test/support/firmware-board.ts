// Runs the MicroPython firmware's real modules under CPython (firmware/tests/host/run_board.py,
// on the machine/network shims) as a board on a loopback port, for the TypeScript tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { FIRMWARE_DIR } from './micropython.js';

export { FIRMWARE_DIR, REPO_ROOT } from './micropython.js';
const RUN_BOARD = process.env['TETHER_RUN_BOARD'] ?? join(FIRMWARE_DIR, 'tests', 'host', 'run_board.py');

export interface FirmwareBoard {
  /** The direct-mode port; null with --no-listen. */
  port: number;
  process: ChildProcess;
  /** Moves the board's manual clock (started with manualClock) and waits until it has. */
  advance(ms: number): Promise<void>;
  /** The hub link's state and the shims' pin levels, from the board itself. */
  state(): Promise<FirmwareState>;
  /** A control line that answers "ok" (run_board.py): "drive <pin> <level>", "chip_temp <celsius>". */
  control(line: string): Promise<void>;
  /** What the board printed on stderr so far, for failure messages. */
  stderr(): string;
  close(): Promise<void>;
}

export interface FirmwareState {
  link: { up: boolean; connections: number; error: string | null; queued: number; inflight: number } | null;
  levels: Record<string, number>;
  /** Running PWM outputs: pin → duty 0–1. */
  duty: Record<string, number>;
}

export interface FirmwareBoardOptions {
  manualClock?: boolean;
  /** Extra arguments for run_board.py (e.g. hub mode). */
  args?: string[];
}

export async function startFirmwareBoard(config: unknown, options: FirmwareBoardOptions = {}): Promise<FirmwareBoard> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-fw-'));
  const file = join(dir, 'device.json');
  writeFileSync(file, JSON.stringify(config));
  const args = [RUN_BOARD, '--config', file, ...(options.manualClock === true ? ['--manual-clock'] : []), ...(options.args ?? [])];
  const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let errText = '';
  child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
  const ports = await new Promise<{ port: number; control: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const fail = (why: string) => reject(new Error(`the firmware board did not start (${why}):\n${errText}`));
    child.once('exit', (code) => fail(`exit code ${String(code)}`));
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line) as { port: number; control: number });
      } catch {
        fail(`unexpected first line ${line}`);
      }
    });
  });
  const control = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port: ports.control, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  const controlLines = createInterface({ input: control });
  const answers: Array<(line: string) => void> = [];
  controlLines.on('line', (line) => answers.shift()?.(line));
  return {
    port: ports.port,
    process: child,
    stderr: () => errText,
    advance: (ms) =>
      new Promise<void>((resolve, reject) => {
        answers.push((line) => (line === 'ok' ? resolve() : reject(new Error(`advance ${ms}: ${line}`))));
        control.write(`advance ${Math.round(ms)}\n`);
      }),
    control: (line) =>
      new Promise<void>((resolve, reject) => {
        answers.push((answer) => (answer === 'ok' ? resolve() : reject(new Error(`${line}: ${answer}`))));
        control.write(`${line}\n`);
      }),
    state: () =>
      new Promise<FirmwareState>((resolve) => {
        answers.push((line) => resolve(JSON.parse(line) as FirmwareState));
        control.write('state\n');
      }),
    close: async () => {
      control.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
