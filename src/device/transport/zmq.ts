// A ZeroMQ ROUTER listener for request–reply peers: PyMoDAQ's DEALER sockets (two frames,
// [identity, body]) and REQ sockets (three, [identity, "", body]). Each message's body is one
// UTF-8 text request; its reply goes back to the same peer in the same shape. Nothing here knows
// what the requests mean (ARCHITECTURE.md: transport layer).
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../logger.js';
import { loadZeromq, type Frames } from './zeromq-module.js';

export interface ZmqListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** A peer that sends a longer message is disconnected by libzmq. */
  maxMessageBytes: number;
  clock: Clock;
  logger: Logger;
}

/**
 * Answers one request; `peer` names the sender for the log, `arrivedAt` is the clock time the
 * message was read (it may wait behind the same peer's earlier ones). Never rejects.
 */
export type ZmqHandler = (request: string, peer: string, arrivedAt: number) => Promise<string>;

export interface ZmqListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Requests being answered at once, over every peer. Past it the listener stops reading, so a
 * flood waits in libzmq's queue (bounded by its high-water mark) and then in TCP, not in memory.
 */
const MAX_IN_FLIGHT = 256;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export async function listenZmq(options: ZmqListenOptions, handle: ZmqHandler): Promise<ZmqListener> {
  const zmq = await loadZeromq();
  const ipv6 = options.host.includes(':');
  const socket = new zmq.Router({ linger: 0, maxMessageSize: options.maxMessageBytes, ipv6 });
  const host = ipv6 ? `[${options.host}]` : options.host;
  try {
    await socket.bind(`tcp://${host}:${options.port === 0 ? '*' : String(options.port)}`);
  } catch (err) {
    socket.close();
    throw new Error(bindFailure(err, host, options.port), { cause: err });
  }
  const port = Number(/:(\d+)$/.exec(socket.lastEndpoint ?? '')?.[1] ?? options.port);

  // One reply at a time per peer keeps a DEALER's answers in the order it asked; peers run side by side.
  const chains = new Map<string, Promise<void>>();
  let inFlight = 0;
  let wakeReader: (() => void) | undefined;
  // zeromq.js allows one send in progress per socket. A ROUTER drops a reply to a peer that has
  // gone or stopped reading instead of blocking, so this chain never stalls on one peer.
  let sending: Promise<void> = Promise.resolve();
  let closing = false;

  const reply = (frames: Frames): void => {
    sending = sending
      .then(() => (closing ? undefined : socket.send(frames)))
      .catch((err: unknown) => {
        if (!closing) options.logger.debug(`ZeroMQ reply not sent: ${err instanceof Error ? err.message : String(err)}`);
      });
  };

  const accept = (frames: Frames): void => {
    const identity = frames[0];
    if (identity === undefined) return;
    const peer = `zmq:${identity.toString('hex').slice(0, 8)}`;
    // REQ puts an empty delimiter frame before the body; DEALER (PyMoDAQ's ZMQLink) does not.
    const delimited = frames.length === 3 && frames[1]?.length === 0;
    const body = delimited ? frames[2] : frames.length === 2 ? frames[1] : undefined;
    if (body === undefined) {
      options.logger.debug(`${peer}: a message of ${frames.length} frames, neither DEALER [identity, body] nor REQ [identity, "", body]; dropped`);
      return;
    }
    let text: string;
    try {
      text = strictUtf8.decode(body);
    } catch {
      options.logger.debug(`${peer}: a request that is not UTF-8; dropped without a reply`);
      return;
    }
    const key = identity.toString('latin1');
    const arrivedAt = options.clock.now();
    inFlight++;
    // Once closing, what is still queued is dropped unanswered: the board behind it is stopping.
    const done = (chains.get(key) ?? Promise.resolve())
      .then(() => (closing ? undefined : handle(text, peer, arrivedAt)))
      .then((answer) => {
        if (answer !== undefined) reply(delimited ? [identity, Buffer.alloc(0), Buffer.from(answer)] : [identity, Buffer.from(answer)]);
      })
      .finally(() => {
        inFlight--;
        if (chains.get(key) === done) chains.delete(key);
        wakeReader?.();
      });
    chains.set(key, done);
  };

  const reading = (async () => {
    try {
      for await (const frames of socket) {
        accept(frames);
        while (inFlight >= MAX_IN_FLIGHT && !closing) await new Promise<void>((resolve) => (wakeReader = resolve));
        wakeReader = undefined;
      }
    } catch (err) {
      if (!closing) options.logger.error(`PyMoDAQ (ZeroMQ) listener stopped: ${err instanceof Error ? err.message : String(err)}`);
    }
  })();

  let closed: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        wakeReader?.();
        socket.close();
        await reading;
        await sending;
      })()),
  };
}

/** Worded like the protocol port's failures; libzmq's errors carry the errno code. */
function bindFailure(err: unknown, host: string, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `PyMoDAQ (ZeroMQ) cannot listen on ${host}:${port}`;
  const other = 'pick another with pymodaq.port in the board config or --pymodaq-port (0 = any free port)';
  if (code === 'EADDRINUSE') return `${where}: the port is already in use (the original PyMoDAQ server, pilotage.service, still running?); stop the other program or ${other}`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENODEV') return `${where}: this machine has no such address; try 0.0.0.0 or 127.0.0.1`;
  if (code === 'EACCES') return `${where}: ports below 1024 need privileges; ${other}`;
  return `${where}: ${err instanceof Error ? err.message : String(err)}`;
}
