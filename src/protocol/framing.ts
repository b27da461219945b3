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

/** One message as it goes on the wire. */
export function encodeFrame(message: object): string {
  return JSON.stringify(message) + '\n';
}
