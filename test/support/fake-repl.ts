// A fake board that answers on its USB serial as MicroPython's shared/runtime/pyexec.c does, byte
// by byte: the friendly REPL (only what entering the raw REPL needs), the raw REPL, raw-paste with
// its window and \x01 grants, soft reset. Instead of Python it runs a small interpreter that knows
// only the snippets src/firmware/board-files.ts sends (matched independently here, so a changed
// snippet fails the tests), plus print('…') and raise, over an in-memory filesystem.
import { createHash } from 'node:crypto';
import type { ReplPort } from '../../src/firmware/raw-repl.js';

export interface FakeBoardOptions {
  /** 'offers' raw-paste (MicroPython ≥ 1.14), answers 'R\x00' ('refuses'), or predates it ('absent'). */
  rawPaste?: 'offers' | 'refuses' | 'absent';
  /** MICROPY_REPL_STDIN_BUFFER_MAX: the window is half of it (default 256, as on rp2 and esp32). */
  stdinBufferMax?: number;
  /** Not MicroPython: says nothing, or echoes what it gets with a modem's ERROR. */
  notMicroPython?: 'silent' | 'garbage';
  /** main.py is running when the host connects (it prints, and only Ctrl-C stops it). */
  running?: boolean;
  /** What boot.py prints on a soft reset. */
  bootOutput?: string;
  /** What main.py prints once a soft reset from the friendly REPL starts it. */
  mainOutput?: string;
  /** The flash's size for files: a write past it raises ENOSPC (default: no limit). */
  flashBytes?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const RAW_BANNER = 'raw REPL; CTRL-B to exit\r\n';
const FRIENDLY_BANNER = 'MicroPython v1.27.0 on 2025-12-09; Raspberry Pi Pico W with RP2040\r\nType "help()" for more information.\r\n>>> ';

type Mode = 'running' | 'friendly' | 'raw' | 'paste';

export class FakeBoard {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>(['']);
  /** Bytes the host sent beyond the raw-paste window it was granted (a real board drops them). */
  overruns = 0;
  /** How many commands arrived by raw-paste and by plain raw mode. */
  pasted = 0;
  plain = 0;
  /** Every \x01 grant the board sent during raw-paste. */
  grants = 0;
  softResets = 0;
  /** The host's bytes, in order, as received. */
  readonly received: number[] = [];
  /** Called when main.py starts (a soft reset from the friendly REPL), with the board's files. */
  onMainStart: ((files: ReadonlyMap<string, Uint8Array>) => void) | undefined;

  private mode: Mode;
  private line: number[] = [];
  private window = 0;
  private windowRemain = 0;
  private credit = 0;
  private globals = new Map<string, string>();
  private onData: ((b: Uint8Array) => void) | undefined;
  private onClose: (() => void) | undefined;
  private closed = false;
  private cutAfter: number | undefined;
  private cutAt: string | undefined;
  private readonly opts: Required<Omit<FakeBoardOptions, 'notMicroPython' | 'flashBytes'>> & Pick<FakeBoardOptions, 'notMicroPython' | 'flashBytes'>;

  constructor(options: FakeBoardOptions = {}) {
    this.opts = { rawPaste: 'offers', stdinBufferMax: 256, running: false, bootOutput: '', mainOutput: '', ...options };
    this.mode = this.opts.running ? 'running' : 'friendly';
  }

  /** The host's end of the serial line. */
  readonly port: ReplPort = {
    write: async (bytes) => {
      if (this.closed) throw new Error('port closed');
      for (const b of bytes) {
        if (this.closed) break;
        this.received.push(b);
        this.byte(b);
        if (this.cutAfter !== undefined && this.received.length >= this.cutAfter) this.cut();
      }
      await Promise.resolve();
    },
    listen: (onData, onClose) => {
      this.onData = onData;
      this.onClose = onClose;
    },
    close: async () => {
      this.cut();
      await Promise.resolve();
    },
  };

  /** Closes the line once the host has sent `n` more bytes (a cable pulled mid-copy). */
  cutAfterBytes(n: number): void {
    this.cutAfter = this.received.length + n;
  }

  private usedBytes(): number {
    let n = 0;
    for (const data of this.files.values()) n += data.length;
    return n;
  }

