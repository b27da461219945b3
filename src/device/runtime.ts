// Wires the layers: transports (transport/registry.ts) → dispatcher → board → hardware, and in
// hub mode the link to the hub beside them.
import { Board } from './board.js';
import { SystemClock, type Clock } from '../common/clock.js';
import { hostPort, isLoopbackHost } from '../common/address.js';
import { checkAuthDeclared, type BoardConfig } from './config.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { HubLink, type HubLinkOptions } from './hub-link.js';
import { startPeers, type Peers } from './peers.js';
import type { Hardware } from './hal/types.js';
import { silentLogger, type Logger } from './logger.js';
import { TRANSPORTS, type ListenOverrides, type RunningTransport, type TransportId } from './transport/registry.js';

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
  /** Overrides config.pymodaq.port; 0 picks a free port. */
  pymodaqPort?: number;
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
  /** Every listener, protocol v1 first; PyMoDAQ's when the config has pymodaq:. */
  readonly listeners: readonly RunningTransport[];
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
  const ctx = { config, board, dispatcher, clock, logger };
  const overrides: Record<TransportId, ListenOverrides> = {
    tcp: { host: options.host, port: options.port, maxConnections: options.maxConnections },
    pymodaq: { host: options.host, port: options.pymodaqPort },
  };
  const listeners: RunningTransport[] = [];
  try {
    for (const transport of TRANSPORTS) if (transport.wanted(config)) listeners.push(await transport.start(ctx, overrides[transport.id]));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    dispatcher.close();
    board.close();
    throw err;
  }
  const main = listeners.find((l) => l.id === 'tcp');
  if (main === undefined) throw new Error('the tcp transport is missing from the registry');
  const open = openBoardWarning(config, main.host, main.port);
  if (open !== undefined) logger.warn(open);
  board.onReset(() => {
    for (const listener of listeners) listener.dropAll();
  });
  const hubLink = options.hub === undefined ? undefined : new HubLink({ ...options.hub, board, dispatcher, clock, logger });
  hubLink?.start();
  let peers: Peers | undefined;
  const close = async () => {
    await peers?.close();
    await hubLink?.close();
    await Promise.all(listeners.map((l) => l.close()));
    dispatcher.close();
    board.close();
    hardware.close();
  };
  // Boards this one follows (peers.ts); a token file that cannot be read stops the start.
  try {
    if (config.peers.length > 0) peers = await startPeers(config, board, clock, logger);
  } catch (err) {
    await close();
    throw err;
  }
  return { board, host: main.host, port: main.port, secure: main.secure, listeners, hubLink, close };
}

/**
 * What a board without tokens says at start when it listens off loopback, where anyone on its
 * network may drive it; undefined when it has tokens or only this machine can reach it.
 */
export function openBoardWarning(config: Readonly<BoardConfig>, host: string, port: number): string | undefined {
  if (config.auth !== 'none' || isLoopbackHost(host)) return undefined;
  return `board "${config.name}" has auth: none and listens on ${hostPort(host, port)}: any client on its network may drive it; give it tokens (auth.tokens in its config, docs/board-config.md#auth) unless that network is yours alone`;
}
