// A client for MicroPython's raw REPL over any byte stream (a USB serial port, or a fake board in
// tests). The wire format is the one shared/runtime/pyexec.c implements in MicroPython 1.23–1.28
// (unchanged across them): Ctrl-A enters, Ctrl-D ends a command, the board answers "OK", the
// output, \x04, the error output, \x04 and the prompt ">". Raw-paste mode (\x05A\x01) adds flow
// control so that code longer than the board's input buffer is never dropped.

/** The byte stream to a board; how it is opened (serial port, socket) is not this module's concern. */
export interface ReplPort {
  write(bytes: Uint8Array): Promise<void>;
  /** Registers the one listener for bytes from the board and the one for the end of the stream. */
  listen(onData: (bytes: Uint8Array) => void, onClose: () => void): void;
  close(): Promise<void>;
}

export type ReplErrorCode = 'no_repl' | 'traceback' | 'timeout' | 'port_closed' | 'protocol' | 'bad_path' | 'verify_failed' | 'board_full';

export class ReplError extends Error {
  override readonly name = 'ReplError';
  constructor(
    readonly code: ReplErrorCode,
    message: string,
    /** For 'traceback': the board's error output as it printed it. */
    readonly boardText = '',
  ) {
    super(message);
  }
}

export interface RawReplOptions {
  /** How long the board has to answer the interrupt and Ctrl-A, per attempt (default 2000 ms). */
  enterTimeoutMs?: number;
  /** How long a command may run before its output ends (default 10000 ms). */
  execTimeoutMs?: number;
  /** Pause between 256-byte pieces in plain raw mode, as mpremote does, for boards without raw-paste. */
  plainPieceDelayMs?: number;
  /** How long the board must stay silent after the raw REPL's banner before a command (default 100 ms). */
  settleMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

const CTRL_A = 0x01;
const CTRL_D = 0x04;
const enc = new TextEncoder();
const dec = new TextDecoder();
const RAW_BANNER = enc.encode('raw REPL; CTRL-B to exit\r\n>');
const SOFT_REBOOT = enc.encode('soft reboot\r\n');
const PORT_CLOSED = 'the port closed (board unplugged or reset?): plug it back in and run the command again; files already copied are kept.';
const FLASH_HINT = 'no MicroPython answered on this port: is it flashed? Flash MicroPython 1.23+ first (docs/install.md, "MicroPython first"), check the port is the board\'s, and close other programs using it (mpremote, Thonny).';

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** What the board printed, short and readable, for an error message. */
function shown(bytes: Uint8Array): string {
  const text = JSON.stringify(dec.decode(bytes.subarray(-80)));
  return bytes.length === 0 ? 'nothing' : text;
}

/** Bytes from the board, taken by pattern; every wait has a deadline and ends when the port does. */
class Inbox {
  private buf: Uint8Array = new Uint8Array(0);
  private wake: (() => void) | undefined;
  closed = false;

  push(bytes: Uint8Array): void {
    const next = new Uint8Array(this.buf.length + bytes.length);
    next.set(this.buf);
    next.set(bytes, this.buf.length);
    this.buf = next;
    this.wake?.();
  }

  end(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Drops what has arrived so far (echoes and chatter before a command). */
  drain(): Uint8Array {
    const old = this.buf;
    this.buf = new Uint8Array(0);
    return old;
  }

  peekByte(): number | undefined {
    return this.buf[0];
  }

  /** Drops what comes until the board has been silent for quietMs (at most maxMs in all). */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    do {
      this.drain();
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    } while (this.buf.length > 0 && Date.now() < deadline && !this.closed);
    this.drain();
  }

  /** Waits until `end(buf)` gives how many bytes to take, then takes them. */
  async take(end: (buf: Uint8Array) => number, timeoutMs: number, onTimeout: (seen: Uint8Array) => ReplError): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = end(this.buf);
      if (n >= 0) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      if (this.closed) throw new ReplError('port_closed', PORT_CLOSED);
      const left = deadline - Date.now();
      if (left <= 0) throw onTimeout(this.buf);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  until(pattern: Uint8Array, timeoutMs: number, onTimeout: (seen: Uint8Array) => ReplError): Promise<Uint8Array> {
    return this.take((buf) => {
      const at = indexOf(buf, pattern);
      return at < 0 ? -1 : at + pattern.length;
    }, timeoutMs, onTimeout);
  }