  /** Closes the line when the host starts writing this file (e.g. '/config/hub.json'). */
  cutWhenWriting(path: string): void {
    this.cutAt = path;
  }

  /** A fresh connection to the same board (same files), in the raw REPL it was left in. */
  reconnect(): void {
    this.closed = false;
    this.cutAfter = undefined;
    this.cutAt = undefined;
    this.onData = undefined;
    this.line = [];
    if (this.mode === 'paste') this.mode = 'raw';
  }

  private cut(): void {
    if (this.closed) return;
    this.closed = true;
    const close = this.onClose;
    setImmediate(() => close?.());
  }

  private out(text: string | Uint8Array, delivered?: () => void): void {
    const bytes = typeof text === 'string' ? enc.encode(text) : text;
    const listener = this.onData;
    // Asynchronous, as a serial line is: the host must wait for grants rather than see them inline.
    setImmediate(() => {
      if (this.closed) return;
      delivered?.();
      listener?.(bytes);
    });
  }

  private byte(c: number): void {
    if (this.opts.notMicroPython === 'silent') return;
    if (this.opts.notMicroPython === 'garbage') {
      this.out(new Uint8Array([c]));
      if (c === 0x0d) this.out('\r\nERROR\r\n');
      return;
    }
    switch (this.mode) {
      case 'running':
        if (c === 0x03) {
          this.out('Traceback (most recent call last):\r\n  File "main.py", line 8, in <module>\r\nKeyboardInterrupt: \r\n');
          this.out(FRIENDLY_BANNER);
          this.mode = 'friendly';
        }
        return;
      case 'friendly':
        return this.friendly(c);
      case 'raw':
        return this.raw(c);
      case 'paste':
        return this.paste(c);
    }
  }

  private friendly(c: number): void {
    if (c === 0x01) {
      this.out('\r\n' + RAW_BANNER + '>');
      this.mode = 'raw';
      this.line = [];
    } else if (c === 0x03) {
      this.line = [];
      this.out('\r\n>>> ');
    } else if (c === 0x04 && this.line.length === 0) {
      this.out('\r\nMPY: soft reboot\r\n' + (this.opts.bootOutput + this.opts.mainOutput).replaceAll('\n', '\r\n'));
      this.softResets++;
      this.globals.clear();
      this.mode = 'running';
      this.onMainStart?.(this.files);
    } else if (c === 0x0d) {
      this.line = [];
      this.out('\r\n>>> ');
    } else {
      this.line.push(c);
      this.out(new Uint8Array([c]));
    }
  }

  // pyexec.c pyexec_raw_repl
  private raw(c: number): void {
    if (c === 0x01) {
      if (this.opts.rawPaste !== 'absent' && this.line.length === 2 && this.line[0] === 0x05) {
        this.readerStdin(this.line[1] ?? 0);
        return;
      }
      this.out(RAW_BANNER + '>');
      this.line = [];
    } else if (c === 0x02) {
      this.out('\r\n' + FRIENDLY_BANNER);
      this.line = [];
      this.mode = 'friendly';
    } else if (c === 0x03) {
      this.line = [];
    } else if (c === 0x04) {
      this.out('OK');
      if (this.line.length === 0) {
        this.out('\r\nMPY: soft reboot\r\n' + this.opts.bootOutput.replaceAll('\n', '\r\n') + RAW_BANNER + '>');
        this.softResets++;
        this.globals.clear();
        return;
      }
      this.plain++;
      this.execute(dec.decode(new Uint8Array(this.line)), false);
      this.line = [];
    } else {
      this.line.push(c);
    }
  }

  // pyexec.c do_reader_stdin and mp_reader_new_stdin
  private readerStdin(command: number): void {
    this.line = [];
    if (command !== 0x41 || this.opts.rawPaste === 'refuses') {
      this.out('R\x00>');
      return;
    }
    this.window = Math.floor(this.opts.stdinBufferMax / 2);
    this.out(new Uint8Array([0x52, 0x01, this.window & 0xff, this.window >> 8, 0x01]));
    this.windowRemain = this.window;
    this.credit = 2 * this.window;
    this.mode = 'paste';
  }

