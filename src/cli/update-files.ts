// What `tether update` and `tether install` show of a firmware bundle: sizes and the progress
// line. The bundle itself (the files, the manifest, the plan, the chunks) is the firmware
// library's (src/firmware/).
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export interface ProgressSink {
  write(text: string): void;
  /** A terminal gets one line redrawn in place; anything else gets a line every 10 %. */
  readonly isTTY: boolean;
}

const BAR = 24;

/** Bytes sent out of the total, and which file, on stderr. */
export class Progress {
  private sent = 0;
  private fileIndex = 0;
  private filePath = '';
  private lastTenth = -1;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly totalBytes: number,
    private readonly fileCount: number,
  ) {}

  /** Bytes the board already had (a resumed upload); counted without a line of their own. */
  skip(bytes: number): void {
    this.sent += bytes;
    this.lastTenth = this.tenth();
  }

  file(index: number, path: string): void {
    this.fileIndex = index;
    this.filePath = path;
    if (this.sink.isTTY) this.draw();
  }

  advance(bytes: number): void {
    this.sent += bytes;
    if (this.sink.isTTY) {
      this.draw();
      return;
    }
    const tenth = this.tenth();
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.sink.write(`tether: sent ${this.percent()}% (${this.amounts()}, file ${this.fileIndex}/${this.fileCount} ${this.filePath})\n`);
    }
  }

  /** Ends the line being redrawn, if any. */
  end(): void {
    if (this.sink.isTTY && this.drawn) {
      this.sink.write('\n');
      this.drawn = false;
    }
  }

  private draw(): void {
    const filled = this.totalBytes === 0 ? BAR : Math.round((this.sent / this.totalBytes) * BAR);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR - filled);
    const line = `[${bar}] ${String(this.percent()).padStart(3)}%  ${this.amounts()}  file ${this.fileIndex}/${this.fileCount} ${this.filePath}`;
    this.sink.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  private percent(): number {
    return this.totalBytes === 0 ? 100 : Math.floor((this.sent / this.totalBytes) * 100);
  }

  private tenth(): number {
    return this.totalBytes === 0 ? 10 : Math.floor((this.sent / this.totalBytes) * 10);
  }

  private amounts(): string {
    return `${formatBytes(this.sent)} of ${formatBytes(this.totalBytes)}`;
  }
}