  exactly(n: number, timeoutMs: number, onTimeout: (seen: Uint8Array) => ReplError): Promise<Uint8Array> {
    return this.take((buf) => (buf.length >= n ? n : -1), timeoutMs, onTimeout);
  }
}

export class RawRepl {
  private readonly inbox = new Inbox();
  private readonly enterTimeoutMs: number;
  private readonly execTimeoutMs: number;
  private readonly plainPieceDelayMs: number;
  private readonly settleMs: number;
  /** undefined until the board has been asked; then whether it takes raw-paste. */
  private rawPaste: boolean | undefined;
  /** Raw-paste flow-control window the board announced (bytes), once known. */
  window: number | undefined;

  constructor(
    private readonly port: ReplPort,
    options: RawReplOptions = {},
  ) {
    this.enterTimeoutMs = options.enterTimeoutMs ?? 2000;
    this.execTimeoutMs = options.execTimeoutMs ?? 10_000;
    this.plainPieceDelayMs = options.plainPieceDelayMs ?? 10;
    this.settleMs = options.settleMs ?? 100;
    port.listen(
      (bytes) => this.inbox.push(bytes),
      () => this.inbox.end(),
    );
  }

  /** Whether the board took raw-paste mode (undefined before the first command). */
  get usesRawPaste(): boolean | undefined {
    return this.rawPaste;
  }

