// Wires the layers: transport → session → dispatcher → board → hardware, and in hub mode the
// link to the hub beside the transport.
import { Board } from './board.js';
import { SystemClock, type Clock } from '../common/clock.js';
import { checkAuthDeclared, type BoardConfig } from './config.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { HubLink, type HubLinkOptions } from './hub-link.js';
import type { Hardware } from './hal/types.js';
import { silentLogger, type Logger } from './logger.js';
import { Session } from './session.js';
import { listen } from './transport/tcp.js';

export interface StartOptions {
  config: Readonly<BoardConfig>;
  hardware: Hardware;
  clock?: Clock;
  logger?: Logger;
  /** Overrides config.listen.host. */
  host?: string;
  /** Overrides config.listen.port; 0 picks a free port. */
  port?: number;
  maxConnections?: number;
  /** Hub mode (protocol.md §10): also dial this hub and keep the link up. */
  hub?: { host: string; port: number; deviceId: string; token: string; tls?: HubLinkOptions['tls'] };
  /** Where challenge nonces come from (tests pin them to reproduce the vectors). */
  newNonce?: DispatcherOptions['newNonce'];
}

export interface RunningDevice {
  readonly board: Board;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** The link to the hub, in hub mode. */
  readonly hubLink: HubLink | undefined;
  close(): Promise<void>;
}

export async function startDevice(options: StartOptions): Promise<RunningDevice> {
  const { config, hardware } = options;
  const clock = options.clock ?? new SystemClock();
  const logger = options.logger ?? silentLogger;
  checkAuthDeclared(config, `board "${config.name}"`);
  const board = new Board(config, hardware, clock, logger);
  await board.start();
  const dispatcher = new Dispatcher(board, logger, options.newNonce === undefined ? {} : { newNonce: options.newNonce });
  const sessions = new Set<Session>();
  let listener;
  try {
    listener = await listen(
      {
        host: options.host ?? config.listen.host,
        port: options.port ?? config.listen.port,
        tls: config.tls,
        maxConnections: options.maxConnections ?? 64,
        tokens: dispatcher.initialScope === null,
        clock,
        logger,
      },
      (conn, peer) => {
        const session = new Session(conn, dispatcher, board, { maxFrameBytes: config.max_frame_bytes, logger, peer });
        sessions.add(session);
        return {
          receive: (chunk) => session.receive(chunk),
          drained: () => session.drained(),
          close: () => {
            sessions.delete(session);
            session.close();
          },
          get unproven() {
            return session.unproven;
          },
        };
      },
    );
  } catch (err) {
    board.close();
    throw err;
  }
  const running = listener;
  const open = openBoardWarning(config, running.host, running.port);
  if (open !== undefined) logger.warn(open);
  board.onReset(() => {
    for (const session of sessions) session.close();
    running.dropAll();
  });
  const hubLink = options.hub === undefined ? undefined : new HubLink({ ...options.hub, board, dispatcher, clock, logger });
  hubLink?.start();
  return {
    board,
    host: running.host,
    port: running.port,
    secure: running.secure,
    hubLink,
    close: async () => {
      await hubLink?.close();
      for (const session of sessions) session.close();
      await running.close();
      dispatcher.close();
      board.close();
      hardware.close();
    },
  };
}

/**
 * What a board without tokens says at start when it listens off loopback, where anyone on its
 * network may drive it; undefined when it has tokens or only this machine can reach it.
 */
export function openBoardWarning(config: Readonly<BoardConfig>, host: string, port: number): string | undefined {
  if (config.auth !== 'none' || isLoopback(host)) return undefined;
  return `board "${config.name}" has auth: none and listens on ${host.includes(':') ? `[${host}]` : host}:${port}: any client on its network may drive it; give it tokens (auth.tokens in its config, docs/board-config.md#auth) unless that network is yours alone`;
}

function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === '::ffff:127.0.0.1' || host === 'localhost';
}
