// A small firmware tree for the tests of releases, rollouts and the OTA client: what a release
// needs (main.py, tether/__init__.py with its VERSION, tether/app.py) and nothing more.
import fs from 'node:fs';
import path from 'node:path';
import { tempDataDir } from './test-hub.js';

/** The three files of a small firmware of `version`, by path. */
export function smallFirmwareFiles(version: string): Record<string, string> {
  return { 'main.py': 'from tether import app\n', 'tether/__init__.py': `VERSION = '${version}'\n`, 'tether/app.py': 'def run():\n    return 42\n' };
}

/** Writes `files` (path → text) under `dir`, making folders as needed; returns `dir`. */
export function writeFolder(dir: string, files: Record<string, string>): string {
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
  }
  return dir;
}

/** A small firmware of `version`, with `extra` files, in `dir` (a new temp folder by default). */
export function smallFirmware(version: string, extra: Record<string, string> = {}, dir = tempDataDir()): string {
  return writeFolder(dir, { ...smallFirmwareFiles(version), ...extra });
}
