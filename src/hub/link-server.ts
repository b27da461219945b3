// Where boards dial in (protocol.md §10.1): read the hello, check the protocol version and the
// board's token, answer with a coded reject or hand the connection to the board's DeviceLink.
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import { readFirstMessage } from '../link/handshake.js';
import { ProtocolError, type ErrorCode } from '../protocol/errors.js';
import { encodeFrame } from '../protocol/framing.js';
import { LINK_VERSION, type Hello } from '../protocol/link/messages.js';
import { HandshakeGate } from './handshake-gate.js';
import { RefusalLimiter, type Refusal } from './refusal-limiter.js';

export interface LinkServerOptions {
  host: string;
  port: number;
  tls?: tls.TlsOptions;
  clock: Clock;
  logger: Logger;
  /** True when `token` is the registered token of `deviceId`. */
  verify(deviceId: string, token: string): boolean;
  /** Takes an authenticated connection, paused just after its hello. */
  attach(socket: net.Socket, hello: Hello): Promise<void>;
  /** The whole handshake's time limit (default 5 s, protocol.md §10.8). */
  handshakeTimeoutMs?: number;
  /** Connections still in their handshake at most (default 256), and per address (default 8): see HandshakeGate. */
  maxHandshakes?: number;
  maxHandshakesPerAddress?: number;
}

export interface LinkServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startLinkServer(options: LinkServerOptions): Promise<LinkServer> {
  const sockets = new Set<net.Socket>();
  const gate = new HandshakeGate({ clock: options.clock, logger: options.logger, timeoutMs: options.handshakeTimeoutMs, total: options.maxHandshakes, perAddress: options.maxHandshakesPerAddress });
  const refusals = new RefusalLimiter({ clock: options.clock, logger: options.logger });
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      gate.release(socket);
    });
    socket.on('error', () => undefined); // a reset board; the channel or the handshake reports it
    if (!gate.admit(socket)) return;
    const address = socket.remoteAddress;
    void handshake(socket, options, refusals)
      .then((refusal) => {
        if (refusal !== undefined) refusals.refused(address, refusal);
        // Only a board that got through needs TCP keepalive: a flood is spared the system calls.
        else if (!socket.destroyed) socket.setKeepAlive(true, 30_000);
      })
      .catch((err: unknown) => {
        // verify or attach failed (a failing disk, a bug): this connection ends, the hub runs on.
        socket.destroy();
        options.logger.error(`link ${address ?? '?'}: handshake failed: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => gate.release(socket));
  };
  const server = options.tls === undefined ? net.createServer(onSocket) : tls.createServer(options.tls, onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A long accept queue (the kernel caps it at net.core.somaxconn): while an attacker re-opens
    // silent connections as fast as the hub closes them, a board's dial waits its turn in the
    // queue instead of being dropped (Node's default of 511 overflows; npm run bench:flood).
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: async () => {
      gate.close();
      refusals.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

/** Resolves with what the hello was refused for, if it was (the caller counts it, §10.8). */
async function handshake(socket: net.Socket, options: LinkServerOptions, refusals: RefusalLimiter): Promise<Refusal | undefined> {
  const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  let hello: Hello;
  try {
    const first = await readFirstMessage(socket, options.clock, options.handshakeTimeoutMs ?? 10_000, 'hello');
    if (first.link !== 'hello') return reject(socket, 'bad_field', `link: the first message must be a hello, not ${first.link}`);
    hello = first;
    const limited = refusals.rejection(socket.remoteAddress);
    if (limited !== undefined) return reject(socket, limited.code, limited.message);
  } catch (err) {
    // A malformed hello gets its coded reason; a silent or closed socket is just gone.
    if (err instanceof ProtocolError && !socket.destroyed) return reject(socket, err.code, err.message);
    options.logger.debug(`link ${peer}: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (hello.protocol !== LINK_VERSION) {
    return reject(socket, 'unsupported', `this hub speaks link protocol ${LINK_VERSION}, the board sent ${hello.protocol}`);
  }
  if (!options.verify(hello.device_id, hello.token)) {
    options.logger.debug(`link ${peer}: refused ${JSON.stringify(hello.device_id)}: unknown device or wrong token`);
    return reject(socket, 'unauthorized', 'unknown device or wrong token; register the board with `tether hub add-device ID` and give it the printed token');
  }
  await options.attach(socket, hello);
}

function reject(socket: net.Socket, code: ErrorCode, message: string): Refusal {
  socket.end(encodeFrame({ link: 'reject', error: { code, message } }));
  return { code, message };
}
