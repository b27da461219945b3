// The hub's runtime: the core (the store under the data folder, the ingest queue, one link per
// registered board, the link server boards dial, the storage watch and the facade), then the
// modules of modules/index.ts on a typed bus: the rules, retention, the HTTP API (module.ts).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SystemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import type { JsonObject } from '../protocol/codec.js';
import { keyOfToken } from '../protocol/auth.js';
import { encodeFrame } from '../protocol/framing.js';
import { TETHER_VERSION } from '../protocol/version.js';
import { ensureApiToken } from './api-token.js';
import { boardAdmin } from './board-admin.js';
import { runningHubBoardLink } from './board-link-material.js';
import { ensureDataFolder } from './data-folder.js';
import { fileLimitWarning, processFileLimits } from './file-limit.js';
import type { HubFacade } from './api/facade.js';
import { parseHostPort, parseHubConfig, readingIntervalMs, type HubConfig } from './config.js';
import { DeviceLink, type BoardLinkDeps } from './device-link.js';
import { HubError } from './errors.js';
import { ensureHubId } from './hub-id.js';
import { IngestQueue } from './ingest.js';
import { ensureLinkCert, type OpensslOptions } from './link-cert.js';
import { readLinkTls, startLinkServer, type LinkServer } from './link-server.js';
import { HubBus, type HubContext } from './module.js';
import { hubModules } from './modules/index.js';
import { ModuleReports, startModules, type StartedModules } from './modules/lifecycle.js';
import { retentionMaxBytes } from './modules/retention-module.js';
import { PullLink } from './pull-link.js';
import { isStorageFull } from './store/storage-health.js';
import { openWhenWritable, watchStorage } from './store/storage-watch.js';
import { HubStore } from './store/store.js';
import { withManifestMac } from './update-mac.js';
import type { DeviceRecord, DeviceView, HubInfo, StorageStatus, StoredEvent } from './types.js';

export interface HubOptions {
  config: HubConfig;
  logger: Logger;
  clock?: Clock;
  wallNow?: () => number;
  /** Opens the store at this path (fault-injection tests cap it); default HubStore.open. */
  openStore?: (file: string) => HubStore;
  /** How `link.tls: auto` runs openssl (tests hide it); default `openssl` on the hub's PATH. */
  openssl?: OpensslOptions;
}

export interface Hub {
  /** The hub's stable id (<data>/hub-id). */
  readonly hubId: string;
  readonly store: HubStore;
  readonly facade: HubFacade;
  /** Where boards dial; `fingerprint` is the link's TLS certificate's, when it speaks TLS. */
  readonly link: { host: string; port: number; fingerprint?: string };
  readonly http: { host: string; port: number };
  readonly apiToken: { token: string; created: boolean; path: string };
  /** The board link for an id (created on first use); undefined when the id is not registered. */
  deviceLink(id: string): DeviceLink | undefined;
  close(): Promise<void>;
}

