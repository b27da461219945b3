// One link connection after its handshake (protocol.md §10.2–§10.4): must-arrive messages out
// of an Outbox and into an Inbound, cumulative acks sent only for what was committed, pings only
// when idle, and an outage declared after silence. The streams outlive the channel: the next
// connection gets a new channel over the same streams and resends from the peer's ack.
import type { Socket } from 'node:net';
import type { Clock, Timer } from '../common/clock.js';
import { SEAL_OVERHEAD, SealError } from '../protocol/auth.js';
import { decodeFrame, type JsonObject } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/errors.js';
import { encodeFrame, LineDecoder } from '../protocol/framing.js';
import { encodeSealed, type LinkSeal } from '../protocol/link/link-auth.js';
import { parseLinkMessage, type LinkClose } from '../protocol/link/messages.js';
import type { Outbox } from '../protocol/link/reliable.js';
import { defaultPacer, type FramePacer, type PacedReader } from './frame-pacer.js';
import type { Inbound } from './inbound.js';

export interface LinkStreams {
  readonly outbox: Outbox<JsonObject>;
  readonly inbound: Inbound;
}

export type CloseReason = 'outage' | 'peer_closed' | 'protocol_error' | 'local' | LinkClose['reason'];

export interface ChannelHandlers {
  /**
   * A must-arrive message, in order and once. Its acknowledgement waits for the returned promise
   * (the hub commits readings first); the next message is not delivered before it settles.
   */
  deliver(body: JsonObject, seq: number): void | Promise<void>;
  /** `sealFailed` is set when a frame failed its MAC (protocol.md §10.6): someone on the path. */
  closed(reason: CloseReason, detail: string, sealFailed?: SealError): void;
}

export interface ChannelOptions {
  keepaliveMs: number;
  outageMs: number;
  clock: Clock;
  maxFrameBytes?: number;
  /**
   * The connection's seals (protocol.md §10.6): every frame sent is sealed and every frame
   * received must open, or the connection closes with nothing in that frame acted on.
   */
  seal?: LinkSeal;
  /**
   * The longest frame the peer takes (its hello's `max_frame`, protocol.md §10.7), sealed and
   * without its line ending. A message whose frame would be longer is never sent: `tooLong`
   * gives the body that goes out under its number instead, so the stream keeps its numbers.
   */
  peerLimit?: { maxFrameBytes: number; tooLong(seq: number, body: JsonObject): JsonObject };
  /**
   * The body that goes out for a queued message, each time it is written (the first time or
   * again after a reconnect): the owner may strip what only it needs, or send another body under
   * the same number (a write that must not arrive late, protocol.md §4).
   */
  outgoing?(seq: number, body: JsonObject): JsonObject;
  /** Shares the event loop with the process's other connections (default: defaultPacer). */
  pacer?: FramePacer;
}

/**
 * Frames read and not yet handled, kept as (memory, offset, length) in three flat lists rather
 * than as a Buffer each: at saturation a thousand boards' backlogs wait for seconds, and a
 * wrapper object per frame living that long filled the old generation (a major GC every few
 * hundred ms, pausing the loop for up to 20 ms). The memory is the read chunk's, shared by its
 * frames; a frame too long has no memory, and its length is the limit it broke.
 */
class WaitingFrames {
  private memory: Array<ArrayBufferLike | null> = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  private next = 0;
  /** The bytes of the frames from `next` on. */
  bytes = 0;

  get size(): number {
    return this.memory.length - this.next;
  }

  push(bytes: Buffer): void {
    this.memory.push(bytes.buffer);
    this.offsets.push(bytes.byteOffset);
    this.lengths.push(bytes.length);
    this.bytes += bytes.length;
  }

  pushOversize(limit: number): void {
    this.memory.push(null);
    this.offsets.push(0);
    this.lengths.push(limit);
  }

  /** The oldest frame's bytes, or the limit it broke; call only while size > 0. */
  shift(): Buffer | number {
    const i = this.next++;
    const memory = this.memory[i] ?? null;
    this.memory[i] = null; // let go of the chunk once its last frame is handled
    if (memory !== null) this.bytes -= this.lengths[i] as number;
    return memory === null ? (this.lengths[i] as number) : Buffer.from(memory, this.offsets[i], this.lengths[i]);
  }

