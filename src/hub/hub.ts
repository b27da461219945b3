// The hub, put together: the store under the data folder, the link server boards dial, one
// DeviceLink per registered board, the ingest queue, the rules and the HTTP API.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SystemClock, type Clock, type Timer } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import type { JsonObject } from '../protocol/codec.js';
import { TETHER_VERSION } from '../protocol/version.js';
import { ensureApiToken } from './api-token.js';
import { ensureDataFolder } from './data-folder.js';
import type { HubFacade } from './api/facade.js';
import { BUILT_DASHBOARD_DIR } from './api/dashboard.js';
import { buildApi } from './api/server.js';
import { parseHostPort, readingIntervalMs, type HubConfig } from './config.js';
import { DeviceLink, type BoardLinkDeps } from './device-link.js';
import { HubError } from './errors.js';
import { IngestQueue } from './ingest.js';
import { startLinkServer, type LinkServer } from './link-server.js';
import { PullLink } from './pull-link.js';
import { RuleEngine } from './rules.js';
import { HubStore } from './store/store.js';
import type { DeviceView, HubUpdate, StoredEvent } from './types.js';

export interface HubOptions {
  config: HubConfig;
  logger: Logger;
  clock?: Clock;
  wallNow?: () => number;
}

export interface Hub {
  readonly store: HubStore;
  readonly facade: HubFacade;
  readonly link: { host: string; port: number };
  readonly http: { host: string; port: number };
  readonly apiToken: { token: string; created: boolean; path: string };
  /** The board link for an id (created on first use); undefined when the id is not registered. */
  deviceLink(id: string): DeviceLink | undefined;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;

export async function startHub(options: HubOptions): Promise<Hub> {
  const { config, logger } = options;
  const clock = options.clock ?? new SystemClock();
  const wallNow = options.wallNow ?? (() => Date.now());
  ensureDataFolder(config.data, logger);
  const store = HubStore.open(path.join(config.data, 'tether.db'));
  store.markAllOffline(); // nobody is linked to a hub that just started
  const apiToken = ensureApiToken(config.data);

  const listeners = new Set<(u: HubUpdate) => void>();
  const publish = (update: HubUpdate) => {
    for (const listener of [...listeners]) {
      try {
        listener(update);
      } catch (err) {
        logger.error(`a hub listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  const publishEvents = (events: StoredEvent[]) => {
    for (const event of events) publish({ type: 'event', device: event.device, event });
  };
  const ingest = new IngestQueue(store, { clock, onCommitted: publishEvents });
  const record = (device: string, type: string, data: JsonObject) => publishEvents(store.commit({ readings: [], events: [{ device, ts: wallNow(), type, data }], linkStates: [] }));

  const linkDeps: BoardLinkDeps = {
    ingest,
    clock,
    logger,
    publish,
    record,
    wallNow,
    keepaliveMs: config.link.keepalive_ms,
    telemetryIntervalMs: (device) => readingIntervalMs(config, device),
    linkChanged: (device) => {
      const view = viewOf(device);
      if (view !== undefined) publish({ type: 'device', device: view });
    },
  };
  const links = new Map<string, DeviceLink>();
  const commandPrefix = `h${randomBytes(3).toString('hex')}-`;
  const deviceLink = (id: string): DeviceLink | undefined => {
    let link = links.get(id);
    if (link === undefined) {
      if (store.getDevice(id) === undefined) return undefined;
      link = new DeviceLink(id, { ...linkDeps, store, commandPrefix });
      links.set(id, link);
    }
    return link;
  };
  // Boards the hub dials (pull mode) are registered like the others, with their address.
  const pulls = new Map<string, PullLink>();
  for (const target of config.devices) {
    const address = parseHostPort(target.address);
    if (address === null) throw new HubError('bad_request', `devices: ${target.id}: address ${JSON.stringify(target.address)} is not HOST:PORT`);
    if (store.getDevice(target.id) === undefined) store.addDevice(target.id, { address: target.address });
    pulls.set(
      target.id,
      new PullLink(target.id, { ...address, ...(target.token !== undefined ? { token: target.token } : {}), tls: target.tls }, { ...linkDeps, store }),
    );
  }
  const boardLink = (id: string): Pick<DeviceLink, 'online' | 'lastState' | 'command'> | undefined => pulls.get(id) ?? deviceLink(id);
  const withLiveness = (device: DeviceView): DeviceView => {
    const online = (pulls.get(device.id) ?? links.get(device.id))?.online === true;
    // An online board was heard within its outage time, so "now" is its last-seen time.
    return { ...device, online, lastSeen: online ? wallNow() : device.lastSeen };
  };
  const viewOf = (id: string): DeviceView | undefined => {
    const device = store.getDevice(id);
    return device === undefined ? undefined : withLiveness(device);
  };

  const command: HubFacade['command'] = (deviceId, request, commandOptions) => {
    const link = boardLink(deviceId);
    if (link === undefined) return Promise.reject(new HubError('not_found', `no board ${JSON.stringify(deviceId)} is registered; list them with GET /api/devices`));
    return link.command(request, commandOptions);
  };

  const rules = new RuleEngine(config, {
    sender: { command },
    clock,
    logger,
    onFired: (rule, device, detail) => record(device, 'rule_fired', { rule, ...detail }),
  });
  listeners.add((update) => rules.handle(update));

  const facade: HubFacade = {
    command,
    devices: () => store.listDevices().map(withLiveness),
    device: viewOf,
    state: (id) => (pulls.get(id) ?? links.get(id))?.lastState ?? null,
    sensors: (id) => store.sensorsOf(id),
    latestSensors: () => store.latestSensors(),
    readings: (q) => store.queryReadings(q),
    events: (q) => store.queryEvents(q),
    rules: () => rules.views(),
    onUpdate: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  let linkServer: LinkServer | undefined;
  let api: FastifyInstance | undefined;
  let pruneTimer: Timer | undefined;
  const close = async () => {
    if (pruneTimer !== undefined) clock.clearTimer(pruneTimer);
    await api?.close();
    for (const link of links.values()) link.close();
    await Promise.all([...pulls.values()].map((pull) => pull.close()));
    await linkServer?.close();
    rules.close();
    await ingest.close();
    store.close();
  };
  try {
    linkServer = await startLinkServer({
      host: config.link.host,
      port: config.link.port,
      clock,
      logger,
      verify: (id, token) => store.verifyToken(id, token),
      attach: async (socket, hello) => {
        // A board the hub dials has no business dialing in as well.
        const link = pulls.has(hello.device_id) ? undefined : deviceLink(hello.device_id);
        if (link === undefined) socket.destroy();
        else await link.attach(socket, hello);
      },
    });
    for (const pull of pulls.values()) pull.start();
    api = await buildApi({ facade, apiToken: apiToken.token, logger, version: TETHER_VERSION, dashboardDir: BUILT_DASHBOARD_DIR });
    await api.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await close();
    throw err;
  }
  const retentionMs = config.retention_days * 24 * HOUR_MS;
  if (retentionMs > 0) {
    const prune = () => {
      const removed = store.prune(wallNow(), retentionMs);
      if (removed.readings + removed.events > 0) logger.info(`retention: removed ${removed.readings} readings and ${removed.events} events`);
      pruneTimer = clock.setTimer(HOUR_MS, prune);
    };
    prune();
  }
  const httpAddress = api.server.address();
  return {
    store,
    facade,
    link: { host: linkServer.host, port: linkServer.port },
    http: { host: config.http.host, port: typeof httpAddress === 'object' && httpAddress !== null ? httpAddress.port : config.http.port },
    apiToken,
    deviceLink,
    close,
  };
}
