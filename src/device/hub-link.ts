// Hub mode (protocol.md §10): the board dials the hub and keeps the link up. The hub proves
// first that it knows the board key, then the board proves it, and every later frame is sealed
// (§10.5, §10.6), so a fake hub or someone on the path gets neither the token nor a command
// run. Commands from the hub go through the same dispatcher as direct connections; replies and
// events go back as must-arrive messages, readings may be dropped oldest-first when the outbox
// is full.
import net from 'node:net';
import tls from 'node:tls';
import type { Clock, Timer } from '../common/clock.js';
import { answerChallenge, HubNotProven, LinkRejected } from '../link/authenticate.js';
import { LinkChannel, type CloseReason } from '../link/channel.js';
import { HandshakeTimeout, readFirstMessage } from '../link/handshake.js';
import { Inbound } from '../link/inbound.js';
import { fingerprintOfDer, normalizeFingerprint } from '../link/tls-pin.js';
import type { Scope } from '../protocol/actions.js';
import { keyOfToken, newNonce } from '../protocol/auth.js';
import { isEventMessage, type JsonObject } from '../protocol/codec.js';
import { isDroppableEvent, type BoardEvent } from '../protocol/events.js';
import { Backoff, DEFAULT_BACKOFF } from '../protocol/link/backoff.js';
import type { LinkSeal } from '../protocol/link/link-auth.js';
import { LINK_VERSION, MAX_FRAME, type Welcome } from '../protocol/link/messages.js';
import { Outbox, type Batcher, type Outgoing } from '../protocol/link/reliable.js';
import { PROTOCOL_VERSION, TETHER_VERSION } from '../protocol/version.js';
import type { Board } from './board.js';
import type { Dispatcher, SessionContext } from './dispatcher.js';
import type { Logger } from './logger.js';
import { Subscriptions } from './subscriptions.js';

export interface HubLinkOptions {
  board: Board;
  dispatcher: Dispatcher;
  host: string;
  port: number;
  deviceId: string;
  /** Never sent: the board proves with its key, the token's SHA-256 (protocol.md §10.5). */
  token: string;
  clock: Clock;
  logger: Logger;
  /** TLS to the hub; `fingerprint` pins its certificate (then no CA is asked). */
  tls?: boolean | HubTlsOptions;
  /** The longest frame taken from the hub, sent as the hello's max_frame (default and most: 1 MiB). */
  maxFrameBytes?: number;
  /** The keepalive interval to ask the hub for. */
  keepaliveMs?: number;
  /** Told about each message the hub acknowledged (committed), oldest first. */
  onAcked?: (body: JsonObject) => void;
  /** Messages kept for the hub during an outage (readings give way first). */
  outboxCapacity?: number;
  /** How long a dial and then a welcome may take each (default 750 ms; protocol.md §10.3). */
  handshakeTimeoutMs?: number;
  /** The local address to dial from (a board with several interfaces); default the system's choice. */
  localAddress?: string;
  random?: () => number;
}

export interface HubTlsOptions extends tls.ConnectionOptions {
  /**
   * The SHA-256 of the hub certificate's DER bytes (hex, colons allowed; the hub logs it at
   * start). When set, a hub that presents any other certificate is closed before the hello.
   */
  fingerprint?: string;
}

export type HubLinkState = 'connecting' | 'up' | 'down' | 'stopped';

/** The hub presented a TLS certificate other than the pinned one: the hello was not sent. */
export class HubCertificateMismatch extends Error {
  constructor(got: string, pinned: string) {
    super(`presented a TLS certificate with fingerprint ${got}, not the pinned ${pinned}; nothing was sent to it`);
    this.name = 'HubCertificateMismatch';
  }
}

