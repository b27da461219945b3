// The shape every hub part beyond the core takes (the API, the rules, retention, the MQTT
// bridge): a module is started with the hub's public face and stopped before the core closes.
// A module sees boards only through the facade and the bus, so each can be tested against a
// fake hub and none reaches into another.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../device/logger.js';
import type { HubFacade } from './api/facade.js';
import type { HubUpdate } from './types.js';

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
}

export interface HubModule {
  /** Its config section's name, used in log lines. */
  readonly name: string;
  start(ctx: HubContext): Promise<void>;
  /** Stops what it started; called once, before the hub's store closes. */
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
