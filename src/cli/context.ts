// What a command needs from the process: output streams and a way to set the exit code.
export const EXIT_OK = 0;
/** A reply had ok:false, or the connection failed. */
export const EXIT_FAILED = 1;
/** The command line was wrong. */
export const EXIT_USAGE = 2;

/** Raised for failures that are not usage errors (exit 1). */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

export interface CliContext {
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr, prefixed with `tether: `. */
  err(line: string): void;
  /** Whether stdout is a terminal (colour, etc.). */
  readonly stdoutIsTTY: boolean;
  /** Sets the process exit code; the highest code set wins. */
  fail(code: number): void;
}

export function processContext(): CliContext & { readonly code: number } {
  let code = EXIT_OK;
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`tether: ${line}\n`),
    stdoutIsTTY: process.stdout.isTTY,
    fail: (c) => {
      code = Math.max(code, c);
    },
    get code() {
      return code;
    },
  };
}
