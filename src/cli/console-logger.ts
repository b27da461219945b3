// The device runtime's logger for the terminal: one line per message on stderr, so stdout
// stays for the `listening on` line that scripts and tests read.
import type { Logger } from '../device/logger.js';

export interface ConsoleLoggerOptions {
  /** Also print debug messages. */
  verbose?: boolean;
  stream?: { write(text: string): unknown };
  now?: () => Date;
}

export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => new Date());
  const line = (level: string) => (message: string) => {
    const d = now();
    const two = (n: number) => String(n).padStart(2, '0');
    const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
    stream.write(`${time} ${level.padEnd(5)} ${message}\n`);
  };
  return {
    debug: options.verbose === true ? line('debug') : () => undefined,
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  };
}
