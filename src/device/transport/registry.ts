// The board's listeners, in one list (ARCHITECTURE.md: transport layer): protocol v1 over TCP
// or TLS always, PyMoDAQ's ZeroMQ server when the config has `pymodaq:`. Each feeds the same
// dispatcher; the runtime starts what the config names and stops them together.
import type { Clock } from '../../common/clock.js';
import type { Board } from '../board.js';
import type { BoardConfig } from '../config.js';
import type { Dispatcher } from '../dispatcher.js';
import type { Logger } from '../logger.js';
import { startV1Listener } from './v1-listener.js';

export interface TransportContext {
  config: Readonly<BoardConfig>;
  board: Board;
  dispatcher: Dispatcher;
  clock: Clock;
  logger: Logger;
}

/** What the command line says over the config (`tether device --host/--port/--pymodaq-port`). */
export interface ListenOverrides {
  host?: string | undefined;
  /** 0 picks a free port. */
  port?: number | undefined;
  maxConnections?: number | undefined;
}

export interface RunningTransport {
  readonly id: TransportId;
  /** For the start line: "plain TCP", "TLS", "PyMoDAQ (ZeroMQ)". */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** The board reset: every client starts again. */
  dropAll(): void;
  close(): Promise<void>;
}

export type TransportId = 'tcp' | 'pymodaq';

interface Transport {
  readonly id: TransportId;
  wanted(config: Readonly<BoardConfig>): boolean;
  start(ctx: TransportContext, overrides: ListenOverrides): Promise<RunningTransport>;
}

export const TRANSPORTS: readonly Transport[] = [
  { id: 'tcp', wanted: () => true, start: startV1Listener },
  {
    id: 'pymodaq',
    wanted: (config) => config.pymodaq !== undefined,
    // Loaded only here: it brings the zeromq package's native addon.
    start: async (ctx, overrides) => (await import('../pymodaq/server.js')).startPymodaqServer(ctx, overrides),
  },
];
