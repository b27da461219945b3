// The hub's runtime: the core (the store under the data folder, the ingest queue, one link per
// registered board, the link server boards dial, the storage watch and the facade), then the
// modules of modules/index.ts on a typed bus: the rules, retention, the HTTP API (module.ts).
import path from 'node:path';
import { SystemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import type { JsonObject } from '../protocol/codec.js';
import { encodeFrame } from '../protocol/framing.js';
import { TETHER_VERSION } from '../protocol/version.js';
import { ensureApiToken } from './api-token.js';
import { boardAdmin } from './board-admin.js';
import { runningHubBoardLink } from './board-link-material.js';
import { ensureDataFolder } from './data-folder.js';
import { cpusForHub, hasSpareCore, nodeFlagsWarning } from './cpu-share.js';
import { fileLimitWarning, processFileLimits } from './file-limit.js';
import type { HubFacade } from './api/facade.js';
import { parseHostPort, parseHubConfig, readingIntervalMs, type HubConfig } from './config.js';
import type { DeviceLink } from './device-link.js';
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
import type { HubStore, StoreOptions } from './store/port.js';
import { openConfiguredStore, SQLITE_FILE } from './store/open-store.js';
import { RegistryView } from './registry-view.js';
import { BoardDirectory } from './board-directory.js';
import { ClusterLink } from './cluster/cluster-link.js';
import type { SharedChange } from './cluster/messages.js';
import type { HubInfo, StorageStatus, StoredEvent } from './types.js';

export interface HubOptions {
  config: HubConfig;
  logger: Logger;
  clock?: Clock;
  wallNow?: () => number;
  /** Opens the store (fault-injection tests cap it; tests share one); default the config's (open-store.ts). */
  openStore?: (file: string, options: StoreOptions) => HubStore | Promise<HubStore>;
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
  deviceLink(id: string): Promise<DeviceLink | undefined>;
  close(): Promise<void>;
}

export async function startHub(options: HubOptions): Promise<Hub> {
  const { config, logger } = options;
  const clock = options.clock ?? new SystemClock();
  const wallNow = options.wallNow ?? (() => Date.now());
  ensureDataFolder(config.data, logger);
  const file = path.join(config.data, SQLITE_FILE);
  const hubId = ensureHubId(config.data);
  const storeOptions: StoreOptions = { wallNow, hubId };
  const cpus = cpusForHub();
  const store = await openWhenWritable(async () => (await options.openStore?.(file, storeOptions)) ?? openConfiguredStore(config, { ...storeOptions, backgroundCheckpoint: hasSpareCore(cpus) }), { clock, logger });
  await store.markAllOffline(); // nobody is linked to a hub that just started
  const registry = await RegistryView.load(store);
  const filesShort = fileLimitWarning(registry.list().length, processFileLimits()?.soft);
  if (filesShort !== undefined) logger.warn(filesShort);
  const flagsMissing = nodeFlagsWarning(cpus, process.execArgv);
  if (flagsMissing !== undefined) logger.warn(flagsMissing);
  const apiToken = ensureApiToken(config.data);
  // Hubs sharing the store (docs/scaling.md): commands for boards another hub holds and changes
  // to shared data go through the cluster's broker.
  let cluster: ClusterLink | undefined;
  const sharedListeners = new Set<(change: SharedChange) => void>();
  // Probes the store now: a hub started on a full disk refuses links and API writes from the start.
  const storageWatch = watchStorage(store, {
    clock,
    logger,
    wallNow,
    // Boards the hub dials have no stream to restart from, so nothing else would take their readings again.
    recovered: () => {
      for (const id of boards.pulls.keys()) ingest.resume(id);
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
  const logging = new Set<Promise<void>>();
  const record = (device: string, type: string, data: JsonObject) => {
    const ts = wallNow();
    const logged = store.commit({ readings: [], events: [{ device, ts, type, data }], linkStates: [] }).then(publishEvents, (err: unknown) => {
      if (isStorageFull(err)) logger.debug(`${device}: ${type} event not logged: the store is full`);
      else logger.error(`${device}: cannot log its ${type} event: ${err instanceof Error ? err.message : String(err)}`);
    });
    logging.add(logged);
    void logged.finally(() => logging.delete(logged));
  };

  const boards = new BoardDirectory({
    hubId,
    store,
    registry,
    linkDeps: {
      ingest,
      clock,
      logger,
      publish,
      record,
      wallNow,
      keepaliveMs: config.link.keepalive_ms,
      telemetryIntervalMs: (device) => readingIntervalMs(config, device),
      shared: config.cluster !== undefined,
    },
    pulled: config.devices,
    cluster: () => cluster,
  });
  const { pulls } = boards;
  const unwatchRegistry = store.onRegistryWrite((id) => boards.registryWritten(id));
  // Boards the hub dials (pull mode) are registered like the others, with their address.
  for (const target of config.devices) {
    const address = parseHostPort(target.address);
    if (address === null) throw new HubError('bad_request', `devices: ${target.id}: address ${JSON.stringify(target.address)} is not HOST:PORT`);
    if (registry.get(target.id) === undefined && (await registerPulled(store, target.id, target.address, logger))) await registry.refresh(target.id);
    pulls.set(
      target.id,
      new PullLink(target.id, { ...address, ...(target.token !== undefined ? { token: target.token } : {}), tls: target.tls }, { ...boards.linkDeps, store }),
    );
  }
  /** Another hub of the cluster changed shared data: this hub reads it again from the store. */
  const sharedChanged = (change: SharedChange, from: string) => {
    for (const listener of [...sharedListeners]) listener(change);
    if (change.kind === 'board') boards.sharedChanged(change, from);
    // A hub (re)started and marked its boards offline: the registry is read again.
    if (change.kind === 'registry') registry.reload().catch((err: unknown) => logger.error(`cluster: cannot read the registry again after hub ${from} started: ${err instanceof Error ? err.message : String(err)}`));
  };

  const reports = new ModuleReports();

  const storage = async (): Promise<StorageStatus> => {
    const fault = store.health.fault;
    const size = await store.size();
    return {
      state: fault === null ? 'ok' : 'full',
      since: fault?.since ?? null,
      error: fault === null ? null : `${fault.code}: ${fault.message}`,
      bytes: size.used + size.wal,
      maxBytes,
    };
  };

  const facade: HubFacade = {
    command: (id, request, options) => boards.command(id, request, options),
    devices: () => boards.views(),
    device: (id) => boards.view(id),
    state: (id) => boards.linkOf(id)?.lastState ?? null,
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
      registry,
      view: (id) => boards.view(id),
      isDialled: (id) => pulls.has(id),
      disconnect: (id) => {
        boards.keyChanged(id);
        boards.disconnect(id);
        cluster?.announce({ kind: 'board', device: id, what: 'rotated' });
      },
      forget: (id) => {
        boards.keyChanged(id);
        boards.drop(id, new HubError('not_found', `${id} was removed from the hub before it answered`));
        cluster?.announce({ kind: 'board', device: id, what: 'removed' });
      },
      material: (id, token) =>
        runningHubBoardLink(
          { config, installConfig: parseHubConfig({ data: config.data }, 'defaults'), linkPort: linkServer?.port ?? config.link.port, fingerprint: linkTls?.fingerprint, http: httpAddress() },
          id,
          token,
        ),
      record,
      newBoard: (id) => cluster?.announce({ kind: 'board', device: id, what: 'registered' }),
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
    announce: (change) => cluster?.announce(change),
    onShared: (listener) => {
      sharedListeners.add(listener);
      return () => sharedListeners.delete(listener);
    },
    report: (key, source) => reports.report(key, source),
    httpAddress,
  };

  let linkServer: LinkServer | undefined;
  let linkTls: ReturnType<typeof readLinkTls> | undefined;
  let modules: StartedModules | undefined;
  const closeCore = async () => {
    storageWatch.stop();
    unwatchRegistry();
    boards.closeAll();
    await Promise.all([...pulls.values()].map((pull) => pull.close()));
    await linkServer?.close();
    await cluster?.stop();
    await ingest.close();
    // What the closing links still write (their offline events, registry reads) goes first: a
    // few rounds, as one may start another.
    for (let round = 0; round < 3; round++) await Promise.allSettled([...logging, boards.idle()]);
    await store.close();
  };
  const close = async () => {
    await modules?.stop();
    await closeCore();
  };
  try {
    const tlsFiles = config.link.tls === 'auto' ? await ensureLinkCert(config.data, { ...options.openssl, logger }) : config.link.tls;
    linkTls = tlsFiles === undefined ? undefined : readLinkTls(tlsFiles);
    if (linkTls !== undefined) logger.info(`link: TLS; boards pin this hub's certificate with fingerprint ${linkTls.fingerprint}`);
    if (config.cluster !== undefined) cluster = await ClusterLink.start(config.cluster, { hubId, clock, logger, wallNow, runHere: boards.commandHere, changed: sharedChanged });
    linkServer = await startLinkServer({
      host: config.link.host,
      port: config.link.port,
      ...(linkTls !== undefined ? { tls: linkTls.options } : {}),
      clock,
      logger,
      keyOf: (id) => store.keyOf(id),
      keyChanges: (id) => boards.keyChanges(id),
      attach: async (socket, hello, seal, stillProven) => {
        if (store.health.full) {
          // The board keeps what it has and dials again after its backoff (protocol.md §10.1).
          socket.end(encodeFrame({ link: 'reject', error: store.health.error().toWire() }));
          return;
        }
        try {
          // A board the hub dials has no business dialing in as well.
          const link = pulls.has(hello.device_id) ? undefined : await boards.deviceLink(hello.device_id);
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
    deviceLink: (id) => boards.deviceLink(id),
    close,
  };
}

/** A board the hub dials, registered at its first start; with a full store, at the next start that can. */
async function registerPulled(store: HubStore, id: string, address: string, logger: Logger): Promise<boolean> {
  try {
    await store.addDevice(id, { address });
    return true;
  } catch (err) {
    if (!isStorageFull(err)) throw err;
    logger.warn(`devices: ${id}: not registered yet, the store is full; the hub dials it anyway and registers it at a start when it can write`);
    return false;
  }
}
