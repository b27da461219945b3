// TCP and TLS listeners (ARCHITECTURE.md: transport layer). Each socket becomes a Connection
// for a Session; nothing here knows the protocol.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../logger.js';
import type { Connection } from '../session.js';
import { Admission } from './admission.js';

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string } | undefined;
  /** At most this many connections; a newcomer beyond closes the oldest unproven one, or is closed at once (protocol.md §1). */
  maxConnections: number;
  /** Whether the board has tokens (then a connection proves itself by authenticating). */
  tokens: boolean;
  clock: Clock;
  logger: Logger;
}

export interface ConnectionHandler {
  receive(chunk: Buffer): void;
  drained(): void;
  close(): void;
  /** Not proven yet (protocol.md §1): no scope on a board with tokens, no request yet on one without. */
  readonly unproven: boolean;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** Ends every open connection; the listener keeps accepting. */
  dropAll(): void;
  close(): Promise<void>;
}

const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 30_000;

export async function listen(options: ListenOptions, accept: (conn: Connection, peer: string) => ConnectionHandler): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const admission = new Admission(options);
  const onSocket = (socket: net.Socket) => {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const admittee = {
      peer,
      /** Set once admitted; until then the connection has proven nothing. */
      handler: undefined as ConnectionHandler | undefined,
      get unproven(): boolean {
        return this.handler?.unproven ?? true;
      },
      close: () => socket.destroy(),
    };
    if (!admission.admit(admittee)) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const handler = accept(socketConnection(socket), peer);
    admittee.handler = handler;
    options.logger.debug(`connection from ${peer}`);
    let first = !options.tls;
    socket.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        // A TLS ClientHello on a plain port: say so and close, instead of both sides waiting.
        if (chunk[0] === 0x16 && chunk[1] === 0x03) {
          options.logger.debug(`${peer} tried TLS on a plain TCP port`);
          socket.end();
          return;
        }
      }
      handler.receive(chunk);
    });
    socket.on('drain', () => handler.drained());
    socket.on('error', (err) => options.logger.debug(`connection ${peer}: ${err.message}`));
    socket.on('close', () => {
      sockets.delete(socket);
      admission.release(admittee);
      handler.close();
      options.logger.debug(`connection from ${peer} closed`);
    });
  };

  let server: net.Server;
  if (options.tls) {
    const [cert, key] = await Promise.all([readFile(options.tls.cert), readFile(options.tls.key)]);
    server = tls.createServer({ cert, key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, onSocket);
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      options.logger.debug(`TLS handshake with ${socket.remoteAddress ?? '?'} failed: ${err.message}`);
    });
  } else {
    server = net.createServer(onSocket);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => options.logger.error(`listener: ${err.message}`));
  const address = server.address() as net.AddressInfo;
  return {
    host: address.address,
    port: address.port,
    secure: options.tls !== undefined,
    dropAll: () => {
      for (const socket of sockets) socket.end();
    },
    close: () =>
      new Promise<void>((resolve) => {
        admission.close();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function socketConnection(socket: net.Socket): Connection {
  return {
    write: (data) => (socket.writable ? socket.write(data) : true),
    get bufferedBytes() {
      return socket.writableLength;
    },
    pauseInput: () => socket.pause(),
    resumeInput: () => socket.resume(),
    end: () => socket.end(),
    destroy: () => socket.destroy(),
  };
}
