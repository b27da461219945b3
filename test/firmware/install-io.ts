// What the install tests share: `tether install`'s io wired to a fake board, captured output,
// a WiFi password file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliContext } from '../../src/cli/context.js';
import type { InstallFlags, InstallIo } from '../../src/cli/install-command.js';
import type { SerialPortInfo } from '../../src/firmware/usb-boards.js';
import type { FakeBoard } from '../support/fake-repl.js';

export interface Run {
  out: string[];
  err: string[];
  ctx: CliContext;
}

export function capture(): Run {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, ctx: { out: (l) => out.push(l), err: (l) => err.push(l), stdoutIsTTY: false, fail: () => undefined } };
}

export const PICO: SerialPortInfo = { path: '/dev/ttyACM0', vendorId: '2E8A', productId: '0005', manufacturer: 'MicroPython', serialNumber: 'e6614c311b7e6f35' };

export function tempDir(dirs: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-install-'));
  dirs.push(dir);
  return dir;
}

/** The io of `tether install` wired to a fake board; every open is a fresh connection to it. */
export function boardIo(board: FakeBoard, dirs: string[], ports: SerialPortInfo[] = [PICO]): InstallIo & { opened: string[]; progressText: () => string } {
  const opened: string[] = [];
  let progress = '';
  return {
    opened,
    progressText: () => progress,
    listPorts: () => Promise.resolve(ports),
    openPort: (p) => {
      opened.push(p);
      board.reconnect();
      return Promise.resolve(board.port);
    },
    progress: { isTTY: false, write: (text) => void (progress += text) },
    replOptions: { enterTimeoutMs: 300, plainPieceDelayMs: 0 },
    pollMs: 50,
    tokenDir: tempDir(dirs),
  };
}

export function wifiFlags(dirs: string[], password = 'tether-pass'): Pick<InstallFlags, 'wifiSsid' | 'wifiPasswordFile' | 'wifiCountry'> {
  const file = path.join(tempDir(dirs), 'wifi.txt');
  fs.writeFileSync(file, `${password}\n`);
  return { wifiSsid: 'tether-lab', wifiPasswordFile: file, wifiCountry: 'DE' };
}

