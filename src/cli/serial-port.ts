// USB serial ports through the serialport package, loaded only by `tether install`: it is an
// optional dependency with a native addon, and nothing else in Tether needs it. Its types are not
// imported, so that the rest of Tether compiles where npm could not install it; the little of it
// used here is declared below.
import type { ReplPort } from '../firmware/raw-repl.js';
import type { SerialPortInfo } from '../firmware/usb-boards.js';
import { CliFailure } from './context.js';

interface NativePort {
  open(callback: (err: Error | null) => void): void;
  write(data: Uint8Array, callback: (err: Error | null | undefined) => void): boolean;
  drain(callback: (err: Error | null) => void): void;
  set(options: { dtr?: boolean; rts?: boolean }, callback: (err: Error | null) => void): void;
  close(callback: (err: Error | null) => void): void;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: 'close' | 'error', listener: (err?: Error) => void): this;
  readonly isOpen: boolean;
}

interface SerialPortModule {
  SerialPort: {
    new (options: { path: string; baudRate: number; autoOpen: false }): NativePort;
    list(): Promise<SerialPortInfo[]>;
  };
}

/** Not a literal, so that the compiler does not look for the package's types. */
const PACKAGE: string = 'serialport';

let loaded: Promise<SerialPortModule> | undefined;

function loadSerialPort(): Promise<SerialPortModule> {
  loaded ??= (import(PACKAGE) as Promise<SerialPortModule>).catch((err: unknown) => {
    loaded = undefined;
    throw new CliFailure(serialPortMissing(err, process.platform, process.arch));
  });
  return loaded;
}

/** What to do when the package does not load here. */
export function serialPortMissing(err: unknown, platform: string, arch: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const copy = 'or copy the firmware with mpremote instead (docs/install.md, "Without tether install")';
  if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes("'serialport'")) {
    return `serial_missing: tether install talks to the board over USB serial with the serialport package, which is not installed (an optional dependency: npm skips it where it fails); run npm install serialport@13 where Tether is installed, ${copy}`;
  }
  return `serial_missing: the serialport package did not load on ${platform}-${arch}: ${err instanceof Error ? err.message : String(err)}; reinstall it (npm install serialport@13), ${copy}`;
}

export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  const { SerialPort } = await loadSerialPort();
  return SerialPort.list();
}

function promised(run: (done: (err: Error | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((err) => (err ? reject(err) : resolve())));
}

/**
 * Opens a board's USB serial port. DTR and RTS are both raised: MicroPython's native USB (rp2,
 * ESP32-S2/S3) sends nothing until the host raises DTR, and on an ESP32 board with a USB-serial
 * bridge equal DTR and RTS leave its reset and boot pins alone.
 */
export async function openSerialPort(path: string, baudRate = 115_200): Promise<ReplPort> {
  const { SerialPort } = await loadSerialPort();
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  try {
    await promised((done) => port.open(done));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const hint = /permission denied|EACCES/i.test(why)
      ? `add yourself to the group that owns ${path} (sudo usermod -aG dialout $USER on Debian, Ubuntu and Raspberry Pi OS; uucp on Arch), then log in again`
      : /busy|EBUSY|lock/i.test(why)
        ? 'another program has it open (mpremote, Thonny, a serial monitor): close it'
        : 'check the cable and the port (tether install --list)';
    throw new CliFailure(`port_unavailable: cannot open ${path} (${why}): ${hint}`);
  }
  await promised((done) => port.set({ dtr: true, rts: true }, done)).catch(() => undefined);
  return {
    write: (bytes) => promised((done) => port.write(bytes, (err) => (err ? done(err) : port.drain(done)))),
    listen: (onData, onClose) => {
      port.on('data', (data) => onData(new Uint8Array(data)));
      port.on('close', () => onClose());
      // A read error (the cable pulled) closes the port, which onClose reports.
      port.on('error', () => undefined);
    },
    close: () => (port.isOpen ? promised((done) => port.close(done)) : Promise.resolve()),
  };
}
