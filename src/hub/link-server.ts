// Where boards dial in (protocol.md §10.1, §10.5): read the hello, prove to the board that the
// hub knows its key, check the board's proof, and hand the sealed connection to the board's
// DeviceLink; anything else gets a coded reject.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../common/clock.js';
import { LogTally } from '../common/log-tally.js';
import type { Logger } from '../device/logger.js';
import { BoardNotProven, challengeBoard } from '../link/authenticate.js';
import { HandshakeTimeout, readFirstMessage } from '../link/handshake.js';
import { fingerprintOfPem } from '../link/tls-pin.js';
import { ProtocolError, type ErrorCode } from '../protocol/errors.js';
import { encodeFrame } from '../protocol/framing.js';
import type { LinkSeal } from '../protocol/link/link-auth.js';
import type { Hello } from '../protocol/link/messages.js';
import { HandshakeGate } from './handshake-gate.js';
import { RefusalLimiter, type Refusal } from './refusal-limiter.js';

export interface LinkServerOptions {
  host: string;
  port: number;
  tls?: tls.TlsOptions;
  clock: Clock;
  logger: Logger;
  /** The board key of a registered id (SHA-256 of its token, protocol.md §10.5); undefined for an unknown id. */
  keyOf(deviceId: string): Promise<Buffer | undefined>;
  /**
   * Counts the changes of a board's key made through this hub (a new token, the board removed):
   * a connection that proved the key of an earlier count is not let in.
   */
  keyChanges(deviceId: string): number;
  /** Takes an authenticated connection, paused just after the board's `auth`, with its seals. */
  /**
   * Links the proven board. `stillProven` says whether the key it proved is still its key: a new
   * token made while the handshake ran must not let the old one in.
   */
  attach(socket: net.Socket, hello: Hello, seal: LinkSeal, stillProven: () => Promise<boolean>): Promise<void>;
  /** The whole handshake's time limit (default 5 s, protocol.md §10.8). */
  handshakeTimeoutMs?: number;
  /** Connections still in their handshake at most (default 256), and per address (default 8); more wait for a slot: see HandshakeGate. */
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
    const address = socket.remoteAddress;
    gate.admit(socket, () =>
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
        .finally(() => gate.release(socket)),
    );
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
  // An accept that fails costs that connection, not the hub (without a listener, the error would
  // end the process). libuv closes connections beyond the open-file limit by itself, unseen: the
  // hub warns at start when its boards would not fit (file-limit.ts); this catches the rest.
  const acceptFailures = new LogTally(options.clock, (code, count, last) =>
    options.logger.error(
      `link: could not accept ${count} connection${count === 1 ? '' : 's'} in the last minute (${last}) with ${sockets.size} open; ` +
        (code === 'EMFILE' || code === 'ENFILE'
          ? "each board's link holds a file descriptor: raise the hub's open-file limit (ulimit -n, or LimitNOFILE= in its systemd unit) above the number of boards"
          : 'the hub goes on'),
    ),
  );
  server.on('error', (err: NodeJS.ErrnoException) => acceptFailures.note(err.code ?? 'error', err.message));
  const address = server.address() as net.AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: async () => {
      gate.close();
      refusals.close();
      acceptFailures.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

/**
 * The link's TLS from the hub config's `link.tls` PEM files (or, with `auto`, the ones the hub
 * made in its data folder), read once at start, and the fingerprint boards pin it by
 * (protocol.md §10.5).
 */
export function readLinkTls(files: { cert: string; key: string }): { options: tls.TlsOptions; fingerprint: string } {
  const read = (what: 'cert' | 'key') => {
    try {
      return readFileSync(files[what]);
    } catch (err) {
      throw new Error(`link.tls.${what}: cannot read ${files[what]} (${err instanceof Error ? err.message : String(err)}); check the path in the hub config`, { cause: err });
    }
  };
  const cert = read('cert');
  let fingerprint: string;
  try {
    fingerprint = fingerprintOfPem(cert);
  } catch (err) {
    throw new Error(`link.tls.cert: ${files.cert} is not a PEM certificate (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  return { options: { cert, key: read('key') }, fingerprint };
}

// One message for an unknown id and a wrong proof: the hub does not say which.
const UNAUTHORIZED = 'unknown device or wrong token; register the board with `tether hub add-device ID` and give it the printed token';

/** Resolves with what the hello was refused for, if it was (the caller counts it, §10.8). */
async function handshake(socket: net.Socket, options: LinkServerOptions, refusals: RefusalLimiter): Promise<Refusal | undefined> {
  const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  const timing = { clock: options.clock, timeoutMs: options.handshakeTimeoutMs ?? 10_000 };
  let hello: Hello | undefined;
  let seal: LinkSeal;
  let key: Buffer | undefined;
  let keyCount = 0;
  try {
    const first = await readFirstMessage(socket, timing.clock, timing.timeoutMs, 'hello');
    if (first.message.link !== 'hello') return reject(socket, 'bad_field', `link: the first message must be a hello, not ${first.message.link}`);
    hello = first.message;
    const limited = refusals.rejection(socket.remoteAddress);
    if (limited !== undefined) return reject(socket, limited.code, limited.message);
    keyCount = options.keyChanges(hello.device_id);
    key = await options.keyOf(hello.device_id);
    if (key === undefined) return refuse(socket, options, peer, hello.device_id, 'unknown device');
    // The proofs cover the hello's exact bytes, so a hello altered on the way fails them.
    seal = await challengeBoard(socket, key, hello.nonce, first.bytes, timing);
  } catch (err) {
    if (err instanceof BoardNotProven) return refuse(socket, options, peer, hello?.device_id ?? '?', 'wrong board proof');
    // A malformed frame gets its coded reason; a silent or closed socket is just gone.
    if (err instanceof ProtocolError && !socket.destroyed) return reject(socket, err.code, err.message);
    // A silent or closed socket is just gone; anything else (the store failing behind keyOf) ends
    // this connection now and is the caller's to log.
    if (!(err instanceof HandshakeTimeout) && !socket.destroyed && !(err instanceof ProtocolError)) throw err;
    options.logger.debug(`link ${peer}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const { device_id: id } = hello;
  const proven = key;
  // Read again from the store, so a new token made through another hub sharing it counts too.
  const stillProven = async () => {
    const now = await options.keyOf(id);
    return options.keyChanges(id) === keyCount && now?.equals(proven) === true;
  };
  await options.attach(socket, hello, seal, stillProven);
  return undefined;
}

function refuse(socket: net.Socket, options: LinkServerOptions, peer: string, deviceId: string, why: string): Refusal {
  // Debug only: the refusal limiter logs refusals once a minute per address (§10.8).
  options.logger.debug(`link ${peer}: refused ${JSON.stringify(deviceId)}: ${why}`);
  return reject(socket, 'unauthorized', UNAUTHORIZED);
}

function reject(socket: net.Socket, code: ErrorCode, message: string): Refusal {
  socket.end(encodeFrame({ link: 'reject', error: { code, message } }));
  return { code, message };
}
