// The MQTT bridge, a hub module (module.ts): it mirrors every exposed board onto the broker —
// Home Assistant discovery configs, availability, retained states and readings, events — and
// turns what arrives on command topics into board commands, switches held as leases
// (holds.ts). It sees the hub only through its public face (facade and bus). docs/mqtt.md is the
// contract it keeps.
import type { IPublishPacket } from 'mqtt';
import type { Timer } from '../../common/clock.js';
import { parseBoardInfo, parseBoardState, parseSensorSpecs, type BoardInfo, type BoardState, type SensorSpec } from '../../protocol/replies.js';
import type { JsonObject } from '../../protocol/json.js';
import { isObject } from '../../protocol/json.js';
import { HubError } from '../errors.js';
import type { HubContext, HubModule } from '../module.js';
import type { DeviceView, HubUpdate, StoredEvent } from '../types.js';
import { renewSeconds, type MqttConfig } from './config.js';
import { BrokerConnection, readCa, readPasswordFile } from './connection.js';
import { boardExposed, entitiesOf, hubEntities, sensorExposed, type Entity } from './entities.js';
import { HeldOutputs } from './holds.js';
import { parseSetPayload, pinStatePayloads } from './payloads.js';
import { discoverySafe, Topics } from './topics.js';

export interface MqttBridgeOptions {
  /** How often the hub has a board report its sensors (telemetry), for `expire_after`. */
  readingIntervalMs(board: string): number;
  /** The dashboard's address for Home Assistant's device links, given where the API listens. */
  dashboardUrl(http: { host: string; port: number }): string;
  version: string;
  /** First and longest wait between broker tries (tests shorten them). */
  backoff?: { firstMs: number; maxMs: number };
}

/** Home Assistant's birth message makes the hub publish its configs again, at most this often. */
const REPUBLISH_MIN_MS = 10_000;
/** How long after subscribing the retained discovery configs are read back before stale ones are cleared. */
const STALE_WINDOW_MS = 1500;
/** How long after a board failed to answer get_info or list_sensors the bridge asks again. */
const DESCRIBE_RETRY_MS = 30_000;

interface Mirror {
  info: BoardInfo | null;
  sensors: SensorSpec[] | null;
  state: BoardState | null;
  /** The boot whose info and sensors these are. */
  describedBoot: string | null;
  describing: boolean;
  /** A failed description's next try; none is made before it. */
  retryTimer: Timer | undefined;
  /** Discovery topic → entity, as last published. */
  entities: Map<string, Entity>;
}

export class MqttBridge implements HubModule {
  readonly name = 'mqtt';
  private ctx!: HubContext;
  private topics!: Topics;
  private broker: BrokerConnection | undefined;
  private holds!: HeldOutputs;
  private readonly mirrors = new Map<string, Mirror>();
  /** Topic → payload last published in this session: a retained topic is not sent again unchanged. */
  private readonly sent = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;
  private lastRepublish = -Infinity;
  private republishTimer: Timer | undefined;
  private staleTimer: Timer | undefined;
  private readonly seenConfigs = new Set<string>();
  /** Board → configs read back from the broker before the board was described: cleared then unless it still has them. */
  private readonly undecided = new Map<string, Set<string>>();
  private readingStale = false;
  private readonly refused = new Set<string>();
  /** The boards linked now, from the bus: counting them from the registry at every link change would read every board each time. */
  private readonly online = new Set<string>();
  /** Set by stop: answers still under way must not reach for a hub that is closing. */
  private stopped = false;
  /** board NUL pin → the duty a PWM output last had away from its safe value (ON restores it). */
  private readonly lastOnDuty = new Map<string, number>();

  constructor(
    private readonly config: MqttConfig,
    private readonly options: MqttBridgeOptions,
  ) {}

