// A hub's link to the other hubs of its cluster, through one MQTT broker (docs/scaling.md):
//
//   - a command for a board another hub holds is published to that hub's command topic with an
//     id, and its answer comes back on this hub's answer topic; a repeat of the same id (QoS 1
//     may deliver twice) gets the first answer again and is never sent to the board twice;
//   - each hub keeps a retained presence topic (its will says offline), so a command for a board
//     whose hub is gone fails at once instead of waiting out its timeout;
//   - changes to shared data (the registry, presence, rules) are announced, and the other hubs
//     read them again from the store.
//
// The store stays the one truth: a lost announcement only delays what another hub shows until
// the next one, and a board's link state, commands and readings never travel through here.
import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../device/logger.js';
import type { JsonObject } from '../../protocol/codec.js';
import { HubError, HUB_ERROR_CATALOGUE, type HubErrorCode } from '../errors.js';
import { BrokerConnection, readCa, readPasswordFile } from '../mqtt/connection.js';
import type { CommandOptions, MqttStatus } from '../types.js';
import type { ClusterConfig } from './config.js';
import { ClusterTopics, commandAnswer, commandRequest, sharedChange, type CommandAnswer, type CommandRequest, type SharedChange } from './messages.js';

export interface ClusterDeps {
  hubId: string;
  clock: Clock;
  logger: Logger;
  wallNow: () => number;
  /** Runs a command another hub passed on, for a board this hub holds. */
  runHere(device: string, request: JsonObject, options: CommandOptions): Promise<JsonObject>;
  /** Another hub changed shared data. */
  changed(change: SharedChange, from: string): void;
}

/** How long an answered request id is remembered, so that a repeat is answered, not run again. */
const REMEMBER_MS = 10 * 60_000;
/** Beyond the command's own timeout, how long an answer may take to come back through the broker. */
const ANSWER_MARGIN_MS = 2000;
const DEFAULT_TIMEOUT_MS = 10_000;

interface Waiting {
  /** The hub the command went to. */
  hub: string;
  device: string;
  resolve(reply: JsonObject): void;
  reject(err: HubError): void;
  timer: Timer;
}

export class ClusterLink {
  private readonly topics: ClusterTopics;
  private readonly waiting = new Map<string, Waiting>();
  /** Requests taken from other hubs, oldest first: id → the answer (or its promise), kept REMEMBER_MS. */
  private readonly handled = new Map<string, { answer: Promise<CommandAnswer>; until: number }>();
  private readonly online = new Set<string>();
  private nextId = 1;
  private readonly prefix = randomBytes(4).toString('hex');
  private stopped = false;

  private readonly broker: BrokerConnection;

  private constructor(
    config: ClusterConfig,
    private readonly deps: ClusterDeps,
    secrets: { password?: string; ca?: string },
  ) {
    this.topics = new ClusterTopics(config.topic);
    const passwordFile = config.password_file;
    this.broker = new BrokerConnection(
      {
        url: config.url,
        clientId: `tether-cluster-${deps.hubId}`,
        ...(config.username !== undefined ? { username: config.username } : {}),
        ...(secrets.password !== undefined ? { password: secrets.password } : {}),
        ...(passwordFile !== undefined ? { rereadPassword: () => readPasswordFile(passwordFile) } : {}),
        ...(secrets.ca !== undefined ? { ca: secrets.ca } : {}),
        will: { topic: this.topics.presence(deps.hubId), payload: 'offline' },
        clock: deps.clock,
        logger: deps.logger,
        wallNow: deps.wallNow,
      },
      {
        connected: () => void this.onConnected(),
        disconnected: () => this.online.clear(),
        message: (topic, payload) => this.onMessage(topic, payload),
      },
    );
  }

  /** Connects (and keeps connecting) to the cluster's broker; never throws for a broker that is down. */
  static async start(config: ClusterConfig, deps: ClusterDeps): Promise<ClusterLink> {
    const password = config.password_file !== undefined ? await readPasswordFile(config.password_file) : undefined;
    const ca = config.ca !== undefined ? await readCa(config.ca) : undefined;
    const link = new ClusterLink(config, deps, { ...(password !== undefined ? { password } : {}), ...(ca !== undefined ? { ca } : {}) });
    link.broker.start();
    return link;
  }

  status(): MqttStatus {
    return this.broker.status();
  }

  /** Whether `hub` is connected to the broker now, as far as this hub heard. */
  isOnline(hub: string): boolean {
    return this.online.has(hub);
  }