  private async send(bytes: Uint8Array | string): Promise<void> {
    if (this.inbox.closed) throw new ReplError('port_closed', PORT_CLOSED);
    try {
      await this.port.write(typeof bytes === 'string' ? enc.encode(bytes) : bytes);
    } catch (err) {
      throw new ReplError('port_closed', `${PORT_CLOSED} (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  private timeout(what: string): (seen: Uint8Array) => ReplError {
    return (seen) => new ReplError('timeout', `the board stopped answering ${what} (it printed ${shown(seen)}): reset it and try again.`);
  }

  /**
   * Interrupts whatever runs (Ctrl-C twice: MicroPython before 1.24 was driven that way and a
   * second one is harmless after) and enters the raw REPL. Tries twice: a program may swallow the
   * first interrupt.
   */
  async enter(): Promise<void> {
    let seen: Uint8Array = new Uint8Array(0);
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.send('\r\x03\x03');
      this.inbox.drain();
      await this.send('\r\x01');
      try {
        await this.inbox.until(RAW_BANNER, this.enterTimeoutMs, (buf) => {
          seen = buf;
          return new ReplError('no_repl', FLASH_HINT);
        });
        // A board that took the interrupt late (a call that does not see Ctrl-C at once: a name
        // lookup, a sensor read) answers every \x01 sent meanwhile with a banner of its own: let
        // those come and go, as mpremote does, before the first command reads an answer.
        await this.inbox.settle(this.settleMs, this.enterTimeoutMs);
        return;
      } catch (err) {
        if (!(err instanceof ReplError) || err.code !== 'no_repl') throw err;
      }
    }
    throw new ReplError('no_repl', `${FLASH_HINT} It printed ${shown(seen)}.`);
  }

  /** Runs code; a Python exception on the board is a ReplError 'traceback' with the board's text. */
  async exec(code: string): Promise<string> {
    const { stdout, stderr } = await this.run(code);
    if (stderr !== '') {
      const last = stderr.trimEnd().split('\n').pop() ?? stderr;
      throw new ReplError('traceback', `the board raised ${last}`, stderr);
    }
    return stdout;
  }

  /** Runs code and returns what it printed and its error output, both with \r\n made \n. */
  async run(code: string): Promise<ExecResult> {
    const bytes = enc.encode(code);
    if (this.rawPaste !== false) {
      await this.send(new Uint8Array([0x05, 0x41, CTRL_A]));
      const answer = await this.inbox.exactly(2, this.enterTimeoutMs, this.timeout('the raw-paste request'));
      if (answer[0] === 0x52 && answer[1] === 1) {
        this.rawPaste = true;
        await this.pasteWrite(bytes);
      } else {
        // 'R\x00': raw-paste understood but not offered, then the prompt again. Anything else
        // is a board from before raw-paste: \x05A went into the line and Ctrl-A reset the REPL.
        const rest = answer[0] === 0x52 && answer[1] === 0 ? enc.encode('>') : RAW_BANNER.subarray(2);
        await this.inbox.until(rest, this.enterTimeoutMs, this.timeout('after refusing raw-paste'));
        this.rawPaste = false;
      }
    }
    if (this.rawPaste === false) await this.plainWrite(bytes);
    const out = await this.inbox.until(new Uint8Array([CTRL_D]), this.execTimeoutMs, this.timeout('while the code ran'));
    const err = await this.inbox.until(new Uint8Array([CTRL_D]), this.execTimeoutMs, this.timeout('after the output'));
    await this.inbox.until(enc.encode('>'), this.execTimeoutMs, this.timeout('for the prompt'));
    const text = (b: Uint8Array): string => dec.decode(b.subarray(0, -1)).replaceAll('\r\n', '\n');
    return { stdout: text(out), stderr: text(err) };
  }

  /** pyexec.c do_reader_stdin: the board grants two windows, then one more per \x01 it sends. */
  private async pasteWrite(code: Uint8Array): Promise<void> {
    const header = await this.inbox.exactly(2, this.enterTimeoutMs, this.timeout('the raw-paste window size'));
    const window = (header[0] ?? 0) | ((header[1] ?? 0) << 8);
    if (window === 0) throw new ReplError('protocol', 'the board announced a raw-paste window of 0 bytes: it is not answering as MicroPython does; reset it and try again.');
    this.window = window;
    let credit = window;
    let i = 0;
    while (i < code.length) {
      while (credit === 0 || this.inbox.peekByte() !== undefined) {
        const [b] = await this.inbox.exactly(1, this.execTimeoutMs, this.timeout('during raw-paste'));
        if (b === CTRL_A) credit += window;
        else if (b === CTRL_D) {
          // The board ended the paste early (it could not compile what it got so far).
          await this.send(new Uint8Array([CTRL_D]));
          return;
        } else throw new ReplError('protocol', `unexpected byte 0x${(b ?? 0).toString(16)} from the board during raw-paste: reset it and try again.`);
      }
      const piece = code.subarray(i, i + credit);
      await this.send(piece);
      credit -= piece.length;
      i += piece.length;
    }
    await this.send(new Uint8Array([CTRL_D]));
    // Window grants may still come before the board acknowledges the end of the code.
    await this.inbox.until(new Uint8Array([CTRL_D]), this.execTimeoutMs, this.timeout('at the end of raw-paste'));
  }

  private async plainWrite(code: Uint8Array): Promise<void> {
    for (let i = 0; i < code.length; i += 256) {
      await this.send(code.subarray(i, i + 256));
      if (this.plainPieceDelayMs > 0) await new Promise((r) => setTimeout(r, this.plainPieceDelayMs));
    }
    await this.send(new Uint8Array([CTRL_D]));
    const ok = await this.inbox.exactly(2, this.execTimeoutMs, this.timeout('the command'));
    if (ok[0] !== 0x4f || ok[1] !== 0x4b) throw new ReplError('protocol', `the board answered ${shown(ok)} instead of OK to a command: reset it and try again.`);
  }

  /**
   * Soft reset from the raw REPL: the board restarts its interpreter, runs boot.py (not main.py)
   * and comes back to the raw REPL. Returns what boot.py printed.
   */
  async softReset(): Promise<string> {
    await this.send(new Uint8Array([CTRL_D]));
    await this.inbox.until(SOFT_REBOOT, this.execTimeoutMs, this.timeout('the soft reset'));
    const boot = await this.inbox.until(RAW_BANNER, this.execTimeoutMs, this.timeout('after the soft reset'));
    return dec.decode(boot.subarray(0, -RAW_BANNER.length)).replaceAll('\r\n', '\n');
  }

  /** Leaves the raw REPL; with `start`, soft-resets from the friendly REPL so that main.py runs. */
  async exit(options: { start?: boolean } = {}): Promise<void> {
    await this.send('\r\x02');
    if (options.start === true) {
      await this.send(new Uint8Array([CTRL_D]));
      await this.inbox.until(SOFT_REBOOT, this.execTimeoutMs, this.timeout('the restart'));
    }
  }

  /** What the board printed since the last command or call (its console after a restart), \r\n made \n. */
  takeConsole(): string {
    return dec.decode(this.inbox.drain()).replaceAll('\r\n', '\n');
  }

  async close(): Promise<void> {
    await this.port.close();
  }
}
