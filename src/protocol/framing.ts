// Newline framing (protocol.md §2). Frames are split on the 0x0A byte before any decoding,
// so a multi-byte UTF-8 character that straddles two reads is never cut.

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

export interface FrameSink {
  /** A complete frame without its line ending; never empty. */
  frame(bytes: Buffer): void;
  /** A frame longer than the limit; its bytes up to the next newline are discarded. */
  oversize(limit: number): void;
}

/** Splits a byte stream into frames. One decoder per connection; it keeps at most one frame. */
export class LineDecoder {
  readonly maxFrameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;

  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for an unfinished frame. */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        this.hold(chunk, start, sink);
        return;
      }
      if (this.discarding) {
        this.discarding = false;
      } else if (this.pendingBytes + (nl - start) > this.maxFrameBytes + 1) {
        // +1 leaves room for a CR before the LF, which is not part of the frame.
        this.reset();
        sink.oversize(this.maxFrameBytes);
      } else {
        this.emit(this.take(chunk, start, nl), sink);
      }
      start = nl + 1;
    }
  }

  private hold(chunk: Buffer, start: number, sink: FrameSink): void {
    if (this.discarding || start >= chunk.length) return;
    const rest = chunk.length - start;
    if (this.pendingBytes + rest > this.maxFrameBytes + 1) {
      this.reset();
      this.discarding = true;
      sink.oversize(this.maxFrameBytes);
      return;
    }
    // Copy: the caller may reuse its chunk buffer.
    this.pending.push(Buffer.from(chunk.subarray(start)));
    this.pendingBytes += rest;
  }

  private take(chunk: Buffer, start: number, end: number): Buffer {
    if (this.pendingBytes === 0) return chunk.subarray(start, end);
    this.pending.push(chunk.subarray(start, end));
    const whole = Buffer.concat(this.pending, this.pendingBytes + end - start);
    this.reset();
    return whole;
  }

  private emit(line: Buffer, sink: FrameSink): void {
    let end = line.length;
    if (end > 0 && line[end - 1] === CR) end--;
    if (end > this.maxFrameBytes) {
      sink.oversize(this.maxFrameBytes);
      return;
    }
    if (isBlank(line, end)) return;
    sink.frame(end === line.length ? line : line.subarray(0, end));
  }

  private reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}

function isBlank(line: Buffer, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const b = line[i];
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}

// HTTP's token characters (RFC 9110 §5.6.2): what a method or a header name is made of. `{`,
// space and `"` are not among them, so no JSON frame can look like HTTP.
const TOKEN_PUNCTUATION = new Set([...Buffer.from("!#$%&'*+-.^_`|~")]);

function isTokenByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || TOKEN_PUNCTUATION.has(b);
}

const HTTP_SLASH = Buffer.from('HTTP/');

/** True for `HTTP/` digits, optionally `.` digits, and nothing else, from `start` to the end. */
function isHttpVersion(frame: Buffer, start: number): boolean {
  if (!frame.subarray(start, start + HTTP_SLASH.length).equals(HTTP_SLASH)) return false;
  let i = start + HTTP_SLASH.length;
  let digits = 0;
  let dots = 0;
  for (; i < frame.length; i++) {
    const b = frame[i] as number;
    if (b >= 0x30 && b <= 0x39) digits++;
    else if (b === 0x2e && digits > 0 && dots === 0) {
      dots++;
      digits = 0;
    } else return false;
  }
  return digits > 0;
}

/**
 * Whether a frame (without its line ending) is an HTTP request line (`POST / HTTP/1.1`, any
 * method) or an HTTP header line (`Host: x`). A browser can be made to send either to a board's
 * port, so a board closes a connection that opens with one (protocol.md §2 rule 7).
 */
export function looksLikeHttp(frame: Buffer): boolean {
  let i = 0;
  while (i < frame.length && isTokenByte(frame[i] as number)) i++;
  if (i === 0 || i === frame.length) return false;
  if (frame[i] === 0x3a) return true; // `Name:` starts a header
  if (frame[i] !== 0x20) return false;
  const targetStart = ++i;
  while (i < frame.length && (frame[i] as number) > 0x20 && frame[i] !== 0x7f) i++;
  if (i === targetStart || frame[i] !== 0x20) return false;
  return isHttpVersion(frame, i + 1);
}

/** One message as it goes on the wire. */
export function encodeFrame(message: object): string {
  return JSON.stringify(message) + '\n';
}