  /** Passes a command to the hub holding the board and resolves with the board's reply. */
  forward(hub: string, device: string, request: JsonObject, options: CommandOptions = {}): Promise<JsonObject> {
    if (this.stopped) return Promise.reject(new HubError('shutting_down', 'the hub is stopping'));
    if (!this.broker.connected) {
      return Promise.reject(new HubError('device_offline', `${device} is linked to hub ${hub}, and this hub cannot reach the cluster's broker now; send the command through hub ${hub}, or try again`));
    }
    if (!this.online.has(hub)) {
      return Promise.reject(new HubError('device_offline', `${device} was linked to hub ${hub}, which is not connected now; the board links to another hub by itself — try again shortly`));
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const message: CommandRequest = {
      id: `${this.deps.hubId}-${this.prefix}-${this.nextId++}`,
      from: this.deps.hubId,
      device,
      request,
      timeoutMs,
      ...(options.deliverWithinMs !== undefined ? { deliverWithinMs: options.deliverWithinMs } : {}),
    };
    return new Promise((resolve, reject) => {
      const timer = this.deps.clock.setTimer(timeoutMs + ANSWER_MARGIN_MS, () => {
        this.waiting.delete(message.id);
        reject(new HubError('timeout', `hub ${hub}, which holds ${device}, did not answer within ${timeoutMs + ANSWER_MARGIN_MS} ms; the command may still reach the board, and its reply goes to the events log`));
      });
      this.waiting.set(message.id, { hub, device, resolve, reject, timer });
      this.broker.publish(this.topics.commands(hub), JSON.stringify(message), { qos: 1 });
    });
  }

  /** Tells the other hubs to read this change from the store. */
  announce(change: SharedChange): void {
    this.broker.publish(this.topics.changes(), JSON.stringify({ ...change, from: this.deps.hubId }), { qos: 1 });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [id, w] of this.waiting) {
      this.deps.clock.clearTimer(w.timer);
      w.reject(new HubError('shutting_down', 'the hub stopped before the other hub answered'));
      this.waiting.delete(id);
    }
    await this.broker.stop({ topic: this.topics.presence(this.deps.hubId), payload: 'offline' });
  }

  private async onConnected(): Promise<void> {
    await this.broker.subscribe([this.topics.commands(this.deps.hubId), this.topics.answers(this.deps.hubId), this.topics.everyPresence(), this.topics.changes()]);
    this.broker.publish(this.topics.presence(this.deps.hubId), 'online', { retain: true, qos: 1 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const presenceOf = this.topics.hubOfPresence(topic);
    if (presenceOf !== undefined) {
      const online = payload.toString() === 'online';
      // A hub that comes online has just marked the boards it held offline in the store.
      if (online && !this.online.has(presenceOf) && presenceOf !== this.deps.hubId) this.deps.changed({ kind: 'registry' }, presenceOf);
      if (online) this.online.add(presenceOf);
      else this.hubGone(presenceOf);
      return;
    }
    const body = parseJson(payload);
    if (topic === this.topics.commands(this.deps.hubId)) return this.onCommand(body);
    if (topic === this.topics.answers(this.deps.hubId)) return this.onAnswer(body);
    if (topic === this.topics.changes()) return this.onChange(body);
  }

  /** The hub's will (or goodbye) came: what waits for it will not come back through it. */
  private hubGone(hub: string): void {
    this.online.delete(hub);
    for (const [id, w] of this.waiting) {
      if (w.hub !== hub) continue;
      this.waiting.delete(id);
      this.deps.clock.clearTimer(w.timer);
      w.reject(new HubError('timeout', `hub ${hub}, which held ${w.device}, went away before it answered; the command may still have reached the board (its reply, if any, goes to the events log)`));
    }
  }

  private onCommand(body: unknown): void {
    const parsed = commandRequest.safeParse(body);
    if (!parsed.success) return this.dropped('command', parsed.error.message);
    const request = parsed.data;
    const now = this.deps.clock.now();
    // Forgotten lazily, oldest first: no timer outlives the hub.
    for (const [id, kept] of this.handled) {
      if (kept.until > now) break;
      this.handled.delete(id);
    }
    let answer = this.handled.get(request.id)?.answer;
    if (answer === undefined) {
      const options: CommandOptions = { timeoutMs: request.timeoutMs, ...(request.deliverWithinMs !== undefined ? { deliverWithinMs: request.deliverWithinMs } : {}) };
      answer = this.deps.runHere(request.device, request.request, options).then(
        (reply): CommandAnswer => ({ id: request.id, reply }),
        (err: unknown): CommandAnswer => ({ id: request.id, error: errorOf(err) }),
      );
      this.handled.set(request.id, { answer, until: now + REMEMBER_MS });
    }
    void answer.then((a) => this.broker.publish(this.topics.answers(request.from), JSON.stringify(a), { qos: 1 }));
  }

  private onAnswer(body: unknown): void {
    const parsed = commandAnswer.safeParse(body);
    if (!parsed.success) return this.dropped('answer', parsed.error.message);
    const answer = parsed.data;
    const waiting = this.waiting.get(answer.id);
    if (waiting === undefined) return; // timed out already, or a repeat
    this.waiting.delete(answer.id);
    this.deps.clock.clearTimer(waiting.timer);
    if ('reply' in answer) waiting.resolve(answer.reply);
    else waiting.reject(hubErrorOf(answer.error));
  }

  private onChange(body: unknown): void {
    const parsed = sharedChange.safeParse(body);
    if (!parsed.success) return this.dropped('change', parsed.error.message);
    const { from, ...change } = parsed.data;
    if (from === this.deps.hubId) return;
    this.deps.changed(change, from);
  }

  private dropped(what: string, why: string): void {
    this.deps.logger.warn(`cluster: dropped a ${what} message that does not parse: ${why}`);
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof HubError) return { code: err.code, message: err.message };
  return { code: 'store_unavailable', message: err instanceof Error ? err.message : String(err) };
}

/** The other hub's error as this hub's own, so that the API answers with the same code and status. */
function hubErrorOf(error: { code: string; message: string }): HubError {
  if (error.code === 'frame_too_large') return new HubError('frame_too_large', error.message);
  const code: HubErrorCode = Object.hasOwn(HUB_ERROR_CATALOGUE, error.code) ? (error.code as HubErrorCode) : 'store_unavailable';
  return new HubError(code, error.message);
}
