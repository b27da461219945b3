// Long-running commands (device, hub, demo) stop the same way: the first Ctrl-C or SIGTERM
// closes cleanly, a second one forces the exit.
import type { Logger } from '../device/logger.js';

/**
 * `announce` prints what the command is serving once the handlers are in place: whoever reads
 * that line and sends a signal at once (a supervisor, a test) gets a clean stop, never the
 * default action of a signal that came a moment too early.
 */
export async function runUntilSignal(logger: Logger, what: string, close: () => Promise<void>, announce?: () => void): Promise<void> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    announce?.();
  });
  logger.info(`${signal}: ${what} (press Ctrl-C again to force)`);
  const force = () => {
    logger.warn('forced exit');
    process.exit(130);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await close();
  } finally {
    process.off('SIGINT', force);
    process.off('SIGTERM', force);
  }
  logger.info('stopped');
}

/** Turns a listen error into a message that says what to do. */
export function listenFailure(err: unknown, host: string, port: number, portFlag: string): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port ${port} on ${host} is already in use; stop the other program or pick another with ${portFlag} (0 = any free port)`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${host}: this machine has no such address; try 0.0.0.0 or 127.0.0.1`;
  if (code === 'EACCES') return `not allowed to listen on ${host}:${port}; ports below 1024 need privileges, pick another with ${portFlag}`;
  return undefined;
}
