// One registered board as the hub holds it (protocol.md §10): its two streams (restored from
// the store at start), the connection it is linked over now, the commands waiting for replies,
// and what it last reported. The newest connection replaces the older one at once.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Clock, Timer } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import { LinkChannel } from '../link/channel.js';
import { Inbound } from '../link/inbound.js';
import type { JsonObject } from '../protocol/codec.js';
import type { SealError } from '../protocol/auth.js';
import { encodeSealed, sealedMsgBytes, type LinkSeal } from '../protocol/link/link-auth.js';
import { BATCH_EVENTS, LINK_VERSION, MAX_FRAME, negotiateKeepalive, type Hello } from '../protocol/link/messages.js';
import { HubError } from './errors.js';
import { PersistentOutbox, type OutboxStore } from './persistent-outbox.js';
import type { HubStore, LinkState, OutboxEntry } from './store/port.js';
import { BoardReports, changesState, omit, reportSubscriptions, signalOf } from './board-reports.js';
import type { CommandOptions, HubUpdate, Reading, StoredEvent } from './types.js';

/**
 * What a device link needs of the store. It writes the whole link state (saveLinkState) only at
 * a handshake, when nothing is being committed: at other times rx_committed moves with each
 * ingest commit and tx_last with each outboxAdd, so a save from memory could put them back.
 */
export type DeviceLinkStore = OutboxStore &
  Pick<HubStore, 'getLinkState' | 'saveLinkState' | 'setSubscribedBoot' | 'outboxPending' | 'outboxClear' | 'markLinked' | 'markOffline' | 'setSignal'>;

/** Where delivered board messages go: resolved once they are committed (then they may be acked). */
export interface IngestSink {
  add(item: { device: string; seq: number; readings?: Reading[]; events?: Array<Omit<StoredEvent, 'id'>> }): Promise<void>;
  /** Takes the device's items again after a failed commit; true when there was one. */
  resume(device: string): boolean;
}

/** What every kind of board link (dialed in, or dialed by the hub) needs from the hub. */
export interface BoardLinkDeps {
  ingest: IngestSink;
  clock: Clock;
  logger: Logger;
  publish(update: HubUpdate): void;
  /** Hub-side events (online, offline, command replies nobody waits for), stored and published. */
  record(device: string, type: string, data: JsonObject): void;
  wallNow(): number;
  keepaliveMs: number;
  /** How often the hub has the board report each sensor. */
  telemetryIntervalMs(device: string): number;
  /** The link came up or went down: the board's view is published from the link at once. */
  linkChanged(device: string): void;
  /** A registry write of the board's (presence, signal) committed: its entry is read again. */
  registryChanged(device: string): void;
  /** Whether hubs share the store (a cluster): then a board may have gone to another hub. */
  shared?: boolean;
}

export function offlineError(id: string): HubError {
  return new HubError('device_offline', `${id} is not linked to the hub now; commands are not kept for later — try again when it is online`);
}

/**
 * A registry write a link does not wait for (the board's presence, its signal): the registry
 * view is told once it is written, and a failure (a full store resolves false) is logged.
 */
export function registryWrite(id: string, deps: Pick<BoardLinkDeps, 'logger' | 'registryChanged'>, write: Promise<boolean>): void {
  write.then(
    (changed) => {
      if (changed) deps.registryChanged(id);
    },
    (err: unknown) => deps.logger.error(`${id}: cannot record the link in the registry: ${err instanceof Error ? err.message : String(err)}`),
  );
}

export interface DeviceLinkDeps extends BoardLinkDeps {
  store: DeviceLinkStore;
  /** A unique prefix for the ids of this hub process's commands. */
  commandPrefix: string;
}

interface Pending {
  resolve(reply: JsonObject): void;
  reject(err: HubError): void;
  timer: Timer;
  /** The caller's own id, put back into the reply. */
  callerId: unknown;
  internal: boolean;
}

