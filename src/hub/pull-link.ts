// Pull mode: the hub dials a board that only listens (direct mode, protocol.md §1–§9), such as
// a Pi on a fixed address, and keeps it linked with the same resilience as a board that dials
// in: reconnect with backoff and jitter, an outage found by unanswered pings, reports
// subscribed on every connection (direct-mode subscriptions end with their connection).
// Direct mode has no sequence numbers: a reading sent while the connection broke is lost.
// With a token, connect() authenticates by challenge and response: the token never crosses
// the network, the board proves it knows it too, and the connection is sealed (protocol.md §8.1).
import { connect, type BoardClient } from '../client/index.js';
import type { Timer } from '../common/clock.js';
import type { JsonObject } from '../protocol/codec.js';
import { isObject } from '../protocol/json.js';
import { parseBoardInfo } from '../protocol/replies.js';
import { Backoff, DEFAULT_BACKOFF } from '../protocol/link/backoff.js';
import { OUTAGE_FACTOR } from '../protocol/link/messages.js';
import { BoardReports, changesState, omit, reportSubscriptions, signalOf } from './board-reports.js';
import { registryWrite, type BoardLinkDeps, type DeviceLinkStore } from './device-link.js';
import { HubError } from './errors.js';

export interface PullTarget {
  host: string;
  port: number;
  token?: string;
  tls?: boolean;
}

export interface PullLinkDeps extends BoardLinkDeps {
  store: Pick<DeviceLinkStore, 'markLinked' | 'markOffline' | 'setSignal'>;
  random?: () => number;
}

