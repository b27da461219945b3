// The bridge's one connection to its broker, kept up for as long as the hub runs: a broker that
// is down, unreachable or refuses the hub is tried again after a delay that doubles from 1 s to
// 60 s (with jitter, so hubs restarted together do not knock in step), and what happened is kept
// as an MqttStatus for the API and the dashboard. It never throws at the hub.
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../device/logger.js';
import type { MqttStatus } from '../types.js';

export interface BrokerOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** Reads the password again before each retry, so that a corrected password file needs no hub restart. */
  rereadPassword?: () => Promise<string>;
  /** PEM text of the CA for mqtts:// */
  ca?: string;
  /** The hub's will: published retained by the broker when the hub dies without saying goodbye. */
  will: { topic: string; payload: string };
  clock: Clock;
  logger: Logger;
  wallNow: () => number;
  /** First and longest wait between tries, ms (tests shorten them). */
  backoff?: { firstMs: number; maxMs: number };
}

export interface BrokerEvents {
  /** A new session (the first or after an outage): subscribe and publish everything again. */
  connected(): void;
  /** The session ended; nothing published reaches anyone until `connected` again. */
  disconnected(): void;
  message(topic: string, payload: Buffer, packet: IPublishPacket): void;
}

const BACKOFF = { firstMs: 1000, maxMs: 60_000 };
const STABLE_SESSION_MS = 30_000;
/** How long stop() waits for the broker: for the goodbye's acknowledgement, then for the close. */
const STOP_WAIT_MS = 2000;

export class BrokerConnection {
  private client: MqttClient | undefined;
  private retryTimer: Timer | undefined;
  private attempt = 0;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private wasConnected = false;
  private connectedAt = 0;
  private current: MqttStatus;