  clear(): void {
    this.memory.length = this.offsets.length = this.lengths.length = 0;
    this.next = 0;
    this.bytes = 0;
  }
}

export class LinkChannel implements PacedReader {
  private readonly decoder: LineDecoder;
  private readonly pacer: FramePacer;
  /** Frames read and not yet handled, in order; see FramePacer. */
  private readonly waiting = new WaitingFrames();
  /** Queued in the pacer with the socket paused. */
  private deferred = false;
  private lastSent: number;
  private lastReceived: number;
  private tick: Timer | undefined;
  private ackedToPeer: number;
  private ackQueued = false;
  private forceAck = false;
  private open = true;

  constructor(
    private readonly socket: Socket,
    private readonly streams: LinkStreams,
    private readonly options: ChannelOptions,
    private readonly handlers: ChannelHandlers,
  ) {
    this.decoder = new LineDecoder(options.maxFrameBytes ?? 1024 * 1024);
    this.pacer = options.pacer ?? defaultPacer;
    this.lastSent = this.lastReceived = options.clock.now();
    this.ackedToPeer = streams.inbound.committed;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.shut('peer_closed', 'the connection closed'));
    socket.on('error', (err) => this.shut('peer_closed', err.message));
  }

  /**
   * Begins after the handshake: `peerAck` is what the peer says it committed (the welcome's
   * `ack`, or the hello's `rx.last`, each taken after Inbound.settle()); everything after it is
   * sent again, then what waited.
   */
  start(peerAck: number): void {
    this.streams.outbox.ack(peerAck);
    for (const msg of this.streams.outbox.unacknowledged()) this.writeMsg(msg.seq, msg.body);
    this.flush();
    const period = Math.max(10, Math.floor(Math.min(this.options.keepaliveMs, this.options.outageMs) / 4));
    const onTick = () => {
      if (!this.open) return;
      const now = this.options.clock.now();
      // Frames waiting for their turn in the pacer are the peer's: no outage while they wait.
      if (this.deferred) this.lastReceived = now;
      if (now - this.lastReceived >= this.options.outageMs) {
        this.shut('outage', `nothing received for ${Math.round(now - this.lastReceived)} ms`);
        return;
      }
      if (now - this.lastSent >= this.options.keepaliveMs) this.write({ link: 'ping' });
      this.tick = this.options.clock.setTimer(period, onTick);
    };
    this.tick = this.options.clock.setTimer(period, onTick);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Queues a must-arrive message and sends it when the window allows. */
  send(body: JsonObject, droppable = false): void {
    this.streams.outbox.push(body, droppable);
    if (this.open) this.flush();
  }

  close(reason: LinkClose['reason'] | 'local' = 'local'): void {
    if (!this.open) return;
    if (reason !== 'local') this.write({ link: 'close', reason });
    this.socket.end();
    this.shut(reason, 'closed by this side');
  }

  private flush(): void {
    for (const msg of this.streams.outbox.sendable()) this.writeMsg(msg.seq, msg.body);
  }

  private writeMsg(seq: number, queued: JsonObject): void {
    const body = this.options.outgoing?.(seq, queued) ?? queued;
    // Every msg carries the latest committed ack for the other direction, so a busy link needs no ack frames.
    this.ackedToPeer = this.streams.inbound.committed;
    const message = { link: 'msg', seq, ack: this.ackedToPeer, body };
    const limit = this.options.peerLimit;
    if (limit === undefined || this.frameBytes(message) <= limit.maxFrameBytes) this.write(message);
    else this.write({ ...message, body: limit.tooLong(seq, body) });
  }

  /** A frame's length on the wire, without its line ending, before it is sealed (which numbers it). */
  private frameBytes(message: object): number {
    return Buffer.byteLength(JSON.stringify(message), 'utf8') + (this.options.seal === undefined ? 0 : SEAL_OVERHEAD);
  }

  private write(message: object): void {
    if (!this.open || !this.socket.writable) return;
    const seal = this.options.seal;
    this.socket.write(seal === undefined ? encodeFrame(message) : encodeSealed(seal.sealer, message));
    this.lastSent = this.options.clock.now();
  }

  get backlogged(): boolean {
    return this.open && this.waiting.size > 0;
  }

  get backlog(): number {
    return this.open ? this.waiting.size : 0;
  }

  get backlogBytes(): number {
    return this.open ? this.waiting.bytes : 0;
  }

  private readonly sink = {
    frame: (bytes: Buffer) => this.waiting.push(bytes),
    oversize: (limit: number) => this.waiting.pushOversize(limit),
  };

  private receive(chunk: Buffer): void {
    this.lastReceived = this.options.clock.now();
    this.decoder.push(chunk, this.sink);
    if (this.deferred) return; // its turn comes in the pacer's queue
    if (!this.pacer.arrived(this)) return;
    this.deferred = true;
    this.socket.pause();
  }

  /** Handles up to `max` frames read earlier, until `until` (the pacer's turn); reads again when none is left. */
  drain(max: number, until = Infinity): number {
    let handled = 0;
    while (handled < max && this.open && this.waiting.size > 0 && (handled === 0 || until === Infinity || performance.now() < until)) {
      const frame = this.waiting.shift();
      handled++;
      if (typeof frame === 'number') this.fail(`a frame longer than ${frame} bytes`);
      else this.onFrame(frame);
    }
    if (this.backlogged) return handled;
    this.waiting.clear();
    if (this.deferred) {
      this.deferred = false;
      if (this.open) this.socket.resume();
    }
    return handled;
  }

  private onFrame(line: Buffer): void {
    if (!this.open) return;
    let bytes = line;
    if (this.options.seal !== undefined) {
      try {
        bytes = this.options.seal.unsealer.open(line);
      } catch (err) {
        if (!(err instanceof SealError)) throw err;
        return this.fail(err.message, err);
      }
    }
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return this.fail(decoded.error.message);
    let message;
    try {
      message = parseLinkMessage(decoded.message);
    } catch (err) {
      return this.fail(err instanceof ProtocolError ? err.message : String(err));
    }
    switch (message.link) {
      case 'msg':
        if (message.ack !== undefined) this.onAck(message.ack);
        return this.onMsg(message.seq, message.body);
      case 'ack':
        return this.onAck(message.ack);
      case 'ping':
        return;
      case 'close':
        this.socket.end();
        return this.shut(message.reason, 'closed by the peer');
      case 'hello':
      case 'challenge':
      case 'auth':
      case 'welcome':
      case 'reject':
        return this.fail(`a ${message.link} after the handshake`);
    }
  }

  private onAck(seq: number): void {
    if (this.streams.outbox.ack(seq) > 0) this.flush();
  }

  // Made once, not for every message.
  private readonly deliver = (body: JsonObject, seq: number) => this.handlers.deliver(body, seq);
  private readonly committed = () => this.scheduleAck(false);

  private onMsg(seq: number, body: JsonObject): void {
    const arrival = this.streams.inbound.receive(
      seq,
      body,
      this.deliver,
      this.committed,
      (err) => this.fail(`delivering message ${seq} failed: ${String(err)}`),
    );
    // One TCP connection never skips; the next connection resends from our last ack.
    if (arrival === 'gap') this.fail(`message ${seq} arrived after ${this.streams.inbound.inbox.lastDelivered}`);
    else if (arrival === 'duplicate') this.scheduleAck(true);
  }

  /**
   * An ack goes out as soon as what completed now has been counted (a microtask later), not a
   * timer later: the hub's commit completes a board's whole burst at once, so the burst gets one
   * ack, and the board's window opens again while the hub's loop is still in the same turn.
   */
  private scheduleAck(force: boolean): void {
    this.forceAck ||= force;
    if (this.ackQueued) return;
    this.ackQueued = true;
    queueMicrotask(() => {
      this.ackQueued = false;
      const committed = this.streams.inbound.committed;
      if (this.forceAck || committed !== this.ackedToPeer) {
        this.ackedToPeer = committed;
        this.write({ link: 'ack', ack: committed });
      }
      this.forceAck = false;
    });
  }

  private fail(detail: string, sealFailed?: SealError): void {
    this.socket.destroy();
    this.shut('protocol_error', detail, sealFailed);
  }

  private shut(reason: CloseReason, detail: string, sealFailed?: SealError): void {
    if (!this.open) return;
    this.open = false;
    if (this.tick !== undefined) this.options.clock.clearTimer(this.tick);
    if (reason === 'outage') this.socket.destroy();
    this.handlers.closed(reason, detail, sealFailed);
  }
}