export class PullLink {
  /** The connection now, also while its handshake runs. */
  private client: BoardClient | undefined;
  /** The connection whose link came up and was recorded; undefined from the moment it is lost. */
  private linked: BoardClient | undefined;
  private readonly reports: BoardReports;
  private readonly backoff: Backoff;
  /** The boot id of the last link that came up, kept while offline (as a dialing board's is). */
  private boot: string | null = null;
  private stopped = false;
  private retry: { timer: Timer; wake: () => void } | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly target: PullTarget,
    private readonly deps: PullLinkDeps,
  ) {
    this.reports = new BoardReports(id, { ...deps, stateStale: () => void this.refreshState() });
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, random: deps.random ?? Math.random });
  }

  get online(): boolean {
    return this.linked?.isOpen === true;
  }

  get bootId(): string | null {
    return this.boot;
  }

  /** Wall-clock ms at the board's uptime 0 for its current boot, from the uptime it reported; null before it did. */
  get bootedAt(): number | null {
    return this.reports.bootedAt;
  }

  /** Wall-clock ms when its current link came up; null while it has none. */
  get linkedSince(): number | null {
    return this.reports.linkedSince;
  }

  get lastState(): JsonObject | null {
    return this.reports.state;
  }

  start(): void {
    this.loop = this.run();
  }

  async command(request: JsonObject, options: { timeoutMs?: number } = {}): Promise<JsonObject> {
    const client = this.linked;
    if (this.stopped) throw new HubError('shutting_down', 'the hub is stopping');
    if (client?.isOpen !== true) {
      throw new HubError('device_offline', `${this.id} (${this.target.host}:${this.target.port}) is not connected now; the hub keeps dialing it`);
    }
    const callerId = request['id'];
    let reply: JsonObject;
    try {
      [reply] = (await client.send([omit(request, 'id')], { timeoutMs: options.timeoutMs ?? 10_000 })) as [JsonObject];
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // No sequence numbers in direct mode: whether a command lost with its connection ran is unknown.
      throw new HubError('timeout', `${this.id} did not answer: ${message}`);
    }
    if (changesState(reply)) void this.refreshState();
    return callerId === undefined ? reply : { ...reply, id: callerId };
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.retry !== undefined) {
      this.deps.clock.clearTimer(this.retry.timer);
      this.retry.wake();
    }
    await this.client?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let why: string;
      try {
        why = await this.connectOnce();
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
      if (this.stopped) break;
      const wait = this.backoff.next();
      this.deps.logger.warn(`${this.id} (${this.target.host}:${this.target.port}): ${why}; dialing again in ${wait} ms`);
      await new Promise<void>((wake) => {
        this.retry = { timer: this.deps.clock.setTimer(wait, wake), wake };
      });
      this.retry = undefined;
    }
  }

  /**
   * One connection, until it breaks; resolves with why it ended. Only a link that came up is
   * recorded, online then offline: a handshake that fails leaves no trace but the log line, so
   * the events log never has an online without its offline, nor an offline without its online.
   */
  private async connectOnce(): Promise<string> {
    const { host, port, token, tls } = this.target;
    const client = await connect({ host, port, ...(token !== undefined ? { token } : {}), ...(tls === true ? { tls: true } : {}), timeoutMs: 5000 });
    this.client = client;
    this.deps.ingest.resume(this.id); // no stream to restart: direct mode has no numbers
    if (this.stopped) {
      await client.close();
      return 'stopped';
    }
    const events = client.events();
    let info: JsonObject;
    let state: JsonObject;
    try {
      [info, state] = (await client.send([{ action: 'get_info' }, { action: 'get_state' }])) as [JsonObject, JsonObject];
      if (state['ok'] !== true) throw new Error(`get_state: ${JSON.stringify(state['error'])}`);
      const subscriptions = reportSubscriptions(state, this.deps.telemetryIntervalMs(this.id));
      const replies = await client.send(subscriptions);
      for (const r of replies) if (r['ok'] !== true) this.deps.logger.warn(`${this.id}: subscribing failed: ${JSON.stringify(r['error'])}`);
      if (!client.isOpen) throw new Error('the connection closed during the handshake');
    } catch (err) {
      events.close();
      await client.close();
      throw err;
    }
    this.backoff.reset();
    this.boot = String(state['boot_id']);
    const uptime = typeof state['uptime_s'] === 'number' ? state['uptime_s'] : 0;
    this.reports.bootEpoch = this.deps.wallNow() - uptime * 1000;
    // Set before the writes below, which run without a turn in between: the first callback is
    // record()'s publish, after its event is stored, and a listener there finds the board online.
    this.linked = client;
    const about = parseBoardInfo(info);
    const runtime = isObject(info['info']) && typeof info['info']['runtime'] === 'string' ? info['info']['runtime'] : '';
    const firmware = `tether ${about?.firmwareVersion ?? ''} (${runtime}, pull)`;
    const rssi = signalOf(info);
    const linked = this.deps.store.markLinked(this.id, { firmware, capabilities: about?.capabilities ?? [], bootId: this.boot, now: this.deps.wallNow() });
    registryWrite(this.id, this.deps, rssi === undefined ? linked : linked.then(async (ok) => (await this.deps.store.setSignal(this.id, rssi)) || ok));
    this.reports.linkedSince = this.deps.wallNow();
    this.deps.record(this.id, 'online', { boot_id: this.boot, address: `${host}:${port}` });
    this.deps.linkChanged(this.id);
    this.reports.setState(state);
    void (async () => {
      for await (const event of events) await this.reports.take(event as JsonObject, 0).catch(() => undefined);
    })();
    const why = await this.keepAlive(client);
    events.close();
    this.linked = undefined;
    registryWrite(this.id, this.deps, this.deps.store.markOffline(this.id, this.deps.wallNow()));
    this.reports.linkedSince = null;
    this.deps.record(this.id, 'offline', { reason: this.stopped ? 'hub stopping' : why });
    this.deps.linkChanged(this.id);
    return why;
  }

  /**
   * Pings when idle; resolves with why the link is down: the connection closed, or a ping went
   * unanswered for the outage time (then the close goes on in the background, so the board is
   * reported offline now, not after the close's grace time).
   */
  private keepAlive(client: BoardClient): Promise<string> {
    const outageMs = Math.round(this.deps.keepaliveMs * OUTAGE_FACTOR);
    let timer: Timer | undefined;
    return new Promise<string>((down) => {
      const tick = () => {
        client
          .send([{ action: 'ping' }], { timeoutMs: outageMs })
          .then(() => {
            if (client.isOpen) timer = this.deps.clock.setTimer(this.deps.keepaliveMs, tick);
          })
          .catch(() => {
            void client.close();
            down(`no answer to a ping within ${outageMs} ms`);
          });
      };
      timer = this.deps.clock.setTimer(this.deps.keepaliveMs, tick);
      void client.closed.then(() => down('connection lost'));
    }).finally(() => {
      if (timer !== undefined) this.deps.clock.clearTimer(timer);
    });
  }

  private async refreshState(): Promise<void> {
    try {
      const [state] = (await this.linked?.send([{ action: 'get_state' }])) ?? [];
      if (state?.['ok'] === true) this.reports.setState(state);
    } catch {
      // The next connection reads the state again.
    }
  }
}