  async start(ctx: HubContext): Promise<void> {
    this.ctx = ctx;
    const { config } = this;
    this.topics = new Topics(config.base_topic, config.discovery_prefix, ctx.hubId);
    this.holds = new HeldOutputs({ sender: ctx.facade, clock: ctx.clock, logger: ctx.logger });
    const passwordFile = config.password_file;
    const password = passwordFile !== undefined ? await readPasswordFile(passwordFile) : undefined;
    const ca = config.ca !== undefined ? await readCa(config.ca) : undefined;
    const broker = new BrokerConnection(
      {
        url: config.url,
        clientId: config.client_id ?? `tether-${ctx.hubId}`,
        ...(config.username !== undefined ? { username: config.username } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(passwordFile !== undefined ? { rereadPassword: () => readPasswordFile(passwordFile) } : {}),
        ...(ca !== undefined ? { ca } : {}),
        will: { topic: this.topics.hubAvailability(), payload: 'offline' },
        clock: ctx.clock,
        logger: ctx.logger,
        wallNow: ctx.wallNow,
        ...(this.options.backoff !== undefined ? { backoff: this.options.backoff } : {}),
      },
      {
        connected: () => {
          this.onConnected().catch((err: unknown) => this.ctx.logger.error(`mqtt: setting up the session failed: ${err instanceof Error ? err.message : String(err)}`));
        },
        disconnected: () => this.holds.letGoAll(),
        message: (topic, payload, packet) => this.onMessage(topic, payload, packet),
      },
    );
    this.broker = broker;
    this.unsubscribe = ctx.bus.subscribe((update) => this.onUpdate(update));
    ctx.report('mqtt', () => broker.status());
    for (const view of ctx.facade.devices()) {
      if (!view.online) continue;
      this.online.add(view.id);
      void this.describe(view);
    }
    broker.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.republishTimer !== undefined) this.ctx.clock.clearTimer(this.republishTimer);
    if (this.staleTimer !== undefined) this.ctx.clock.clearTimer(this.staleTimer);
    for (const mirror of this.mirrors.values()) if (mirror.retryTimer !== undefined) this.ctx.clock.clearTimer(mirror.retryTimer);
    this.holds.close();
    await this.broker?.stop({ topic: this.topics.hubAvailability(), payload: 'offline' });
  }

  // ---- the broker side -------------------------------------------------------------------

  private async onConnected(): Promise<void> {
    const broker = this.broker;
    if (broker === undefined || this.stopped) return;
    this.sent.clear();
    await broker.subscribe(this.topics.commandSubscriptions(), { rap: true });
    if (this.stopped) return;
    if (this.config.discovery) {
      await broker.subscribe([this.topics.homeAssistantStatus()]);
      // Read back what configs this hub left on the broker, to clear the ones no longer true.
      this.seenConfigs.clear();
      this.undecided.clear();
      this.readingStale = true;
      await broker.subscribe([this.topics.discoverySubscription()]);
      if (this.stopped) return;
      if (this.staleTimer !== undefined) this.ctx.clock.clearTimer(this.staleTimer);
      this.staleTimer = this.ctx.clock.setTimer(STALE_WINDOW_MS, () => this.safely('clearing stale configs', () => this.clearStale()));
    }
    this.publishEverything();
  }

