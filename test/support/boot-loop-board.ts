// A board running the real firmware under CPython across real resets: its flash is a temp copy
// of firmware/, powered on again and again by firmware/tests/host/boot_loop.py (boot.py, then
// run_board.py, and again after every reset). For the OTA tests: updates, rollbacks, rollouts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { collectFirmware } from '../../src/firmware/index.js';
import type { JsonObject } from '../../src/protocol/json.js';
import { FIRMWARE_DIR } from './firmware-board.js';
import { eventually } from './test-hub.js';

const BOOT_LOOP = join(FIRMWARE_DIR, 'tests', 'host', 'boot_loop.py');

/** firmware/ without tests/, __pycache__ and the board's own config/ and ota/, into scratch/name, with edits. */
export function firmwareCopy(scratch: string, name: string, edit: (dir: string) => void = () => {}): string {
  const dir = join(scratch, name);
  const skipped = new Set(['tests', 'config', 'ota'].map((d) => join(FIRMWARE_DIR, d)));
  cpSync(FIRMWARE_DIR, dir, { recursive: true, filter: (src) => basename(src) !== '__pycache__' && !skipped.has(src) });
  edit(dir);
  return dir;
}

/** A firmware copy whose VERSION is `version`, with edits. */
export function firmwareRelease(scratch: string, name: string, version: string, edit: (dir: string) => void): string {
  return firmwareCopy(scratch, name, (dir) => {
    const init = join(dir, 'tether', '__init__.py');
    writeFileSync(init, readFileSync(init, 'utf8').replace(/^VERSION = '[^']*'/m, `VERSION = '${version}'`));
    edit(dir);
  });
}

/**
 * The two releases the OTA tests send (0.1.1 both unless told): `good` changes a comment in tether/led.py;
 * `broken` raises at the import of tether/app.py, so the board fails its start on trial and
 * rolls back.
 */
export function testReleases(scratch: string, versions: { good: string; broken: string } = { good: '0.1.1', broken: '0.1.1' }): { good: string; broken: string } {
  const good = firmwareRelease(scratch, 'new', versions.good, (dir) => writeFileSync(join(dir, 'tether', 'led.py'), `${readFileSync(join(dir, 'tether', 'led.py'), 'utf8')}# ${versions.good}: a comment\n`));
  const broken = firmwareRelease(scratch, 'broken', versions.broken, (dir) => {
    const app = join(dir, 'tether', 'app.py');
    writeFileSync(app, `raise RuntimeError('${versions.broken} is broken')\n${readFileSync(app, 'utf8')}`);
  });
  return { good, broken };
}

/**
 * A board config for the OTA tests: one relay, and health_s 5, the least tether/ota.py takes (a
 * broken release costs 3 boots of 5 s).
 */
export function otaBoardConfig(name: string, board: string): JsonObject {
  return { name, board, auth: 'none', pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }], update: { health_s: 5 } };
}

/** The files of the release in `releaseDir` (as `tether update` sends them) whose content differs on the board's flash. */
export async function filesDiffering(flash: string, releaseDir: string): Promise<string[]> {
  const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
  const { files } = await collectFirmware(releaseDir);
  if (files.length < 20) throw new Error(`${releaseDir} holds only ${files.length} firmware files: not a release`);
  return files.filter((f) => sha256(join(flash, f.path)) !== sha256(join(releaseDir, f.path))).map((f) => f.path);
}

export interface BootLoopBoard {
  flash: string;
  /** The JSON port line of every start so far. */
  boots: Array<{ port: number | null; control: number }>;
  stderr(): string;
  /** Waits for the n-th start (1-based). */
  boot(n: number, timeoutMs?: number): Promise<void>;
  /** Powers the board off (its children end with boot_loop.py). */
  close(): Promise<void>;
}

/** A board whose flash is a fresh copy of firmware/ (scratch/name) with `config`, powered by boot_loop.py; started once. */
export async function startBootLoopBoard(scratch: string, name: string, config: unknown, args: string[]): Promise<BootLoopBoard> {
  const flash = firmwareCopy(scratch, name);
  mkdirSync(join(flash, 'config'));
  writeFileSync(join(flash, 'config', 'device.json'), JSON.stringify(config));
  const child: ChildProcess = spawn('python3', [BOOT_LOOP, '--root', flash, '--config', join(flash, 'config', 'device.json'), ...args], {
    // boot_loop.py stops when its stdin closes, even if this process dies without cleaning up.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const boots: BootLoopBoard['boots'] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => boots.push(JSON.parse(line) as BootLoopBoard['boots'][number]));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const board: BootLoopBoard = {
    flash,
    boots,
    stderr: () => err,
    boot: async (n, timeoutMs = 10_000) => {
      const started = () => {
        if (boots.length >= n) return true;
        if (child.exitCode !== null) throw new Error(`boot_loop exited with ${child.exitCode} before start ${n}`);
        return undefined;
      };
      await eventually(started, `start ${n} of the board`, timeoutMs).catch((e: Error) => {
        throw new Error(`${e.message}\n--- board stderr ---\n${err}`, { cause: e });
      });
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // Its children end with it (boot_loop.py sets PR_SET_PDEATHSIG).
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await board.boot(1);
  } catch (e) {
    await board.close();
    throw e;
  }
  return board;
}
