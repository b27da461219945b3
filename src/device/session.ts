// One client connection: framing, in-order replies, subscriptions, events and backpressure
// (protocol.md §2, §3.4, §7).
import type { Scope } from '../protocol/actions.js';
import { decodeFrame, errorReply, type JsonObject } from '../protocol/codec.js';
import { SealError } from '../protocol/auth.js';
import { ProtocolError } from '../protocol/errors.js';
import { isDroppableEvent, type BoardEvent } from '../protocol/events.js';
import { encodeFrame, LineDecoder, looksLikeHttp, type FrameSink } from '../protocol/framing.js';
import type { Board } from './board.js';
import { ConnectionSeal } from './connection-seal.js';
import type { Dispatcher, SessionContext } from './dispatcher.js';
import { silentLogger, type Logger } from './logger.js';
import { Subscriptions } from './subscriptions.js';

/** The byte pipe under a session; TCP and TLS sockets are adapted to it in transport/. */
export interface Connection {
  /** Returns false when the outgoing buffer is over its high-water mark. */
  write(data: string): boolean;
  /** Bytes written but not yet handed to the kernel. */
  readonly bufferedBytes: number;
  pauseInput(): void;
  resumeInput(): void;
  /** Ends the connection after what was written is sent. */
  end(): void;
  /** Drops the connection at once, with whatever is still buffered. */
  destroy(): void;
}

export interface SessionOptions {
  maxFrameBytes: number;
  /** Above this many buffered outgoing bytes, edge and reading events are dropped and counted. */
  eventHighWaterBytes?: number;
  /** Above this many received, unanswered frames, the session stops reading from the socket. */
  maxBacklogFrames?: number;
  /** A peer that lets this many bytes of events pile up unread is disconnected (protocol.md §7). */
  eventHardLimitBytes?: number;
  /** Subscriptions one connection may hold at once (protocol.md §5.14). */
  maxSubscriptions?: number;
  /** Where a refused connection is reported, naming `peer`. */
  logger?: Logger;
  peer?: string;
}


type Item = Buffer | { oversize: number };

/** A reply that cannot be serialised (it should not happen: decoding bounds the nesting) costs its echo, not the process. */
function safeEncode(reply: JsonObject): string {
  try {
    return encodeFrame(reply);
  } catch (err) {
    return encodeFrame(errorReply(undefined, { code: 'internal', message: `the reply could not be encoded (${String(err)}); please report it` }));
  }
}

export class Session implements SessionContext {
  private readonly decoder: LineDecoder;
  private readonly sink: FrameSink;
  private readonly eventHighWater: number;
  private readonly maxBacklog: number;
  private readonly eventHardLimit: number;
  private backlog: Item[] = [];
  private head = 0;
  private waiting = false;
  private out = '';
  private inputPaused = false;
  private waitingForDrain = false;
  private seq = 0;
  private dropped = 0;
  private readonly subs: Subscriptions;
  private readonly stopBoardEvents: () => void;
  private closed = false;
  /** Set by the first frame that decodes as a JSON object; until then HTTP lines close the connection. */
  private accepted = false;
  private readonly logger: Logger;
  readonly peer: string;
  scope: Scope | null;
  /** Challenge–response and, after an auth with seal, the seal on every frame (protocol.md §8.1). */
  readonly handshake = new ConnectionSeal();

  constructor(
    private readonly conn: Connection,
    private readonly dispatcher: Dispatcher,
    private readonly board: Board,
    options: SessionOptions,
  ) {
    this.decoder = new LineDecoder(options.maxFrameBytes);
    this.eventHighWater = options.eventHighWaterBytes ?? 256 * 1024;
    this.maxBacklog = options.maxBacklogFrames ?? 1024;
    this.eventHardLimit = options.eventHardLimitBytes ?? 4 * 1024 * 1024;
    this.subs = new Subscriptions(options.maxSubscriptions);
    this.logger = options.logger ?? silentLogger;
    this.peer = options.peer ?? 'a client';
    this.scope = dispatcher.initialScope;
    this.sink = {
      frame: (bytes) => this.backlog.push(bytes),
      oversize: (limit) => this.backlog.push({ oversize: limit }),
    };
    this.stopBoardEvents = board.onEvent((event) => this.emit(event));
  }

