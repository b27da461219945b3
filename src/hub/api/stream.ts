// GET /api/stream: every HubUpdate as one JSON text message, after a hello. The hub must not
// hold unbounded data for a client that stopped reading, so like a board (protocol.md §7) it
// sheds readings first, tells the client how many, and closes a client that is far behind.
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { HubUpdate } from '../types.js';
import { type ApiContext, type ApiRoute, paramsSchema, refSchema } from './route-spec.js';

export const STREAM_LIMITS = {
  /** Past this many unsent bytes, reading updates are dropped (and counted). */
  dropReadingsBytes: 1024 * 1024,
  /** Past this many, the socket is closed: the client has stopped reading. */
  closeBytes: 8 * 1024 * 1024,
} as const;

/** "Try Again Later" (RFC 6455 §7.4.1 registry). */
export const CLOSE_TOO_SLOW = 1013;
export const STREAM_PING_MS = 30_000;
/** Clients have nothing to say on the stream; a large message is an abuse, not a request. */
const MAX_CLIENT_MESSAGE_BYTES = 4096;
export const STREAM_SOCKET_OPTIONS = { maxPayload: MAX_CLIENT_MESSAGE_BYTES } as const;

/** What UpdateStream needs of a socket; `ws`'s WebSocket has it. */
export interface StreamSocket {
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason: string): void;
}

export type StreamNotice = { type: 'hello'; version: string } | { type: 'readings_dropped'; count: number };

export function updateDevice(update: HubUpdate): string {
  return update.type === 'device' ? update.device.id : update.device;
}

/** One client's view of the updates: filtered by device, shed when the client falls behind. */
export class UpdateStream {
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly socket: StreamSocket,
    private readonly device: string | undefined,
  ) {}

  push(update: HubUpdate): void {
    if (this.closed || (this.device !== undefined && updateDevice(update) !== this.device)) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered > STREAM_LIMITS.closeBytes) {
      this.closed = true;
      this.socket.close(CLOSE_TOO_SLOW, `too slow: more than ${STREAM_LIMITS.closeBytes} bytes unread; reconnect and read faster`);
      return;
    }
    // Readings come again every interval; device, state and event updates are not repeated.
    if (update.type === 'reading' && buffered > STREAM_LIMITS.dropReadingsBytes) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      this.send({ type: 'readings_dropped', count: this.dropped });
      this.dropped = 0;
    }
    this.send(update);
  }

  /** Reading updates dropped since the last one sent. */
  get pendingDropped(): number {
    return this.dropped;
  }

  private send(message: HubUpdate | StreamNotice): void {
    this.socket.send(JSON.stringify(message));
  }
}

const STREAM_QUERY = paramsSchema({
  device: { type: 'string', minLength: 1, description: 'Only updates about this board (it need not be registered yet).' },
  token: { type: 'string', description: 'The API token, for clients that cannot send an Authorization header (browsers).' },
});

export function streamRoutes(ctx: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/stream',
      operationId: 'stream',
      summary: 'A WebSocket of live updates: a hello, then every device, state, reading and event update.',
      description:
        'Connect with a WebSocket client. The token goes in the Authorization header, the `token` query parameter, ' +
        'or the subprotocol `bearer.<token>`. Each message is one JSON object (see StreamMessage). When the client ' +
        `falls more than ${STREAM_LIMITS.dropReadingsBytes} bytes behind, reading updates are dropped and a ` +
        '`readings_dropped` message with their count precedes the next message; past ' +
        `${STREAM_LIMITS.closeBytes} bytes the hub closes the socket with code ${CLOSE_TOO_SLOW}.`,
      scope: 'read',
      querystring: STREAM_QUERY,
      response: { status: 101, description: 'Switching Protocols; then StreamMessage texts.', schema: refSchema('StreamMessage') },
      websocket: (socket, request) => openStream(ctx, socket, request),
    },
  ];
}

function openStream({ facade, version, logger, streamPingMs }: ApiContext, socket: WebSocket, request: FastifyRequest): void {
  const { device } = request.query as { device?: string };
  const hello: StreamNotice = { type: 'hello', version };
  socket.send(JSON.stringify(hello));
  const stream = new UpdateStream(socket, device);
  const unsubscribe = facade.onUpdate((update) => {
    // The hub calls every listener in turn; one broken socket must not starve the others.
    try {
      stream.push(update);
    } catch (err) {
      logger.warn(`API stream: dropping a client after a failed send: ${String(err)}`);
      socket.terminate();
    }
  });

  // A peer that vanished without a FIN (a sleeping laptop) would otherwise hold its listener forever.
  let answered = true;
  socket.on('pong', () => {
    answered = true;
  });
  const heartbeat = setInterval(() => {
    if (!answered) return socket.terminate();
    answered = false;
    socket.ping();
  }, streamPingMs);
  heartbeat.unref();

  socket.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}
