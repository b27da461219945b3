// The shape every hub part beyond the core takes (the API, the rules, retention, the MQTT
// bridge): a module is started with the hub's context once the core runs, and stopped before the
// core closes. The runtime (hub.ts) owns the store, ingest, board links, the link server and the
// facade; a module reads and commands boards only through the facade and the bus, so each can be
// tested against a fake hub and none reaches into another. The list of modules is
// modules/index.ts's hubModules.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import type { JsonObject } from '../protocol/codec.js';
import type { HubFacade } from './api/facade.js';
import type { RolloutStore } from './store/port.js';
import type { HubStore } from './store/port.js';
import type { RuleStorePort } from './rules/rule-book.js';
import type { HubUpdate, MqttStatus, RolloutControl, RuleBook } from './types.js';
import type { SharedChange } from './cluster/messages.js';

/**
 * What a module may report to the runtime, each key answered by one module at most. The facade
 * shows them: `rules` in the /api/rules routes (the rules module always reports it), `mqtt` in
 * GET /api/hub (none: null); `http` is the Hub's `http`, where the API listens.
 */
export interface HubReports {
  rules: RuleBook;
  mqtt: () => MqttStatus;
  http: () => { host: string; port: number };
  /** The firmware rollouts (the ota module); the facade's rollouts(). */
  rollouts: () => RolloutControl;
}

/** The store's upkeep (retention): what it takes on disk, and deleting its oldest rows. */
export type StoreUpkeep = Pick<HubStore, 'prune' | 'pruneOldest' | 'size' | 'checkpoint'>;

export interface HubContext {
  /** The hub's stable id (hub-id.ts). */
  readonly hubId: string;
  /** Boards, their state and readings, and commands to them. */
  readonly facade: HubFacade;
  readonly bus: HubBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly wallNow: () => number;
  /** The hub's data folder, for files a module keeps. */
  readonly dataDir: string;
  readonly store: StoreUpkeep;
  /** The rules made through the API (store/rules.ts); only the rules module writes them. */
  readonly ruleStore: RuleStorePort;
  /** The firmware rollouts' tables (the ota module's). */
  readonly rollouts: RolloutStore;
  /** Calls the listener with the number of rows (readings and events) each ingest commit stored, until the returned function is called. */
  onStored(listener: (rows: number) => void): () => void;
  /**
   * Stores a hub event for a board (such as `rule_fired`) and publishes it on the bus. Never
   * throws: one that cannot be stored (a full disk) is logged and dropped, since the hub's own
   * events are a log nobody waits on.
   */
  recordEvent(device: string, type: string, data: JsonObject): void;
  /** Where the HTTP API and dashboard listen (its configured address until the API module listens). */
  httpAddress(): { host: string; port: number };
  /** Tells the other hubs sharing the store that this hub changed shared data; nothing on a hub alone. */
  announce(change: SharedChange): void;
  /** Calls the listener when another hub sharing the store changed shared data, until the returned function is called. */
  onShared(listener: (change: SharedChange) => void): () => void;
  /** Makes `source` answer for `key` from now on; throws when another module reports it already. */
  report<K extends keyof HubReports>(key: K, source: HubReports[K]): void;
}

export interface HubModule {
  /** Its config section's name, used in log lines. */
  readonly name: string;
  /**
   * Called once the core runs, in hubModules' order. Updates published before it are not
   * replayed: read what the module needs from the facade. A start that rejects must leave nothing
   * of its own running; startHub then stops the modules started before it, closes the core and
   * rejects with that error, so it says what failed and what to do next.
   */
  start(ctx: HubContext): Promise<void>;
  /** Stops what it started; called once, in reverse order, before the hub's store closes. */
  stop(): Promise<void>;
}

/** Every HubUpdate, to every listener, in the order published; a listener that throws is logged and skipped. */
export class HubBus {
  private readonly listeners = new Set<(update: HubUpdate) => void>();

  constructor(private readonly logger: Pick<Logger, 'error'>) {}

  publish(update: HubUpdate): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(update);
      } catch (err) {
        this.logger.error(`a hub listener failed on a ${update.type} update: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Calls the listener with every later update until the returned function is called. */
  subscribe(listener: (update: HubUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