  /** Not proven yet (protocol.md §1 fairness): no scope on a board with tokens, no request yet on one without. */
  get unproven(): boolean {
    return this.scope === null || !this.accepted;
  }

  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.decoder.push(chunk, this.sink);
    this.pump();
  }

  /** Called by the transport when the socket can take more. */
  drained(): void {
    this.waitingForDrain = false;
    this.updateInput();
  }

  private pump(): void {
    while (!this.waiting && this.head < this.backlog.length && !this.closed) {
      const item = this.backlog[this.head++] as Item;
      if (!this.accepted && Buffer.isBuffer(item) && looksLikeHttp(item)) {
        this.refuseHttp(item);
        return;
      }
      const opened = this.unseal(item);
      if (opened === undefined) return;
      const reply = this.process(opened);
      if (reply instanceof Promise) {
        this.waiting = true;
        reply.then(
          (r) => this.resume(r),
          (err: unknown) => this.resume(errorReply(undefined, { code: 'internal', message: String(err) })),
        );
        break;
      }
      this.answer(reply);
    }
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
    }
    this.flush();
    this.updateInput();
  }

  private resume(reply: JsonObject): void {
    this.waiting = false;
    if (this.closed) return;
    this.answer(reply);
    this.pump();
  }

  private process(item: Item): JsonObject | Promise<JsonObject> {
    if (!Buffer.isBuffer(item)) {
      return errorReply(undefined, new ProtocolError('frame_too_large', `the frame is longer than ${item.oversize} bytes; it was discarded up to its newline`).toWire());
    }
    const decoded = decodeFrame(item);
    if (!decoded.ok) return errorReply(undefined, decoded.error.toWire());
    this.accepted = true;
    return this.dispatcher.handle(decoded.message, this);
  }

  /**
   * A web page can make a browser send an HTTP request to a board's port, and a `text/plain`
   * POST needs no CORS preflight: were its lines read as frames, the JSON lines of its body would
   * run. So the connection ends here, unanswered (the peer is a browser), with nothing after this
   * line run (protocol.md §2 rule 7).
   */
  private refuseHttp(line: Buffer): void {
    const shown = JSON.stringify(line.subarray(0, 80).toString('latin1'));
    this.logger.warn(`closed the connection from ${this.peer}: it sent HTTP (${shown}), as a web page in a browser would; clients send one JSON request per line (docs/protocol.md §2)`);
    this.hangUp();
  }

  // --- sealing (protocol.md §8.1): every frame after an auth with seal, in both directions ---

  /** Queues a reply, sealed when the connection is, and applies what its auth asked for. */
  private answer(reply: JsonObject): void {
    this.out += this.handshake.seal(safeEncode(reply));
    if (this.handshake.replied()) this.hangUp();
  }

  /**
   * A received frame without its seal; undefined when it failed the seal, and then the
   * connection is closed with nothing in it run. An oversize line cannot be checked: it gets
   * its reply, then the connection closes.
   */
  private unseal(item: Item): Item | undefined {
    if (!this.handshake.sealed) return item;
    if (!Buffer.isBuffer(item)) {
      this.handshake.closeAfterReply();
      return item;
    }
    try {
      return this.handshake.open(item);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      this.logger.warn(`closed the sealed connection from ${this.peer}: ${err.message}`);
      this.hangUp();
      return undefined;
    }
  }

  /** Sends what is already queued, then ends the connection; nothing received after this runs. */
  private hangUp(): void {
    this.flush();
    this.close();
    this.backlog = [];
    this.head = 0;
    this.conn.end();
  }

  private flush(): void {
    if (this.out === '') return;
    const data = this.out;
    this.out = '';
    if (!this.conn.write(data)) this.waitingForDrain = true;
  }

  /** Reading stops while the peer does not read its replies or too many requests wait. */
  private updateInput(): void {
    const shouldPause = this.waitingForDrain || this.backlog.length - this.head > this.maxBacklog;
    if (shouldPause !== this.inputPaused) {
      this.inputPaused = shouldPause;
      if (shouldPause) this.conn.pauseInput();
      else this.conn.resumeInput();
    }
  }

  // --- SessionContext ---------------------------------------------------------------------

  grant(scope: Scope): void {
    this.scope = scope;
  }

  addSubscription(start: (id: number) => () => void): number {
    return this.subs.add(start);
  }

  removeSubscription(id: number): boolean {
    return this.subs.remove(id);
  }

  emit(event: BoardEvent): void {
    if (this.closed) return;
    if (this.conn.bufferedBytes > this.eventHardLimit) {
      // The peer has stopped reading; holding every event for it would grow without bound.
      this.close();
      this.conn.destroy();
      return;
    }
    if (isDroppableEvent(event.event) && this.conn.bufferedBytes > this.eventHighWater) {
      this.dropped++;
      return;
    }
    let data = '';
    if (this.dropped > 0) {
      data += this.handshake.seal(encodeFrame(this.stamp({ event: 'events_dropped', count: this.dropped })));
      this.dropped = 0;
    }
    data += this.handshake.seal(encodeFrame(this.stamp(event)));
    if (this.out !== '') {
      // Emitted while a batch of replies is being built: keep those replies ahead of it.
      this.out += data;
      return;
    }
    if (!this.conn.write(data)) {
      this.waitingForDrain = true;
      this.updateInput();
    }
  }

  private stamp(event: BoardEvent): JsonObject {
    const { event: name, ...fields } = event;
    return { event: name, seq: ++this.seq, ts: Math.round(this.board.uptimeMs()), ...fields };
  }

  /** Stops this connection's subscriptions; leases stay, since the board owns them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subs.clear();
    this.stopBoardEvents();
  }
}
