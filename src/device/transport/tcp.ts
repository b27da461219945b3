// TCP and TLS listeners (ARCHITECTURE.md: transport layer). Each socket becomes a Connection
// for a Session; nothing here knows the protocol.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../logger.js';
import type { Connection } from '../session.js';

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string } | undefined;
  /** Connections beyond this are closed at once. */
  maxConnections?: number;
  logger: Logger;
}

export interface ConnectionHandler {
  receive(chunk: Buffer): void;
  drained(): void;
  close(): void;
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
  const onSocket = (socket: net.Socket) => {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (options.maxConnections !== undefined && sockets.size >= options.maxConnections) {
      options.logger.warn(`refused ${peer}: already ${sockets.size} connections`);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const handler = accept(socketConnection(socket), peer);
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