/** The default time a dial, and then a welcome, may take (protocol.md §10.3). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 750;


export class HubLink implements SessionContext {
  readonly scope: Scope = 'admin'; // the hub proved it knows the board key, and every frame is sealed
  private readonly key: Buffer;
  private readonly maxFrameBytes: number;
  private readonly pinned: string | undefined;
  private outbox: Outbox<JsonObject>;
  private inbound = new Inbound();
  private hubStream: string | null = null;
  private readonly backoff: Backoff;
  private channel: LinkChannel | undefined;
  private socket: net.Socket | undefined;
  private stopped = false;
  private retryTimer: Timer | undefined;
  private wake: (() => void) | undefined;
  private readonly subs = new Subscriptions();
  private readonly listeners = new Set<(state: HubLinkState) => void>();
  private readonly stopBoardEvents: () => void;
  private readonly stopResets: () => void;
  private loop: Promise<void> = Promise.resolve();
  state: HubLinkState = 'down';

  constructor(private readonly options: HubLinkOptions) {
    this.key = keyOfToken(options.token);
    this.maxFrameBytes = Math.min(MAX_FRAME.max, Math.max(MAX_FRAME.min, options.maxFrameBytes ?? MAX_FRAME.max));
    const fingerprint = typeof options.tls === 'object' ? options.tls.fingerprint : undefined;
    this.pinned = fingerprint === undefined ? undefined : normalizeFingerprint(fingerprint);
    if (fingerprint !== undefined && this.pinned === undefined) {
      throw new Error(`hub TLS fingerprint ${JSON.stringify(fingerprint)}: expected the SHA-256 of the hub's certificate, 64 hex digits (colons allowed)`);
    }
    const onAcked = options.onAcked;
    this.outbox = new Outbox<JsonObject>({
      capacity: options.outboxCapacity ?? 2000,
      window: 64,
      batch: EVENT_BATCHES,
      ...(onAcked ? { onAcked: (acked: ReadonlyArray<Outgoing<JsonObject>>) => acked.forEach((m) => eventsOf(m.body).forEach(onAcked)) } : {}),
    });
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, random: options.random ?? Math.random });
    this.stopBoardEvents = options.board.onEvent((event) => this.emit(event));
    // A reset is a new boot: the link state is gone, as it would be on a real board.
    this.stopResets = options.board.onReset(() => {
      this.outbox.restart();
      this.inbound.restart();
      this.hubStream = null;
      this.channel?.close('reset');
    });
  }

  start(): void {
    this.loop = this.run();
  }

  onState(listener: (state: HubLinkState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.options.clock.clearTimer(this.retryTimer);
    this.wake?.();
    this.channel?.close('shutdown');
    this.socket?.destroy();
    this.subs.clear();
    this.stopBoardEvents();
    this.stopResets();
    await this.loop;
    this.setState('stopped');
  }

  // --- SessionContext: what the dispatcher may do to the hub's "connection" ---------------

  grant(): void {}

  addSubscription(start: (id: number) => () => void): number {
    return this.subs.add(start);
  }

  removeSubscription(id: number): boolean {
    return this.subs.remove(id);
  }

  emit(event: BoardEvent): void {
    const { event: name, ...fields } = event;
    const body: JsonObject = { event: name, ts: Math.round(this.options.board.uptimeMs()), boot_id: this.options.board.id, ...fields };
    this.queue(body, isDroppableEvent(name));
  }

  // --- the dial loop ----------------------------------------------------------------------

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.setState('connecting');
      let reason: string;
      let silent = false;
      try {
        reason = `: ${await this.connectOnce()}`;
      } catch (err) {
        reason = describeFailure(err);
        silent = err instanceof HandshakeTimeout;
        this.socket?.destroy();
      }
      if (this.stopped) break;
      this.setState('down');
      // An attempt that timed out has spaced itself already: the network may have swallowed the
      // hello, and the next try goes out at once, a few times, before backing off (§10.3).
      const wait = silent ? this.backoff.timedOut() : this.backoff.next();
      this.options.logger.warn(`hub ${this.options.host}:${this.options.port}${reason}; trying again in ${wait} ms`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.retryTimer = this.options.clock.setTimer(wait, resolve);
      });
    }
  }

  /**
   * One connection: dial, hello, the hub's proof checked, the board's sent, the sealed welcome,
   * then the channel until it closes. Resolves with why it ended. Nothing of the board's link
   * state changes before a welcome that opened under the seal.
   */
  private async connectOnce(): Promise<string> {
    const socket = await this.dial();
    this.socket = socket;
    await this.inbound.settle();
    const { board } = this.options;
    const nonce = newNonce();
    const hello = Buffer.from(
      JSON.stringify({
        link: 'hello',
        protocol: LINK_VERSION,
        device_id: this.options.deviceId,
        nonce,
        boot_id: board.id,
        firmware: `tether-node ${TETHER_VERSION} (protocol ${PROTOCOL_VERSION})`,
        capabilities: board.capabilities(),
        rx: { stream: this.hubStream, last: this.inbound.committed },
        uptime_ms: Math.round(board.uptimeMs()),
        max_frame: this.maxFrameBytes,
        ...(this.options.keepaliveMs !== undefined ? { keepalive_ms: this.options.keepaliveMs } : {}),
      }),
      'utf8',
    );
    socket.write(Buffer.concat([hello, Buffer.from('\n')]));
    const timing = { clock: this.options.clock, timeoutMs: this.handshakeTimeoutMs };
    const seal = await answerChallenge(socket, this.key, nonce, hello, timing);
    const welcome = await this.readWelcome(socket, seal);
    // What the hub committed is done with; a batch numbered for a hub that took more than this
    // one does (a cluster mid-upgrade) is taken apart before anything is resent.
    this.outbox.batchLimit = welcome.batch ?? 1;
    this.outbox.ack(welcome.ack);
    this.outbox.splitBatches();
    if (welcome.stream !== this.hubStream) {
      this.inbound.restart();
      this.hubStream = welcome.stream;
    }
    const closed = new Promise<{ reason: CloseReason; detail: string }>((resolve) => {
      this.channel = new LinkChannel(
        socket,
        { outbox: this.outbox, inbound: this.inbound },
        { keepaliveMs: welcome.keepalive_ms, outageMs: welcome.outage_ms, clock: this.options.clock, maxFrameBytes: this.maxFrameBytes, seal },
        { deliver: (body) => this.execute(body), closed: (reason, detail) => resolve({ reason, detail }) },
      );
    });
    socket.resume(); // paused while the handshake was read
    this.channel?.start(welcome.ack);
    this.backoff.reset();
    this.setState('up');
    this.options.logger.info(`linked to hub ${this.options.host}:${this.options.port} (session ${welcome.session})`);
    // Reconciliation: the hub learns what the board really has, leases with time left.
    this.queue({ event: 'state', ts: Math.round(board.uptimeMs()), ...board.state() }, false);
    const end = await closed;
    this.channel = undefined;
    socket.destroy();
    return `link closed (${end.reason}: ${end.detail})`;
  }

  private get handshakeTimeoutMs(): number {
    return this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  }

  private dial(): Promise<net.Socket> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      const secure = this.options.tls;
      const connected = () => {
        this.options.clock.clearTimer(timer);
        if (this.pinned !== undefined && socket instanceof tls.TLSSocket) {
          // The pin is the trust: no CA is asked, and a hub with another certificate gets nothing.
          const got = fingerprintOfDer(socket.getPeerCertificate(true).raw);
          if (got !== this.pinned) {
            socket.destroy();
            reject(new HubCertificateMismatch(got, this.pinned));
            return;
          }
        }
        resolve(socket);
      };
      let socket: net.Socket;
      const from = this.options.localAddress !== undefined ? { localAddress: this.options.localAddress } : {};
      if (secure === undefined || secure === false) socket = net.connect({ host, port, ...from }, connected);
      else {
        const options: tls.ConnectionOptions = secure === true ? {} : { ...secure };
        delete (options as HubTlsOptions).fingerprint;
        socket = tls.connect({ host, port, ...from, ...options, ...(this.pinned !== undefined ? { rejectUnauthorized: false } : {}) }, connected);
      }
      this.socket = socket;
      // A SYN lost in a black hole is retried by the kernel for minutes; a LAN hub answers in ms.
      const timer = this.options.clock.setTimer(this.handshakeTimeoutMs, () => reject(new HandshakeTimeout(`no connection to the hub within ${this.handshakeTimeoutMs} ms`)));
      socket.once('error', (err: Error) => {
        this.options.clock.clearTimer(timer);
        reject(new Error(`cannot reach the hub: ${err.message}`));
      });
    });
  }

  /** The first frame after the board's auth must be a sealed welcome, or a reject. */
  private async readWelcome(socket: net.Socket, seal: LinkSeal): Promise<Welcome> {
    // A hub on the LAN welcomes in milliseconds; a welcome that has not come will not come (a
    // black hole took the connection and swallowed the hello), so dial again rather than wait.
    const { message } = await readFirstMessage(socket, this.options.clock, this.handshakeTimeoutMs, 'welcome', { unsealer: seal.unsealer });
    if (message.link === 'welcome') return message;
    socket.destroy();
    if (message.link === 'reject') throw new LinkRejected(message.error);
    throw new Error(`the hub sent ${message.link} before a welcome`);
  }

  /** A command from the hub: run it like a request on a connection and send the reply back. */
  private async execute(body: JsonObject): Promise<void> {
    const reply = await this.options.dispatcher.handle(body, this);
    this.queue(reply, false);
  }

  private queue(body: JsonObject, droppable: boolean): void {
    try {
      if (this.channel?.isOpen) this.channel.send(body, droppable);
      else this.outbox.push(body, droppable);
      // Store-and-forward is bounded: say how many readings gave way (protocol.md §10.4).
      const dropped = this.outbox.takeDropped();
      if (dropped > 0) this.queue({ event: 'events_dropped', ts: Math.round(this.options.board.uptimeMs()), count: dropped }, false);
    } catch (err) {
      this.options.logger.error(`hub link: ${err instanceof Error ? err.message : String(err)}; the message is lost`);
    }
  }

  private setState(state: HubLinkState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of [...this.listeners]) listener(state);
  }
}