const OUTBOX = { capacity: 10_000, window: 64 } as const;

function tooLarge(device: string, bytes: number, limit: number): HubError {
  return new HubError(
    'frame_too_large',
    `the command would be a ${bytes}-byte link frame and ${device} takes frames of at most ${limit} bytes (its max_frame); send a shorter request`,
  );
}

/**
 * Marks the ids of the hub's own requests (get_state, get_info, subscribe). A reply to one that
 * nobody waits for any more (the hub restarted meanwhile) is dropped, not logged as a user's
 * command_reply: it answers a question the hub no longer has.
 */
const INTERNAL_ID_SUFFIX = '.hub';

/**
 * Marks a queued command's stored body as one with a delivery deadline; never sent. The deadline
 * itself is kept in memory, on the hub's monotonic clock: a marked body restored after a hub
 * restart has nobody holding it any more, so it is late whatever the time.
 */
const DELIVER_BY = '_hub_deliver_by';

export class DeviceLink {
  private state: LinkState;
  private outbox: PersistentOutbox;
  private inbound: Inbound;
  private channel: LinkChannel | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Command id → the clock time after which it is not sent (again): see onTime. */
  private readonly deadlines = new Map<string, number>();
  private nextCommand = 1;
  private readonly reports: BoardReports;
  /**
   * The boot whose reports this link is setting up, or set up: one setup per boot. A second,
   * started by a welcome that came while the first one's commands were still on their way,
   * subscribed every sensor twice, and the board reported each reading twice for good.
   */
  private reportsBoot: string | undefined;
  private attachQueue: Promise<void> = Promise.resolve();
  private closed = false;
  /** The longest frame the board takes from the hub, from its latest hello (protocol.md §10.7). */
  private maxFrame: number = MAX_FRAME.default;

  /** The board's link, its streams restored from the store. Rejects not_found for an unregistered id. */
  static async open(id: string, deps: DeviceLinkDeps): Promise<DeviceLink> {
    const state = await deps.store.getLinkState(id);
    return new DeviceLink(id, deps, state, await deps.store.outboxPending(id));
  }

  private constructor(
    readonly id: string,
    private readonly deps: DeviceLinkDeps,
    state: LinkState,
    restored: OutboxEntry[],
  ) {
    this.state = state;
    this.outbox = this.newOutbox(state.txLast, restored);
    this.inbound = new Inbound(this.state.rxCommitted, { pipelined: true });
    this.reports = new BoardReports(id, { ...deps, stateStale: () => void this.refreshState() });
    this.reports.bootEpoch = this.state.bootEpoch;
  }

  get online(): boolean {
    return this.channel?.isOpen === true;
  }

  get bootId(): string | null {
    return this.state.bootId;
  }

  /** Wall-clock ms at the board's uptime 0 for its current boot, from the uptime it reported; null before it did. */
  get bootedAt(): number | null {
    return this.reports.bootedAt;
  }

  /** Wall-clock ms when its current link came up; null while it has none. */
  get linkedSince(): number | null {
    return this.reports.linkedSince;
  }

  /** The board's state as it last reported it (the `state` event or a get_state reply). */
  get lastState(): JsonObject | null {
    return this.reports.state;
  }

  /**
   * Takes over a new, authenticated connection (its hello and auth already read, the socket
   * paused) and its seals: the older connection is closed at once (§10.1) and the streams resume
   * from what each side committed. Attaches run one after another.
   */
  attach(socket: Socket, hello: Hello, seal: LinkSeal, stillProven: () => Promise<boolean> = () => Promise.resolve(true)): Promise<void> {
    const run = this.attachQueue.then(() => this.attachNow(socket, hello, seal, stillProven));
    this.attachQueue = run.catch(() => undefined);
    return run;
  }