  constructor(
    private readonly options: BrokerOptions,
    private readonly events: BrokerEvents,
  ) {
    this.current = { state: 'connecting', url: options.url, since: options.wallNow(), error: null, retryAt: null };
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  status(): MqttStatus {
    return { ...this.current };
  }

  start(): void {
    const { options } = this;
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      protocolVersion: 5,
      clean: true,
      // Reconnects are this class's (with backoff); MQTT.js's own retry every period would not back off.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
      // A publish made while the broker is away is stale by the time it comes back: everything is
      // published afresh on each connect instead.
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: options.will.topic, payload: Buffer.from(options.will.payload), retain: true, qos: 1 },
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    };
    const client = mqtt.connect(options.url, clientOptions);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('error', (err) => this.noteError(describe(err)));
    client.on('close', () => this.onClose());
    client.on('message', (topic, payload, packet) => {
      if (this.stopped) return;
      try {
        this.events.message(topic, payload, packet);
      } catch (err) {
        this.options.logger.error(`mqtt: handling a message on ${topic} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  publish(topic: string, payload: string | Buffer, publishOptions: IClientPublishOptions = {}): void {
    if (!this.connected) return;
    this.client?.publish(topic, payload, publishOptions, (err) => {
      if (err && !this.stopped) this.options.logger.debug(`mqtt: publish on ${topic} failed: ${err.message}`);
    });
  }

  subscribe(topics: string[], subscribeOptions: { rap?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.connected) return Promise.resolve();
    return new Promise((resolve) => {
      client.subscribe(topics, { qos: 1, ...(subscribeOptions.rap === true ? { rap: true } : {}) }, (err) => {
        if (err && !this.stopped) this.options.logger.warn(`mqtt: subscribing to ${topics.join(', ')} failed: ${err.message}`);
        resolve();
      });
    });
  }

  unsubscribe(topics: string[]): void {
    if (this.connected) this.client?.unsubscribe(topics);
  }

  /** Publishes `goodbye` (retained) and disconnects; no more tries. A second call gets the first's. */
  stop(goodbye?: { topic: string; payload: string }): Promise<void> {
    return (this.stopping ??= this.end(goodbye));
  }

  private async end(goodbye: { topic: string; payload: string } | undefined): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.options.clock.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    if (client === undefined) return;
    if (goodbye !== undefined && client.connected) {
      await withinMs(STOP_WAIT_MS, new Promise<void>((resolve) => client.publish(goodbye.topic, goodbye.payload, { retain: true, qos: 1 }, () => resolve())));
    }
    // MQTT.js ends gracefully only once the broker has acknowledged every QoS 1 message sent, so
    // one it never will (a broker gone silent, or a message carried over a reconnect) would hold
    // the hub's shutdown for good. Then the socket is closed instead: the broker publishes the
    // will, which says what the goodbye would have.
    const graceful = client.connected && Object.keys(client.outgoing).length === 0;
    await withinMs(STOP_WAIT_MS, client.endAsync(!graceful));
    if (!client.disconnected) client.stream.destroy();
  }

  private onConnect(): void {
    // Small messages both ways (commands passed between hubs, their answers): no Nagle delay.
    const socket = this.client?.stream as { setNoDelay?: (on: boolean) => void } | undefined;
    socket?.setNoDelay?.(true);
    this.wasConnected = true;
    this.connectedAt = this.options.clock.now();
    if (this.current.state !== 'connected') this.options.logger.info(`mqtt: connected to ${this.options.url}`);
    this.current = { state: 'connected', url: this.options.url, since: this.options.wallNow(), error: null, retryAt: null };
    this.events.connected();
  }

  private noteError(message: string): void {
    if (this.stopped) return;
    if (message !== this.current.error) this.options.logger.warn(`mqtt: ${this.options.url}: ${message}`);
    this.current = { ...this.current, error: message };
  }

  private onClose(): void {
    if (this.stopped) return;
    if (this.wasConnected) {
      this.wasConnected = false;
      // A broker that takes the hub and drops it again at once (a client id taken twice, an ACL)
      // keeps the delay growing; only a session that lasted starts the next tries from 1 s.
      if (this.options.clock.now() - this.connectedAt >= STABLE_SESSION_MS) this.attempt = 0;
      if (this.current.error === null) this.current = { ...this.current, error: 'the broker closed the connection' };
      this.options.logger.warn(`mqtt: lost the broker at ${this.options.url} (${this.current.error}); trying again`);
      this.events.disconnected();
    }
    if (this.retryTimer !== undefined) return;
    const { firstMs, maxMs } = this.options.backoff ?? BACKOFF;
    const base = Math.min(maxMs, firstMs * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.attempt += 1;
    const now = this.options.wallNow();
    this.current = { state: 'down', url: this.options.url, since: this.current.state === 'down' ? this.current.since : now, error: this.current.error, retryAt: now + delay };
    this.retryTimer = this.options.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.current = { ...this.current, state: 'connecting', retryAt: null };
      void this.retry();
    });
  }

  private async retry(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    if (this.options.rereadPassword !== undefined) {
      try {
        client.options.password = await this.options.rereadPassword();
      } catch (err) {
        // Kept as it was: the file is being rewritten, or went; the error says which.
        this.noteError(err instanceof Error ? err.message : String(err));
      }
    }
    if (!this.stopped) client.reconnect();
  }
}

/** Resolves when `work` settles or after ms, whichever is first; real time, as the socket's is. */
function withinMs(ms: number, work: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    work.then(done, done);
  });
}

/** The broker's password: the first line of mqtt.password_file, read once at start. */
export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`mqtt.password_file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); write the broker password in it, readable by the hub's user only`, { cause: err });
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new Error(`mqtt.password_file: ${file} is empty; write the broker password on its first line`);
  return line;
}

/** The CA of mqtt.ca, PEM text, read once at start. */
export async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`mqtt.ca: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); give the PEM file of the CA that signed the broker's certificate`, { cause: err });
  }
}

/** What went wrong, in words that say what to check. */
function describe(err: Error & { code?: unknown }): string {
  const code = typeof err.code === 'string' ? err.code : typeof err.code === 'number' ? err.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused: is the broker running and listening there?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the broker host name does not resolve';
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'the broker does not answer (network unreachable or filtered)';
  // CONNACK refusals: 4/5 in MQTT 3.1.1, 134/135 in MQTT 5.
  if (code === 4 || code === 5 || code === 134 || code === 135) return `the broker refused the hub's credentials (${err.message}); check mqtt.username and mqtt.password_file`;
  return err.message;
}