/**
 * A backlog of events (readings kept through an outage, say) goes to a hub that takes batches as
 * `batch` events (protocol.md §10.4): one number, MAC, frame and acknowledgement for up to 64,
 * which costs the hub less than half as much per reading. Replies go alone. 64 KiB of members at
 * most: far below any hub's frame limit, and a frame the hub takes in well under a millisecond.
 */
const EVENT_BATCHES: Batcher<JsonObject> = {
  joinable: (body) => isEventMessage(body) && body['event'] !== 'batch',
  size: (body) => Buffer.byteLength(JSON.stringify(body)),
  maxSize: 64 * 1024,
  join: (events) => ({ event: 'batch', events }),
};

/** The events a message carries: a batch's members, or the message itself. */
function eventsOf(body: JsonObject): JsonObject[] {
  return body['event'] === 'batch' && Array.isArray(body['events']) ? (body['events'] as JsonObject[]) : [body];
}

/**
 * Why an attempt failed, as the rest of a line that starts with "hub H:P". A hub that did not
 * prove itself, or presented another certificate, is the subject of the sentence; any other
 * failure follows a colon.
 */
function describeFailure(err: unknown): string {
  if (err instanceof HubNotProven) return ` ${err.message}: ${err.detail}; nothing from it was run`;
  if (err instanceof HubCertificateMismatch) return ` ${err.message}`;
  return `: ${err instanceof Error ? err.message : String(err)}`;
}