  private publishEverything(): void {
    if (this.stopped) return;
    this.lastRepublish = this.ctx.clock.now();
    this.retain(this.topics.hubAvailability(), 'online');
    if (this.config.discovery) for (const e of hubEntities(this.ctx.hubId, this.topics, this.options.version, this.options.dashboardUrl(this.ctx.httpAddress()))) this.retain(e.topic, JSON.stringify(e.config), { reliable: true });
    this.publishBoardsOnline();
    for (const view of this.ctx.facade.devices()) {
      if (!this.exposed(view.id)) continue;
      const mirror = this.mirrors.get(view.id);
      if (mirror !== undefined) this.publishDiscovery(view.id, mirror);
      this.retain(this.topics.board(view.id).availability, view.online ? 'online' : 'offline');
      this.publishBoardFacts(view);
      if (mirror?.state !== null && mirror?.state !== undefined) this.publishPinStates(view.id, mirror);
    }
    // The latest values, read once for every board, then retained like a reading would be.
    void this.ctx.facade.latestSensors().then(
      (sensors) => {
        for (const s of sensors) {
          if (this.exposed(s.device) && sensorExposed(this.config, s.device, s.sensor)) this.retain(this.topics.sensor(s.device, s.sensor, s.quantity), String(s.lastValue));
        }
      },
      (err: unknown) => this.ctx.logger.warn(`mqtt: cannot read the latest readings to publish: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** Home Assistant came (back): it needs every config again; a burst of births gets one answer. */
  private republishSoon(): void {
    if (this.republishTimer !== undefined) return;
    const wait = Math.max(0, this.lastRepublish + REPUBLISH_MIN_MS - this.ctx.clock.now());
    this.republishTimer = this.ctx.clock.setTimer(wait, () => {
      this.republishTimer = undefined;
      this.sent.clear();
      this.safely('publishing everything again', () => this.publishEverything());
    });
  }

  private clearStale(): void {
    this.staleTimer = undefined;
    if (this.stopped) return;
    this.readingStale = false;
    this.broker?.unsubscribe([this.topics.discoverySubscription()]);
    const known = new Map<string, string>();
    for (const view of this.ctx.facade.devices()) known.set(this.topics.nodeId(view.id), view.id);
    const hubNode = this.topics.nodeId('hub');
    for (const topic of this.seenConfigs) {
      const parsed = this.topics.parseDiscoveryTopic(topic);
      if (parsed === null || parsed.nodeId === hubNode) continue;
      const board = known.get(parsed.nodeId);
      const mirror = board !== undefined ? this.mirrors.get(board) : undefined;
      if (board === undefined || !this.exposed(board)) this.clearConfig(topic);
      else if (mirror !== undefined && mirror.entities.size > 0) {
        if (!mirror.entities.has(topic)) this.clearConfig(topic);
      } else {
        // Not described yet (offline, or still answering): its first description decides.
        let left = this.undecided.get(board);
        if (left === undefined) this.undecided.set(board, (left = new Set()));
        left.add(topic);
      }
    }
    this.seenConfigs.clear();
  }

  private clearConfig(topic: string): void {
    this.ctx.logger.info(`mqtt: clearing ${topic}: its entity is no longer on this hub`);
    this.retain(topic, '', { reliable: true });
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (this.readingStale && topic.endsWith('/config') && topic.startsWith(`${this.config.discovery_prefix}/`)) {
      const parsed = this.topics.parseDiscoveryTopic(topic);
      if (parsed !== null && this.topics.isOurs(parsed.nodeId) && payload.length > 0) this.seenConfigs.add(topic);
      return;
    }
    if (topic === this.topics.homeAssistantStatus()) {
      if (payload.toString('utf8') === 'online') this.republishSoon();
      return;
    }
    const command = this.topics.parseCommandTopic(topic);
    if (command === null) return;
    // An empty message is how a retained one is cleared (ours included): never a command.
    if (payload.length === 0) return;
    if (packet.retain) {
      this.ctx.logger.warn(`mqtt: ignored a retained command on ${topic}: commands are never retained (it would run again at every reconnect); cleared it from the broker`);
      this.retain(topic, '', { reliable: true });
      return;
    }
    const text = payload.toString('utf8');
    switch (command.kind) {
      case 'command':
        return void this.relayCommand(command.board, text, packet);
      case 'reset':
        if (this.exposed(command.board)) void this.send(command.board, { action: 'reset' }, 'reset');
        return;
      case 'pin-set':
      case 'pin-percentage-set':
        return this.setPin(command.board, command.pin ?? -1, text, command.kind === 'pin-percentage-set');
    }
  }

  private setPin(board: string, pin: number, text: string, percentage: boolean): void {
    const entity = this.mirrors.get(board)?.entities;
    const target = entity === undefined ? undefined : [...entity.values()].find((e) => e.pin === pin && e.holdable !== undefined);
    const holdable = target?.holdable;
    if (holdable === undefined) {
      this.ctx.logger.warn(`mqtt: ${board} pin ${pin}: not an output this hub offers over MQTT; the message was ignored`);
      return;
    }
    // The safe value the entity was built from: OFF must never guess it (a relay whose safe value is on).
    const reported = this.mirrors.get(board)?.state?.pins.find((p) => p.pin === pin);
    if (reported === undefined || reported.mode === 'input') {
      this.ctx.logger.warn(`mqtt: ${board} pin ${pin}: the board has not reported this output's state yet; the message was ignored`);
      return;
    }
    const lastOnDuty = this.lastOnDuty.get(`${board}\u0000${pin}`);
    const parsed = parseSetPayload(percentage ? 'fan' : holdable.kind, holdable.pwm, text, {
      safeValue: reported.safeValue,
      ...(lastOnDuty !== undefined ? { lastOnDuty } : {}),
    });
    if ('error' in parsed) {
      this.ctx.logger.warn(`mqtt: ${board} pin ${pin}: ${parsed.error}`);
      return;
    }
    if (!this.ctx.facade.device(board)?.online) {
      this.ctx.logger.warn(`mqtt: ${board} is not linked to the hub; pin ${pin} was not set`);
      return;
    }
    this.holds.set({ board, pin, pwm: holdable.pwm, leaseS: holdable.leaseS, renewS: renewSeconds(this.config, holdable.leaseS) }, parsed.value);
  }

  /** `<base>/<board>/command`: any protocol v1 request; the reply (or why there is none) on `…/reply`. */
  private async relayCommand(board: string, text: string, packet: IPublishPacket): Promise<void> {
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      request = undefined;
    }
    let reply: JsonObject;
    if (!isObject(request)) {
      reply = { ok: false, error: { code: 'bad_json', message: 'a command is one JSON object, a protocol v1 request such as {"action":"ping"}' } };
    } else if (!this.exposed(board)) {
      reply = failure(request, new HubError('not_found', `the hub does not offer a board ${JSON.stringify(board)} over MQTT`));
    } else {
      try {
        reply = await this.ctx.facade.command(board, request);
      } catch (err) {
        reply = failure(request, err);
      }
    }
    if (this.stopped) return;
    const body = JSON.stringify(reply);
    this.broker?.publish(this.topics.reply(board), body, { qos: 1 });
    const responseTopic = packet.properties?.responseTopic;
    if (typeof responseTopic === 'string' && !isPublishTopic(responseTopic)) {
      // A wildcard in a topic the hub publishes on is a protocol error: the broker would drop the hub.
      this.ctx.logger.warn(`mqtt: ${board}: a command asked for its reply on ${JSON.stringify(responseTopic)}, which is not a topic one can publish on; it went only to ${this.topics.reply(board)}`);
    } else if (typeof responseTopic === 'string' && this.ownsTopic(responseTopic)) {
      // The reply repeats the request: sent to one of the bridge's own topics, it would be a
      // command published with the hub's rights by a client the broker's ACLs may not allow it.
      this.ctx.logger.warn(`mqtt: ${board}: a command asked for its reply on ${responseTopic}, one of the bridge's own topics; it went only to ${this.topics.reply(board)}`);
    } else if (typeof responseTopic === 'string') {
      const correlationData = packet.properties?.correlationData;
      this.broker?.publish(responseTopic, body, { qos: 1, ...(correlationData !== undefined ? { properties: { correlationData } } : {}) });
    }
  }

