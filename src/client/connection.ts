// Opening a connection: TCP or TLS, a bounded connect time, and the optional authentication
// (protocol.md §8, §8.1). Every failure to connect is a TetherError('connection_failed') naming
// host:port; a failed authentication keeps its own code.
import net from 'node:net';
import tls from 'node:tls';
import { hostPort } from '../common/address.js';
import { BoardClient, DEFAULT_TIMEOUT_MS } from './board-client.js';
import { TetherError } from './errors.js';

export interface ConnectOptions {
  host: string;
  port: number;
  /** true for TLS with Node's default verification; or TLS options such as `ca` or `rejectUnauthorized: false`. */
  tls?: boolean | tls.ConnectionOptions;
  /** Per-request timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Time allowed for TCP connect plus TLS handshake, in ms (default 5000). */
  connectTimeoutMs?: number;
  /**
   * Proven to the board right after connecting; connect fails if the board refuses it, or (with
   * the default `auth`) cannot prove that it knows the token too.
   */
  token?: string;
  /**
   * How the token is presented (protocol.md §8). `'challenge'` (the default): challenge and
   * response: the token never crosses the network, the board proves it knows it too, and every
   * frame is sealed. `'plain'`: `auth {token}` in clear, for boards that do not know `challenge`
   * (anyone on the path can read the token). Never chosen behind your back: a board that does
   * not know `challenge` fails connect with `challenge_unsupported`.
   */
  auth?: 'challenge' | 'plain';
  /** Where challenge nonces come from; for tests that reproduce the protocol's vectors. */
  newNonce?: () => string;
  /** Longest line accepted from the board (default 1 MiB: a reply echoes a request of up to 64 KiB and adds to it). */
  maxFrameBytes?: number;
  /** Events buffered per events() stream or subscription before the oldest is dropped (default 1000). */
  eventBufferSize?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export async function connect(options: ConnectOptions): Promise<BoardClient> {
  const { host, port } = options;
  if (typeof host !== 'string' || host === '') throw new TypeError('connect: host must be a non-empty string');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`connect: port must be an integer from 1 to 65535, got ${String(port)}`);
  if (options.auth !== undefined && options.auth !== 'challenge' && options.auth !== 'plain') {
    throw new TypeError(`connect: auth must be 'challenge' or 'plain', got ${String(options.auth)}`);
  }
  const remote = hostPort(host, port);
  const socket = await openSocket(options, remote);
  const client = new BoardClient(socket, {
    remote,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    ...(options.eventBufferSize === undefined ? {} : { eventBufferSize: options.eventBufferSize }),
  });
  if (options.token !== undefined) {
    try {
      if (options.auth === 'plain') await client.auth(options.token);
      else await client.authenticate(options.token, options.newNonce === undefined ? {} : { newNonce: options.newNonce });
    } catch (err) {
      await client.close();
      if (err instanceof TetherError && err.code === 'unauthorized') {
        throw new TetherError('unauthorized', `${remote} refused the token: ${err.message}`, { ...(err.reply === undefined ? {} : { reply: err.reply }), cause: err });
      }
      throw err;
    }
  }
  return client;
}

function openSocket(options: ConnectOptions, remote: string): Promise<net.Socket> {
  const { host, port } = options;
  const tlsOptions = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  const limit = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = tlsOptions === undefined ? net.connect({ host, port }) : tls.connect({ ...tlsOptions, host, port });
    const readyEvent = tlsOptions === undefined ? 'connect' : 'secureConnect';
    let tcpUp = false;
    const onTcp = () => {
      tcpUp = true;
    };
    const onReady = () => {
      detach();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException) => fail(describeConnectError(err, remote, host, tlsOptions !== undefined), err);
    const onClose = () => fail(`cannot connect to ${remote}: the board closed the connection during the ${tlsOptions === undefined ? 'connect' : 'TLS handshake'}`);
    const detach = () => {
      clearTimeout(timer);
      socket.off('connect', onTcp);
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (message: string, cause?: unknown) => {
      detach();
      socket.on('error', () => undefined);
      socket.destroy();
      reject(new TetherError('connection_failed', message, { cause }));
    };
    const timer = setTimeout(() => {
      if (tcpUp && tlsOptions !== undefined) {
        fail(`cannot connect to ${remote}: no TLS handshake within ${limit} ms; if the board serves plain TCP, connect without TLS`);
      } else {
        fail(`cannot connect to ${remote}: no answer within ${limit} ms; check the address, that the board is powered and on this network, and that no firewall drops the port`);
      }
    }, limit);
    socket.once('connect', onTcp);
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

const CERT_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeConnectError(err: NodeJS.ErrnoException, remote: string, host: string, usingTls: boolean): string {
  const code = err.code ?? 'error';
  const prefix = `cannot connect to ${remote}`;
  if (CERT_ERRORS.has(code)) {
    return `${prefix}: the board's TLS certificate was rejected (${code}: ${err.message}); trust it with the \`ca\` option (CLI: --ca FILE), or skip verification on a trusted network with rejectUnauthorized: false (CLI: --insecure)`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `${prefix}: connection refused; nothing is listening on port ${remote.slice(remote.lastIndexOf(':') + 1)}. Check the port number and that the board (or \`tether device\`) is running`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${prefix}: cannot resolve the host name ${JSON.stringify(host)} (${code}); check the spelling or use the board's IP address`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return `${prefix}: the host is unreachable (${code}); check that the board is powered and on the same network`;
    case 'ETIMEDOUT':
      return `${prefix}: timed out (${code}); check the address, and that the board is powered and on this network`;
    case 'ECONNRESET':
      return usingTls
        ? `${prefix}: the connection was reset during the TLS handshake; check that the board serves TLS on this port`
        : `${prefix}: the connection was reset by the board`;
    default:
      if (usingTls && /wrong version number|packet length too long|unknown protocol/i.test(err.message)) {
        return `${prefix}: the board did not answer in TLS (${err.message}); if it serves plain TCP, connect without TLS`;
      }
      return `${prefix}: ${err.message}`;
  }
}