  /** Sends a request and resolves with the board's reply (its own `id` put back). */
  command(request: JsonObject, options: CommandOptions & { internal?: boolean } = {}): Promise<JsonObject> {
    if (this.closed) return Promise.reject(new HubError('shutting_down', 'the hub is stopping'));
    if (!this.online) return Promise.reject(offlineError(this.id));
    const id = `${this.deps.commandPrefix}${this.nextCommand++}${options.internal === true ? INTERNAL_ID_SUFFIX : ''}`;
    // The marker is the hub's own: a caller's request never sets it.
    const sent = { ...omit(request, DELIVER_BY), id };
    // Refused before it is stored: a board closes the link on a frame longer than it takes (§10.7).
    const bytes = sealedMsgBytes(sent);
    if (bytes > this.maxFrame) return Promise.reject(tooLarge(this.id, bytes, this.maxFrame));
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = this.deps.clock.setTimer(timeoutMs, () => {
        this.pending.delete(id);
        reject(new HubError('timeout', `${this.id} did not answer within ${timeoutMs} ms; the command stays queued for the board and its reply goes to the events log`));
      });
      this.pending.set(id, { resolve, reject, timer, callerId: request['id'], internal: options.internal === true });
      if (options.deliverWithinMs !== undefined) this.deadlines.set(id, this.deps.clock.now() + options.deliverWithinMs);
      // A command that cannot be written down is not sent: its caller hears why (storage_full).
      this.send(options.deliverWithinMs === undefined ? sent : { ...sent, [DELIVER_BY]: true }).catch((err: unknown) => {
        this.deadlines.delete(id);
        this.takePending(id)?.reject(err instanceof HubError ? err : new HubError('store_unavailable', `${this.id}: the command could not be stored: ${err instanceof Error ? err.message : String(err)}`));
      });
    });
  }

  /** Sends a must-arrive message without waiting for a reply (tests and bulk tools); resolves once it is stored and queued. */
  send(body: JsonObject): Promise<void> {
    return this.outbox.write(body, (written) => {
      if (this.channel?.isOpen) this.channel.send(written);
      else this.outbox.push(written);
    });
  }

  /**
   * Ends the current connection and keeps the link: the board's token was rotated, and it must
   * dial again and prove the new key (a board with the old one is refused at its hello).
   */
  disconnect(): void {
    this.channel?.close('shutdown');
  }

  /** Ends the link for good; commands still waiting for the board fail with `why` (default: the hub is stopping). */
  close(why: HubError = new HubError('shutting_down', 'the hub stopped before the board answered')): void {
    this.closed = true;
    this.channel?.close('shutdown');
    this.failPending(why);
  }

  /** Resolves once what the link took is committed and what it queued is written down. */
  async settled(): Promise<void> {
    await this.inbound.settle();
    await this.outbox.settled();
  }

  /**
   * Whether the store holds the board's streams where this link left them (call once settled):
   * false when another hub sharing the store has linked the board since and moved them on.
   */
  matches(stored: LinkState): boolean {
    return stored.bootId === this.state.bootId && stored.txStream === this.state.txStream && stored.txLast === this.outbox.lastAssigned && stored.rxCommitted === this.inbound.committed;
  }

  private async attachNow(socket: Socket, hello: Hello, seal: LinkSeal, stillProven: () => Promise<boolean>): Promise<void> {
    if (this.closed) {
      socket.destroy();
      return;
    }
    // Cleared first, so the old channel's close is a replacement, not the board going offline.
    const replaced = this.channel;
    this.channel = undefined;
    replaced?.close('replaced');
    const { store, clock } = this.deps;
    const newBoot = hello.boot_id !== this.state.bootId;
    if (newBoot) {
      // The board lost its link state (§10.4): both streams start over, and what it never got
      // fails back instead of reaching a board that has moved on.
      await this.inbound.settle();
      this.inbound.restart();
      this.state = { ...this.state, bootId: hello.boot_id, bootEpoch: null, rxCommitted: 0 };
      await this.restartOutbound('board_restarted', `${this.id} restarted before the command reached it`);
    } else if (hello.rx.stream !== this.state.txStream) {
      // The board does not know this stream (it never got our welcome): start ours over.
      await this.restartOutbound('board_restarted', `${this.id} lost the hub's stream before the command reached it`);
    }
    await this.inbound.settle();
    if (this.deps.ingest.resume(this.id) && !newBoot) {
      // A commit failed: continue from what the store really holds; the board resends the rest.
      this.inbound = new Inbound((await store.getLinkState(this.id)).rxCommitted, { pipelined: true });
    }
    // Commands being written down take their numbers before the state below records the last.
    await this.outbox.settled();
    if (hello.uptime_ms !== undefined) this.state.bootEpoch = this.deps.wallNow() - hello.uptime_ms;
    this.reports.bootEpoch = this.state.bootEpoch;
    this.state.rxCommitted = this.inbound.committed;
    this.state.txLast = this.outbox.lastAssigned;
    await store.saveLinkState(this.id, this.state);
    // The last await before the welcome: a new token (or the board's removal) while this
    // connection proved the old key ends it here; after this point, disconnect() does.
    const proven = await stillProven();
    if (this.closed || socket.destroyed || !proven) {
      socket.destroy();
      if (!proven) this.deps.logger.warn(`${this.id}: a connection proved a key the board no longer has (a new token was made during its handshake); it was closed`);
      if (replaced !== undefined) this.markDown(proven ? 'the new connection closed during its handshake' : 'a new token was made during the handshake');
      return;
    }

    const timing = negotiateKeepalive(hello.keepalive_ms, this.deps.keepaliveMs);
    this.maxFrame = hello.max_frame ?? MAX_FRAME.default;
    socket.write(
      encodeSealed(seal.sealer, { link: 'welcome', protocol: LINK_VERSION, session: randomUUID(), ...timing, stream: this.state.txStream, ack: this.inbound.committed, batch: BATCH_EVENTS.max }),
    );
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const channel = new LinkChannel(
      socket,
      { outbox: this.outbox, inbound: this.inbound },
      {
        keepaliveMs: timing.keepalive_ms,
        outageMs: timing.outage_ms,
        clock,
        seal,
        peerLimit: { maxFrameBytes: this.maxFrame, tooLong: (seq, body) => this.dropTooLong(seq, body) },
        outgoing: (seq, body) => this.onTime(seq, body),
      },
      {
        deliver: (body, seq) => this.deliver(body, seq),
        closed: (reason, detail, sealFailed) => {
          if (sealFailed !== undefined) this.sealFailed(peer, sealFailed);
          this.onClosed(channel, `${reason}: ${detail}`);
        },
      },
    );
    this.channel = channel;
    registryWrite(this.id, this.deps, store.markLinked(this.id, { firmware: hello.firmware, capabilities: hello.capabilities, bootId: hello.boot_id, now: this.deps.wallNow() }));
    socket.resume();
    channel.start(hello.rx.stream === this.state.txStream ? hello.rx.last : 0);
    this.deps.logger.info(`${this.id}: linked${newBoot ? ` (boot ${hello.boot_id})` : ''}`);
    this.reports.linkedSince = this.deps.wallNow();
    this.deps.record(this.id, 'online', { boot_id: hello.boot_id, new_boot: newBoot, firmware: hello.firmware });
    this.deps.linkChanged(this.id);
    if (this.state.subscribedBoot !== hello.boot_id && this.reportsBoot !== hello.boot_id) void this.setUpReports(hello.boot_id);
    void this.askSignal();
  }

  /** Asked at every link, not once per boot: a board that lost its link has often moved or lost signal. */
  private async askSignal(): Promise<void> {
    try {
      const rssi = signalOf(await this.command({ action: 'get_info' }, { internal: true }));
      if (rssi !== undefined && (await this.deps.store.setSignal(this.id, rssi))) this.deps.registryChanged(this.id);
    } catch {
      // Offline again, or slow: the next link asks again.
    }
  }

  /**
   * A queued command whose frame is longer than the board now takes (it came back with a lower
   * max_frame): it fails back once and a ping goes out under its number instead, so the stream
   * keeps its numbers and the board never sees a frame it would close the link on (§10.7).
   */
  private dropTooLong(seq: number, body: JsonObject): JsonObject {
    const bytes = sealedMsgBytes(body);
    this.takePending(body['id'])?.reject(tooLarge(this.id, bytes, this.maxFrame));
    this.deps.logger.warn(`${this.id}: message ${seq} is longer than the ${this.maxFrame} bytes the board takes; it was not sent`);
    return { action: 'ping', id: `${this.deps.commandPrefix}dropped-${seq}${INTERNAL_ID_SUFFIX}` };
  }

  /**
   * A write given a delivery deadline goes out without it while on time; late (it waited through
   * an outage, or a hub restart), a ping goes out under its number instead and the caller hears
   * `expired`: a renewal arriving after its lease ended would switch the output on again.
   */
  private onTime(seq: number, body: JsonObject): JsonObject {
    if (body[DELIVER_BY] === undefined) return body;
    const id = String(body['id']);
    const deadline = this.deadlines.get(id);
    if (deadline !== undefined && this.deps.clock.now() <= deadline) return omit(body, DELIVER_BY);
    this.deadlines.delete(id);
    this.takePending(id)?.reject(
      new HubError('expired', `${this.id}: ${String(body['action'])} on pin ${String(body['pin'])} could not go out before its deadline (the link was down or behind), so it was not sent; the board may have had it already, and its lease decides the pin`),
    );
    return { action: 'ping', id: `${this.deps.commandPrefix}expired-${seq}${INTERNAL_ID_SUFFIX}` };
  }

  /** Someone on the path altered, injected or replayed a frame (protocol.md §10.6). */
  private sealFailed(peer: string, err: SealError): void {
    this.deps.logger.warn(`link ${peer} ${this.id}: a frame failed its MAC (${err.message}); the connection is closed and nothing in that frame was run`);
  }

  private async restartOutbound(code: 'board_restarted', message: string): Promise<void> {
    await this.outbox.settled();
    const lost = this.outbox.restart();
    await this.deps.store.outboxClear(this.id);
    this.state = { ...this.state, txStream: randomUUID(), txLast: 0 };
    for (const body of lost) {
      this.deadlines.delete(String(body['id']));
      this.takePending(body['id'])?.reject(new HubError(code, message));
    }
  }

  private onClosed(channel: LinkChannel, why: string): void {
    if (this.channel !== channel) return; // replaced: the newer connection is the board now
    this.channel = undefined;
    this.markDown(why);
  }

  private markDown(why: string): void {
    const down = this.deps.store.markOffline(this.id, this.deps.wallNow());
    registryWrite(this.id, this.deps, down);
    this.deps.logger.info(`${this.id}: link down (${why})`);
    this.reports.linkedSince = null;
    // Not when another hub sharing the store holds the board now: it went there, not offline.
    void down.then(
      (changed) => {
        if (changed || !this.deps.shared) this.deps.record(this.id, 'offline', { reason: why });
      },
      () => this.deps.record(this.id, 'offline', { reason: why }),
    );
    this.deps.linkChanged(this.id);
  }

  /** A board message, in order and once; the returned promise is its commit (§10.4: ack means committed). */
  private deliver(body: JsonObject, seq: number): Promise<void> {
    return typeof body['event'] === 'string' ? this.reports.take(body, seq) : this.onReply(body, seq);
  }

  private onReply(reply: JsonObject, seq: number): Promise<void> {
    if (typeof reply['id'] === 'string') this.deadlines.delete(reply['id']);
    const waiting = this.takePending(reply['id']);
    if (waiting !== undefined) {
      const rest = omit(reply, 'id');
      waiting.resolve(waiting.callerId === undefined ? rest : { ...rest, id: waiting.callerId });
      if (!waiting.internal && changesState(reply)) void this.refreshState();
      return this.deps.ingest.add({ device: this.id, seq });
    }
    if (typeof reply['id'] === 'string' && reply['id'].endsWith(INTERNAL_ID_SUFFIX)) return this.deps.ingest.add({ device: this.id, seq });
    // Nobody waits (it timed out, or the hub restarted since): the reply goes to the events log.
    return this.deps.ingest.add({ device: this.id, seq, events: [{ device: this.id, ts: this.deps.wallNow(), type: 'command_reply', data: reply }] });
  }

  /** Asks the board for its state after something changed it (a write, a lease that ended). */
  private async refreshState(): Promise<void> {
    try {
      const reply = await this.command({ action: 'get_state' }, { internal: true });
      if (reply['ok'] !== true) return;
      this.reports.setState(reply);
    } catch {
      // Offline or slow: the state event after the next welcome brings it.
    }
  }

  /**
   * Once per boot of the board, subscribe to every sensor and every input pin so readings and
   * edges flow without anyone asking. The board keeps the subscriptions across link outages
   * (they belong to its hub link, not a connection), so a reconnect needs none of this.
   */
  private async setUpReports(boot: string): Promise<void> {
    this.reportsBoot = boot;
    let requests: JsonObject[];
    try {
      const state = await this.command({ action: 'get_state' }, { internal: true });
      requests = reportSubscriptions(state, this.deps.telemetryIntervalMs(this.id));
    } catch (err) {
      // Nothing subscribed yet: the next welcome tries again (subscribedBoot is still not this boot).
      if (this.reportsBoot === boot) this.reportsBoot = undefined;
      this.deps.logger.warn(`${this.id}: could not set up reports: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const settled = await Promise.allSettled(requests.map((r) => this.command(r, { internal: true })));
    const failed: unknown[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') failed.push(s.reason);
      else if (s.value['ok'] !== true) this.deps.logger.warn(`${this.id}: subscribing failed: ${JSON.stringify(s.value['error'])}`);
    }
    if (failed.length === 0) {
      if (this.state.bootId === boot) {
        this.state.subscribedBoot = boot;
        await this.deps.store.setSubscribedBoot(this.id, boot).catch((err: unknown) => this.deps.logger.warn(`${this.id}: cannot record its subscriptions: ${String(err)}`));
      }
      return;
    }
    // A subscription that timed out is still queued for the board and reaches it once (its late
    // reply goes to the events log): asking again would subscribe twice. One never sent (offline,
    // not written down) is asked for again at the next welcome.
    const unsent = failed.some((err) => !(err instanceof HubError && err.code === 'timeout'));
    if (unsent && this.reportsBoot === boot) this.reportsBoot = undefined;
    const first = failed[0];
    this.deps.logger.warn(`${this.id}: ${unsent ? 'could not subscribe' : 'subscribing is not confirmed yet'}: ${first instanceof Error ? first.message : String(first)}`);
  }

  private newOutbox(txLast: number, restored: OutboxEntry[]): PersistentOutbox {
    const ackFailed = (err: unknown) => this.deps.logger.error(`${this.id}: cannot record the board's acknowledgement: ${String(err)}`);
    return new PersistentOutbox(this.deps.store, this.id, { ...OUTBOX, ackFailed }, txLast, restored);
  }

  /** The command waiting under this id, no longer waiting (its timer cleared). */
  private takePending(id: unknown): Pending | undefined {
    const waiting = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (waiting === undefined) return undefined;
    this.pending.delete(id as string);
    this.deps.clock.clearTimer(waiting.timer);
    return waiting;
  }

  private failPending(err: HubError): void {
    this.deadlines.clear();
    for (const id of [...this.pending.keys()]) this.takePending(id)?.reject(err);
  }
}