  private async send(board: string, request: JsonObject, what: string): Promise<void> {
    try {
      const reply = await this.ctx.facade.command(board, request);
      if (reply['ok'] !== true) this.ctx.logger.warn(`mqtt: ${board}: ${what} refused: ${JSON.stringify(reply['error'])}`);
    } catch (err) {
      this.ctx.logger.warn(`mqtt: ${board}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---- the hub side ----------------------------------------------------------------------

  private onUpdate(update: HubUpdate): void {
    switch (update.type) {
      case 'device':
        return this.onDevice(update.device);
      case 'state':
        return this.onState(update.device, update.state);
      case 'reading':
        if (!sensorExposed(this.config, update.device, update.sensor) || !this.exposed(update.device)) return;
        // Every reading goes out, the same value included: Home Assistant's expire_after counts
        // the time since the last message, and a steady temperature is still a live sensor.
        for (const [quantity, value] of Object.entries(update.values)) this.retain(this.topics.sensor(update.device, update.sensor, quantity), String(value), { always: true });
        return;
      case 'event':
        return this.onEvent(update.device, update.event);
      case 'rollout':
        return;
    }
  }

  private onDevice(view: DeviceView): void {
    if (view.online) this.online.add(view.id);
    else {
      this.online.delete(view.id);
      this.holds.letGo(view.id);
    }
    this.publishBoardsOnline();
    if (!this.exposed(view.id)) return;
    this.retain(this.topics.board(view.id).availability, view.online ? 'online' : 'offline');
    this.publishBoardFacts(view);
    if (view.online) void this.describe(view);
  }

  private onState(board: string, body: JsonObject): void {
    const mirror = this.mirrorOf(board);
    const before = mirror.state;
    mirror.state = parseBoardState(body);
    this.holds.pins.applyBoardState(board, mirror.state);
    this.holds.noteState(board, mirror.state);
    if (mirror.describedBoot !== mirror.state.bootId && !mirror.describing) {
      const view = this.ctx.facade.device(board);
      if (view?.online === true) void this.describe(view);
    }
    if (!this.exposed(board)) return;
    if (before === null || pinShape(before) !== pinShape(mirror.state)) this.publishDiscovery(board, mirror);
    this.publishPinStates(board, mirror);
    if (mirror.state.uptimeS !== null) this.retain(this.topics.uptime(board), String(Math.round(mirror.state.uptimeS)));
  }

  private onEvent(board: string, event: StoredEvent): void {
    const { pin, value } = event.data;
    // The board restored a safe value by itself: the hold is over, and only a new command starts another.
    if (event.type === 'lease_expired' && typeof pin === 'number') {
      if (typeof value === 'number') this.holds.pins.noteExpired(board, pin, value);
      this.holds.letGo(board, pin);
    }
    if (!this.exposed(board)) return;
    this.broker?.publish(this.topics.event(board), JSON.stringify({ type: event.type, ts: event.ts, ...event.data }));
  }

  /** Asks a board that came online what it is and what it measures (once per boot). */
  private async describe(view: DeviceView): Promise<void> {
    const mirror = this.mirrorOf(view.id);
    if (mirror.describing || (mirror.describedBoot !== null && mirror.describedBoot === view.bootId)) return;
    if (mirror.retryTimer !== undefined) return;
    mirror.describing = true;
    try {
      const [info, sensors] = await Promise.all([this.ctx.facade.command(view.id, { action: 'get_info' }), this.ctx.facade.command(view.id, { action: 'list_sensors' })]);
      if (this.stopped) return;
      mirror.info = parseBoardInfo(info);
      mirror.sensors = sensors['ok'] === true ? parseSensorSpecs(sensors) : [];
      mirror.describedBoot = view.bootId;
      const state = this.ctx.facade.state(view.id);
      if (mirror.state === null && state !== null) {
        mirror.state = parseBoardState(state);
        this.holds.pins.applyBoardState(view.id, mirror.state);
      }
      if (this.exposed(view.id)) {
        this.publishDiscovery(view.id, mirror);
        if (mirror.info?.uptimeS !== null && mirror.info?.uptimeS !== undefined) this.retain(this.topics.uptime(view.id), String(Math.round(mirror.info.uptimeS)));
      }
    } catch (err) {
      // A slow board (a hub restart with every board relinking at once): tried again later,
      // spread out so that a thousand of them do not ask again in the same instant.
      const wait = Math.round(DESCRIBE_RETRY_MS * (0.5 + Math.random()));
      this.scheduleDescribe(view.id, mirror, wait);
      this.ctx.logger.debug(`mqtt: ${view.id}: cannot describe it yet (${err instanceof Error ? err.message : String(err)}); asking again in ${Math.round(wait / 1000)} s`);
    } finally {
      mirror.describing = false;
    }
    // It restarted while it was being described: describe the new boot.
    const now = this.ctx.facade.device(view.id);
    if (!this.stopped && now?.online === true && now.bootId !== mirror.describedBoot && mirror.retryTimer === undefined) void this.describe(now);
  }

  private scheduleDescribe(board: string, mirror: Mirror, wait: number): void {
    mirror.retryTimer = this.ctx.clock.setTimer(wait, () => {
      mirror.retryTimer = undefined;
      const view = this.stopped ? undefined : this.ctx.facade.device(board);
      if (view?.online === true) void this.describe(view);
    });
  }

  /** Publishes the board's configs and clears those of entities it no longer has. */
  private publishDiscovery(board: string, mirror: Mirror): void {
    if (mirror.state === null || mirror.sensors === null) return;
    const view = this.ctx.facade.device(board);
    if (view === undefined) return;
    // Only `.` is not safe in a discovery topic (node ids take letters, digits, _ and -), so
    // lab.bench would take lab_bench's node id: the board whose id is already safe keeps it.
    const safe = discoverySafe(board);
    if (safe !== board && this.ctx.facade.device(safe) !== undefined) {
      this.warnOnce(board, null, `board ${board} is not offered to Home Assistant: its discovery node id ${this.topics.nodeId(board)} is board ${safe}'s; give one of them another id`);
      return;
    }
    const { entities, refusals } = entitiesOf({
      board,
      view,
      info: mirror.info,
      state: mirror.state,
      sensors: mirror.sensors,
      config: this.config,
      hubId: this.ctx.hubId,
      topics: this.topics,
      readingIntervalMs: this.options.readingIntervalMs(board),
      dashboardUrl: this.options.dashboardUrl(this.ctx.httpAddress()),
      version: this.options.version,
    });
    for (const r of refusals) this.warnOnce(board, r.pin, r.message);
    const next = new Map(entities.map((e) => [e.topic, e]));
    if (this.config.discovery) {
      for (const topic of mirror.entities.keys()) if (!next.has(topic)) this.retain(topic, '', { reliable: true });
      for (const topic of this.undecided.get(board) ?? []) if (!next.has(topic)) this.clearConfig(topic);
      this.undecided.delete(board);
      for (const e of entities) this.retain(e.topic, JSON.stringify(e.config), { reliable: true });
    }
    mirror.entities = next;
    this.publishPinStates(board, mirror);
  }

  /** A refusal is logged once per hub run, not at every state report that rebuilds the entities. */
  private warnOnce(board: string, pin: number | null, message: string): void {
    const key = `${board}\u0000${pin ?? ''}\u0000${message}`;
    if (!this.refused.has(key)) this.ctx.logger.warn(`mqtt: ${message}`);
    this.refused.add(key);
  }

  private publishPinStates(board: string, mirror: Mirror): void {
    if (mirror.state === null) return;
    const byPin = new Map<number, Entity>();
    for (const e of mirror.entities.values()) if (e.pin !== undefined) byPin.set(e.pin, e);
    for (const pin of mirror.state.pins) {
      const entity = byPin.get(pin.pin);
      if (entity === undefined) continue;
      if (pin.mode === 'pwm' && pin.duty !== pin.safeValue) this.lastOnDuty.set(`${board}\u0000${pin.pin}`, pin.duty);
      for (const out of pinStatePayloads(pin, entity.holdable?.kind)) {
        this.retain(out.topic === 'percentage' ? this.topics.pinPercentage(board, pin.pin) : this.topics.pinState(board, pin.pin), out.payload);
      }
    }
  }

  private publishBoardFacts(view: DeviceView): void {
    if (view.rssi !== null) this.retain(this.topics.signal(view.id), String(view.rssi));
  }

  private publishBoardsOnline(): void {
    this.retain(this.topics.boardsOnline(), String(this.online.size));
  }

  /** A timer's work: a fault is logged, never thrown into the hub's event loop. */
  private safely(what: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      this.ctx.logger.error(`mqtt: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Whether a topic is under the bridge's base topic or discovery prefix. */
  private ownsTopic(topic: string): boolean {
    return [this.config.base_topic, this.config.discovery_prefix].some((root) => topic === root || topic.startsWith(`${root}/`));
  }

  private exposed(board: string): boolean {
    return boardExposed(this.config, board);
  }

  private mirrorOf(board: string): Mirror {
    let mirror = this.mirrors.get(board);
    if (mirror === undefined) {
      mirror = { info: null, sensors: null, state: null, describedBoot: null, describing: false, retryTimer: undefined, entities: new Map() };
      this.mirrors.set(board, mirror);
    }
    return mirror;
  }

  /** A retained publish, skipped when the topic already holds this payload in this session (unless `always`). */
  private retain(topic: string, payload: string, options: { reliable?: boolean; always?: boolean } = {}): void {
    if (this.broker?.connected !== true) return;
    if (options.always !== true && this.sent.get(topic) === payload) return;
    this.sent.set(topic, payload);
    this.broker.publish(topic, payload, { retain: true, qos: options.reliable === true ? 1 : 0 });
  }
}

/** MQTT's rule for a topic name one publishes on: not empty, no wildcard, no NUL, at most 65,535 bytes. */
function isPublishTopic(topic: string): boolean {
  return topic !== '' && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000') && Buffer.byteLength(topic, 'utf8') <= 65_535;
}

/** A reply for a command the hub could not pass on, in the shape of a board's (protocol.md §3.2). */
function failure(request: JsonObject, err: unknown): JsonObject {
  const error = err instanceof HubError ? { code: err.code, message: err.message } : { code: 'internal', message: err instanceof Error ? err.message : String(err) };
  return { ...request, ok: false, error };
}

/** Which pins a board has and how each is set up: a change means other entities. */
function pinShape(state: BoardState): string {
  return state.pins.map((p) => `${p.pin}:${p.mode}:${p.name ?? ''}:${'maxLeaseS' in p ? p.maxLeaseS : ''}`).join(',') + `|${state.sensors.join(',')}`;
}