export async function startHub(options: HubOptions): Promise<Hub> {
  const { config, logger } = options;
  const clock = options.clock ?? new SystemClock();
  const wallNow = options.wallNow ?? (() => Date.now());
  ensureDataFolder(config.data, logger);
  const file = path.join(config.data, 'tether.db');
  const store = await openWhenWritable(() => options.openStore?.(file) ?? HubStore.open(file, { wallNow }), { clock, logger });
  store.markAllOffline(); // nobody is linked to a hub that just started
  const filesShort = fileLimitWarning(store.listDevices().length, processFileLimits()?.soft);
  if (filesShort !== undefined) logger.warn(filesShort);
  const apiToken = ensureApiToken(config.data);
  const hubId = ensureHubId(config.data);
  const pulls = new Map<string, PullLink>();
  // Probes the store now: a hub started on a full disk refuses links and API writes from the start.
  const storageWatch = watchStorage(store, {
    clock,
    logger,
    wallNow,
    // Boards the hub dials have no stream to restart from, so nothing else would take their readings again.
    recovered: () => {
      for (const id of pulls.keys()) ingest.resume(id);
    },
  });
  const maxBytes = retentionMaxBytes(config.retention);

  const bus = new HubBus(logger);
  const publish = bus.publish.bind(bus);
  const publishEvents = (events: StoredEvent[]) => {
    for (const event of events) publish({ type: 'event', device: event.device, event });
  };
  const storedListeners = new Set<(rows: number) => void>();
  const ingest = new IngestQueue(store, {
    clock,
    onCommitted: publishEvents,
    onStored: (rows) => {
      for (const listener of [...storedListeners]) listener(rows);
    },
  });
  // The hub's own events are a log, not something a board waits on: one that cannot be stored is
  // dropped, and the write that failed must not fail the link or the rule that logged it.
  const record = (device: string, type: string, data: JsonObject) => {
    const ts = wallNow();
    let stored: StoredEvent[];
    try {
      stored = store.commit({ readings: [], events: [{ device, ts, type, data }], linkStates: [] });
    } catch (err) {
      if (isStorageFull(err)) logger.debug(`${device}: ${type} event not logged: the store is full`);
      else logger.error(`${device}: cannot log its ${type} event: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    publishEvents(stored);
  };

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
  for (const target of config.devices) {
    const address = parseHostPort(target.address);
    if (address === null) throw new HubError('bad_request', `devices: ${target.id}: address ${JSON.stringify(target.address)} is not HOST:PORT`);
    if (store.getDevice(target.id) === undefined) registerPulled(store, target.id, target.address, logger);
    pulls.set(
      target.id,
      new PullLink(target.id, { ...address, ...(target.token !== undefined ? { token: target.token } : {}), tls: target.tls }, { ...linkDeps, store }),
    );
  }
  const boardLink = (id: string): Pick<DeviceLink, 'online' | 'lastState' | 'command'> | undefined => pulls.get(id) ?? deviceLink(id);
  const withLiveness = (device: DeviceRecord): DeviceView => {
    const link = pulls.get(device.id) ?? links.get(device.id);
    if (link?.online !== true) return { ...device, online: false, linkedSince: null, bootedAt: null };
    // An online board was heard within its outage time, so "now" is its last-seen time.
    return { ...device, online: true, lastSeen: wallNow(), linkedSince: link.linkedSince, bootedAt: link.bootedAt };
  };
  const viewOf = (id: string): DeviceView | undefined => {
    const device = store.getDevice(id);
    return device === undefined ? undefined : withLiveness(device);
  };

  // The key an update's manifest_mac is made with (protocol.md §5.19): a board the hub dials
  // shares its configured token with it, one that dials in its board key.
  const boardKey = (id: string): Buffer | undefined => {
    const pulled = config.devices.find((d) => d.id === id);
    if (pulled === undefined) return store.keyOf(id);
    return pulled.token === undefined ? undefined : keyOfToken(pulled.token);
  };
  const command: HubFacade['command'] = (deviceId, request, commandOptions) => {
    // Every command is written down before it is sent (docs/hub.md): refused before asking whether the board is online.
    if (store.health.full) return Promise.reject(store.health.error());
    const link = boardLink(deviceId);
    if (link === undefined) return Promise.reject(new HubError('not_found', `no board ${JSON.stringify(deviceId)} is registered; list them with GET /api/devices`));
    return link.command(withManifestMac(request, () => boardKey(deviceId)), commandOptions);
  };

  const reports = new ModuleReports();

  const storage = (): StorageStatus => {
    const fault = store.health.fault;
    const size = store.size();
    return {
      state: fault === null ? 'ok' : 'full',
      since: fault?.since ?? null,
      error: fault === null ? null : `${fault.code}: ${fault.message}`,
      bytes: size.used + size.wal,
      maxBytes,
    };
  };

  const facade: HubFacade = {
    command,
    devices: () => store.listDevices().map(withLiveness),
    device: viewOf,
    state: (id) => (pulls.get(id) ?? links.get(id))?.lastState ?? null,
    sensors: (id) => store.sensorsOf(id),
    latestSensors: () => store.latestSensors(),
    readings: (q) => store.queryReadings(q),
    events: (q) => store.queryEvents(q),
    rules: () => reports.source('rules')?.list() ?? [],
    ruleBook: () => {
      const book = reports.source('rules');
      // The rules module starts before the API and stops after it, so a request always finds it.
      if (book === undefined) throw new Error('the rules module has not started');
      return book;
    },
    storage,
    hub: (): HubInfo => ({ id: hubId, version: TETHER_VERSION, mqtt: reports.source('mqtt')?.() ?? null }),
    rollouts: () => reports.source('rollouts')?.() ?? null,
    onUpdate: (listener) => bus.subscribe(listener),
    boards: boardAdmin({
      store,
      view: viewOf,
      isDialled: (id) => pulls.has(id),
      disconnect: (id) => links.get(id)?.disconnect(),
      forget: (id) => {
        links.get(id)?.close(new HubError('not_found', `${id} was removed from the hub before it answered`));
        links.delete(id);
      },
      material: (id, token) =>
        runningHubBoardLink(
          { config, installConfig: parseHubConfig({ data: config.data }, 'defaults'), linkPort: linkServer?.port ?? config.link.port, fingerprint: linkTls?.fingerprint, http: httpAddress() },
          id,
          token,
        ),
      record,
      changed: (id) => linkDeps.linkChanged(id),
    }),
  };

  const httpAddress = () => reports.source('http')?.() ?? { host: config.http.host, port: config.http.port };
  const context: HubContext = {
    hubId,
    facade,
    bus,
    clock,
    logger,
    wallNow,
    dataDir: config.data,
    store,
    ruleStore: store,
    rollouts: store.rollouts,
    onStored: (listener) => {
      storedListeners.add(listener);
      return () => storedListeners.delete(listener);
    },
    recordEvent: record,
    report: (key, source) => reports.report(key, source),
    httpAddress,
  };

  let linkServer: LinkServer | undefined;
  let linkTls: ReturnType<typeof readLinkTls> | undefined;
  let modules: StartedModules | undefined;
  const closeCore = async () => {
    storageWatch.stop();
    for (const link of links.values()) link.close();
    await Promise.all([...pulls.values()].map((pull) => pull.close()));
    await linkServer?.close();
    await ingest.close();
    store.close();
  };
  const close = async () => {
    await modules?.stop();
    await closeCore();
  };
  try {
    const tlsFiles = config.link.tls === 'auto' ? await ensureLinkCert(config.data, { ...options.openssl, logger }) : config.link.tls;
    linkTls = tlsFiles === undefined ? undefined : readLinkTls(tlsFiles);
    if (linkTls !== undefined) logger.info(`link: TLS; boards pin this hub's certificate with fingerprint ${linkTls.fingerprint}`);
    linkServer = await startLinkServer({
      host: config.link.host,
      port: config.link.port,
      ...(linkTls !== undefined ? { tls: linkTls.options } : {}),
      clock,
      logger,
      keyOf: (id) => store.keyOf(id),
      attach: async (socket, hello, seal, stillProven) => {
        if (store.health.full) {
          // The board keeps what it has and dials again after its backoff (protocol.md §10.1).
          socket.end(encodeFrame({ link: 'reject', error: store.health.error().toWire() }));
          return;
        }
        try {
          // A board the hub dials has no business dialing in as well.
          const link = pulls.has(hello.device_id) ? undefined : deviceLink(hello.device_id);
          if (link === undefined) socket.destroy();
          else await link.attach(socket, hello, seal, stillProven);
        } catch (err) {
          // A store write of the handshake failed (the disk filled meanwhile): this connection
          // ends, the board dials again, and its streams resume from what the store holds.
          socket.destroy();
          const message = `${hello.device_id}: link handshake failed: ${err instanceof Error ? err.message : String(err)}`;
          if (isStorageFull(err)) logger.warn(message);
          else logger.error(message);
        }
      },
    });
    for (const pull of pulls.values()) pull.start();
    // A module that fails to start has stopped the ones before it (lifecycle.ts); the core follows.
    modules = await startModules(hubModules(config, { adminToken: apiToken.token, tokens: store.apiTokens }), context);
  } catch (err) {
    await closeCore();
    throw err;
  }
  return {
    hubId,
    store,
    facade,
    link: { host: linkServer.host, port: linkServer.port, ...(linkTls !== undefined ? { fingerprint: linkTls.fingerprint } : {}) },
    http: httpAddress(),
    apiToken,
    deviceLink,
    close,
  };
}

/** A board the hub dials, registered at its first start; with a full store, at the next start that can. */
function registerPulled(store: HubStore, id: string, address: string, logger: Logger): void {
  try {
    store.addDevice(id, { address });
  } catch (err) {
    if (!isStorageFull(err)) throw err;
    logger.warn(`devices: ${id}: not registered yet, the store is full; the hub dials it anyway and registers it at a start when it can write`);
  }
}