  // pyexec.c mp_reader_stdin_readbyte
  private paste(c: number): void {
    if (c === 0x03 || c === 0x04) {
      this.out('\x04');
      this.mode = 'raw';
      const code = dec.decode(new Uint8Array(this.line));
      this.line = [];
      this.pasted++;
      if (c === 0x03) this.finish('', 'Traceback (most recent call last):\n  File "<stdin>", line 1\nKeyboardInterrupt: \n');
      else this.execute(code, true);
      return;
    }
    if (this.credit <= 0) {
      this.overruns++;
      return;
    }
    this.credit--;
    this.line.push(c);
    if (--this.windowRemain === 0) {
      // The host may use a grant only once it has it: credit grows when the \x01 is delivered.
      this.out('\x01', () => (this.credit += this.window));
      this.grants++;
      this.windowRemain = this.window;
    }
  }

  private finish(stdout: string, stderr: string): void {
    const crlf = (s: string): string => s.replaceAll('\n', '\r\n');
    this.out(crlf(stdout) + '\x04' + crlf(stderr) + '\x04>');
  }

  private execute(code: string, _pasted: boolean): void {
    try {
      this.finish(this.interpret(code), '');
    } catch (err) {
      const text = err instanceof PyError ? err.text : String(err);
      this.finish('', `Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\n${text}\n`);
    }
  }

