// The zeromq package, loaded only by a board that serves PyMoDAQ: it is an optional dependency
// with a native addon, built for some platforms only, and nothing else in Tether needs it. Its
// types are not imported either: where npm could not install it (32-bit Raspberry Pi OS), the
// rest of Tether must still compile, so the little of it used here is declared below.
import { ProtocolError } from '../../protocol/errors.js';

export type Frames = Buffer[];

export interface ZmqSocket {
  bind(address: string): Promise<void>;
  connect(address: string): void;
  send(message: string | Buffer | ReadonlyArray<string | Buffer>): Promise<void>;
  receive(): Promise<Frames>;
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<Frames>;
  readonly lastEndpoint: string | null;
  receiveTimeout: number;
}

export interface ZmqSocketOptions {
  linger?: number;
  maxMessageSize?: number;
  ipv6?: boolean;
  receiveTimeout?: number;
  routingId?: string;
}

export interface Zeromq {
  /** libzmq's version, e.g. "4.3.5". */
  readonly version: string;
  Router: new (options?: ZmqSocketOptions) => ZmqSocket;
  Dealer: new (options?: ZmqSocketOptions) => ZmqSocket;
  Request: new (options?: ZmqSocketOptions) => ZmqSocket;
}

/** Not a literal, so that the compiler does not look for the package's types. */
const PACKAGE: string = 'zeromq';

let loaded: Promise<Zeromq> | undefined;

export function loadZeromq(): Promise<Zeromq> {
  loaded ??= (import(PACKAGE) as Promise<Zeromq>).catch((err: unknown) => {
    loaded = undefined;
    throw new ProtocolError('unsupported', zeromqMissing(err, process.platform, process.arch));
  });
  return loaded;
}

/** What to do when the package does not load here, by cause. */
export function zeromqMissing(err: unknown, platform: string, arch: string): string {
  const fix = 'or remove pymodaq: from the board config to run everything else (docs/pymodaq.md#platforms)';
  if (platform === 'linux' && (arch === 'arm' || arch === 'ia32')) {
    return `PyMoDAQ needs ZeroMQ, and the zeromq package has no build for ${platform}-${arch} (${arch === 'arm' ? '32-bit Raspberry Pi OS' : '32-bit Linux'}); install the 64-bit OS (Raspberry Pi OS 64-bit on a Pi 3, 4, 5 or Zero 2 W), ${fix}`;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes("'zeromq'")) {
    return `PyMoDAQ needs ZeroMQ, and the zeromq package is not installed (an optional dependency: npm skips it where it fails); run npm install zeromq@6 where Tether is installed, ${fix}`;
  }
  return `PyMoDAQ needs ZeroMQ, and the zeromq package did not load on ${platform}-${arch}: ${err instanceof Error ? err.message : String(err)}; reinstall it (npm install zeromq@6), ${fix}`;
}
