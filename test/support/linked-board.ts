// A simulated board in hub mode, in this process, on the real clock: what the hub-mode tests
// link to a fake or a real hub.
import { SystemClock } from '../../src/common/clock.js';
import { Board } from '../../src/device/board.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { Dispatcher } from '../../src/device/dispatcher.js';
import { HubLink, type HubLinkOptions } from '../../src/device/hub-link.js';
import { silentLogger, type Logger } from '../../src/device/logger.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import type { JsonObject } from '../../src/protocol/codec.js';

export interface LinkedBoardOptions {
  port: number;
  token: string;
  id?: string;
  /** A board config; default: one relay on pin 15. */
  config?: unknown;
  /** The keepalive to ask the hub for (default 200 ms); null asks for none: the hub's default. */
  keepaliveMs?: number | null;
  /** HubLink's dial and welcome timeout; default: HubLink's own. */
  handshakeTimeoutMs?: number;
  /** The backoff's jitter; default a fixed 0.5, so tests repeat. */
  random?: () => number;
  outboxCapacity?: number;
  onAcked?: (body: JsonObject) => void;
  /** Called with each request the board takes from the hub, before it runs it. */
  onRequest?: (request: JsonObject) => void;
  /** Where the hub link logs (default: nowhere). */
  logger?: Logger;
  /** The max_frame the board sends in its hello (default: HubLink's own). */
  maxFrameBytes?: number;
  tls?: HubLinkOptions['tls'];
  /** The address to dial from (each board its own, as on a LAN); default the system's choice. */
  localAddress?: string;
}

export interface LinkedBoard {
  board: Board;
  link: HubLink;
  hardware: SimHardware;
  close(): Promise<void>;
}

export const RELAY_BOARD = { name: 'shed', pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }] };

export async function startLinkedBoard(options: LinkedBoardOptions): Promise<LinkedBoard> {
  const clock = new SystemClock();
  const config = parseBoardConfig(options.config ?? RELAY_BOARD);
  const hardware = createSimHardware(config, clock);
  const board = new Board(config, hardware, clock, silentLogger);
  await board.start();
  const dispatcher = new Dispatcher(board, silentLogger);
  const onRequest = options.onRequest;
  if (onRequest !== undefined) {
    const handle = dispatcher.handle.bind(dispatcher);
    dispatcher.handle = (request, ctx) => {
      onRequest(request);
      return handle(request, ctx);
    };
  }
  const link = new HubLink({
    board,
    dispatcher,
    host: '127.0.0.1',
    port: options.port,
    deviceId: options.id ?? 'shed',
    token: options.token,
    clock,
    logger: options.logger ?? silentLogger,
    ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(options.keepaliveMs !== null ? { keepaliveMs: options.keepaliveMs ?? 200 } : {}),
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    random: options.random ?? (() => 0.5),
    ...(options.outboxCapacity !== undefined ? { outboxCapacity: options.outboxCapacity } : {}),
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    ...(options.onAcked !== undefined ? { onAcked: options.onAcked } : {}),
  });
  link.start();
  let closed = false;
  return {
    board,
    link,
    hardware,
    close: async () => {
      if (closed) return;
      closed = true;
      await link.close();
      board.close();
      hardware.close();
    },
  };
}

/** Resolves once the link is up (or fails after timeoutMs). */
export async function untilLinked(link: HubLink, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (link.state !== 'up') {
    if (Date.now() > deadline) throw new Error(`the board did not link within ${timeoutMs} ms (state ${link.state})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