  private interpret(code: string): string {
    let m: RegExpMatchArray | null;
    if ((m = /^print\('([^'\\]*)'\)\n?$/.exec(code))) return `${m[1]}\n`;
    if ((m = /^raise (\w+)\('([^'\\]*)'\)\n?$/.exec(code))) throw new PyError(`${m[1]}: ${m[2]}`);
    if ((m = /^import hashlib, binascii\nfor _p in \[((?:'[^']+', )*'[^']+')\]:\n try:\n {2}_f = open\(_p, 'rb'\)\n except OSError:\n {2}print\('no file'\)\n {2}continue\n _h = hashlib\.sha256\(\)\n _b = bytearray\(256\)\n while True:\n {2}_n = _f\.readinto\(_b\)\n {2}if not _n:\n {3}break\n {2}_h\.update\(memoryview\(_b\)\[:_n\]\)\n _f\.close\(\)\n print\(binascii\.hexlify\(_h\.digest\(\)\)\.decode\(\)\)\n$/.exec(code))) {
      return (m[1] ?? '')
        .split(', ')
        .map((quoted) => {
          const data = this.files.get(quoted.slice(1, -1));
          return data === undefined ? 'no file\n' : `${createHash('sha256').update(data).digest('hex')}\n`;
        })
        .join('');
    }
    if ((m = /^import binascii\ntry:\n _f = open\('([^']+)', 'rb'\)\nexcept OSError:\n print\('no file'\)\nelse:\n while True:\n {2}_d = _f\.read\(192\)\n {2}if not _d:\n {3}break\n {2}print\(binascii\.b2a_base64\(_d\)\.decode\(\)\.strip\(\)\)\n _f\.close\(\)\n print\('end'\)\n$/.exec(code))) {
      const data = this.files.get(m[1] ?? '');
      if (data === undefined) return 'no file\n';
      let text = '';
      for (let i = 0; i < data.length; i += 192) text += `${Buffer.from(data.subarray(i, i + 192)).toString('base64')}\n`;
      return `${text}end\n`;
    }
    if ((m = /^import os\n_d = ''\nfor _s in '([^']+)'\.split\('\/'\)\[1:\]:\n _d \+= '\/' \+ _s\n try:\n {2}os\.stat\(_d\)\n except OSError:\n {2}os\.mkdir\(_d\)\n$/.exec(code))) {
      let d = '';
      for (const s of (m[1] ?? '').split('/').slice(1)) {
        d += '/' + s;
        if (this.files.has(d)) continue; // os.stat finds it: a file in the way fails at open()
        this.dirs.add(d);
      }
      return '';
    }
    if ((m = /^import os\ndef _rm\(p\):\n try:\n {2}m = os\.stat\(p\)\[0\]\n except OSError:\n {2}return 0\n if m & 0x4000:\n {2}for e in list\(os\.ilistdir\(p\)\):\n {3}_rm\(p \+ '\/' \+ e\[0\]\)\n {2}os\.rmdir\(p\)\n else:\n {2}os\.remove\(p\)\n return 1\nprint\(_rm\('([^']+)'\)\)\n$/.exec(code))) {
      const root = m[1] ?? '';
      const gone = [...this.files.keys()].filter((p) => p === root || p.startsWith(`${root}/`));
      for (const p of gone) this.files.delete(p);
      return `${gone.length > 0 ? 1 : 0}\n`;
    }
    if ((m = /^import os, binascii\nf = open\('([^']+)', 'wb'\)\na = binascii\.a2b_base64\ndef w\(b\):\n try:\n {2}f\.write\(b\)\n except OSError:\n {2}f\.close\(\)\n {2}os\.remove\('([^']+)'\)\n {2}raise\n$/.exec(code)) && m[1] === m[2]) {
      const path = m[1] ?? '';
      if (this.cutAt !== undefined && path === `${this.cutAt}.part`) {
        this.cut();
        return '';
      }
      if (!this.dirs.has(path.slice(0, path.lastIndexOf('/')))) throw new PyError('OSError: [Errno 2] ENOENT');
      this.files.set(path, new Uint8Array(0));
      this.globals.set('f', path);
      return '';
    }
    if ((m = /^w\(a\(b'([A-Za-z0-9+/=]*)'\)\)\n$/.exec(code))) {
      const path = this.globals.get('f');
      if (path === undefined) throw new PyError("NameError: name 'w' isn't defined");
      const old = this.files.get(path) ?? new Uint8Array(0);
      const piece = Buffer.from(m[1] ?? '', 'base64');
      if (this.opts.flashBytes !== undefined && this.usedBytes() + piece.length > this.opts.flashBytes) {
        // w() on the board: the write raises, the .part file is closed and removed.
        this.files.delete(path);
        this.globals.delete('f');
        throw new PyError('OSError: [Errno 28] ENOSPC');
      }
      this.files.set(path, new Uint8Array([...old, ...piece]));
      return '';
    }
    if ((m = /^f\.close\(\)\nos\.rename\('([^']+)', '([^']+)'\)\n$/.exec(code))) {
      const data = this.files.get(m[1] ?? '');
      if (data === undefined) throw new PyError('OSError: [Errno 2] ENOENT');
      this.files.delete(m[1] ?? '');
      this.files.set(m[2] ?? '', data);
      this.globals.delete('f');
      return '';
    }
    throw new PyError('NotImplementedError: the fake board cannot run this');
  }
}

class PyError extends Error {
  constructor(readonly text: string) {
    super(text);
  }
}

/**
 * A serial line at `bytesPerSecond` each way between the host and a board's port: bytes arrive
 * one after another at that pace, in slices of 16 bytes as a UART's FIFO hands them on (so the
 * board answers the first bytes of a long write while the rest are still on the line), and a
 * write resolves once its bytes are on the far side, as after a drain.
 */
export function pacedPort(port: ReplPort, bytesPerSecond: number): ReplPort {
  const SLICE = 16;
  // Timers fire a little late; bytes sent within this long after the line went idle continue its
  // schedule, so that the lateness does not add up over a long transfer.
  const SLACK_MS = 4;
  const lanes = { toBoard: 0, toHost: 0 };
  /** When n more bytes on this lane have arrived (performance.now() time). */
  const arrival = (lane: keyof typeof lanes, n: number): number => {
    lanes[lane] = Math.max(performance.now() - SLACK_MS, lanes[lane]) + (n * 1000) / bytesPerSecond;
    return lanes[lane];
  };
  const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
  let writing = Promise.resolve();
  return {
    write: (bytes) => {
      const done = writing.then(async () => {
        for (let i = 0; i < bytes.length; i += SLICE) {
          const slice = bytes.subarray(i, i + SLICE);
          await until(arrival('toBoard', slice.length));
          await port.write(slice);
        }
      });
      writing = done.catch(() => undefined);
      return done;
    },
    listen: (onData, onClose) => {
      // Deliveries keep their order: each waits for its own slot on the line.
      let chain = Promise.resolve();
      port.listen(
        (bytes) => {
          const at = arrival('toHost', bytes.length);
          chain = chain.then(() => until(at)).then(() => onData(bytes));
        },
        () => {
          chain = chain.then(onClose);
        },
      );
    },
    close: () => port.close(),
  };
}
