// Gets the hub writing again after its disk filled up: while the store is full, a probe write
// runs on a timer, every second at first and backing off to every few seconds, until one goes
// through. Says so in the log once when the store fills and once when it recovers.
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../device/logger.js';
import { storageFaultCode, type StorageFault } from './storage-health.js';
import type { HubStore } from './port.js';

export const PROBE_BACKOFF = { firstMs: 1000, maxMs: 8000 } as const;

export interface StorageWatchDeps {
  clock: Clock;
  logger: Logger;
  wallNow(): number;
  /** The store is writable again (after having been full). */
  recovered?(): void;
}

export interface StorageWatch {
  stop(): void;
}

/** Probes the store once now (a hub may start on a full disk), then whenever it is full. */
export function watchStorage(store: Pick<HubStore, 'health' | 'probe'>, deps: StorageWatchDeps): StorageWatch {
  const { clock, logger } = deps;
  let timer: Timer | undefined;
  let stopped = false;

  const probeLater = (delayMs: number) => {
    timer = clock.setTimer(delayMs, () => {
      timer = undefined;
      void probe().then((ok) => {
        if (stopped || ok || !store.health.full || timer !== undefined) return;
        probeLater(Math.min(delayMs * 2, PROBE_BACKOFF.maxMs));
      });
    });
  };
  const probe = async (): Promise<boolean> => {
    try {
      return await store.probe();
    } catch (err) {
      // Not the disk (a bug, or a database gone corrupt): the log says what it is.
      logger.error(`storage: the probe write failed: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };
  const changed = (fault: StorageFault | null) => {
    if (fault !== null) {
      logger.warn(
        `storage: the hub cannot write to its database (${fault.code}: ${fault.message}). Boards keep their readings until it can (none is acknowledged), ` +
          'new board links are refused and the API answers writes with 507 storage_full. Free disk space in the data folder, or bound the store with retention.max_mb; ' +
          'the hub tries again by itself.',
      );
      if (timer === undefined && !stopped) probeLater(PROBE_BACKOFF.firstMs);
      return;
    }
    if (timer !== undefined) clock.clearTimer(timer);
    timer = undefined;
    logger.info('storage: the hub can write to its database again; boards resume and send what they kept');
    deps.recovered?.();
  };

  const unsubscribe = store.health.onChange(changed);
  void probe();
  return {
    stop: () => {
      stopped = true;
      unsubscribe();
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
    },
  };
}

/**
 * Opens the store, waiting for the disk when it refuses: on a disk with no room left, SQLite
 * cannot even create the shared-memory file a WAL database is opened with. The hub then waits
 * rather than exit (a service manager would only restart it into the same wall); boards keep
 * their readings meanwhile.
 */
export async function openWhenWritable(open: () => Promise<HubStore>, deps: Pick<StorageWatchDeps, 'clock' | 'logger'>): Promise<HubStore> {
  let delayMs: number = PROBE_BACKOFF.firstMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await open();
      if (attempt > 1) deps.logger.info('storage: the database opened; the hub starts');
      return store;
    } catch (err) {
      const code = storageFaultCode(err);
      if (code === undefined) throw err;
      if (attempt === 1) {
        deps.logger.warn(
          `storage: cannot open the hub database (${code}: ${(err as Error).message}): its disk is full or failing. The hub starts once it can; ` +
            'boards keep their readings meanwhile. Free disk space in the data folder.',
        );
      }
      await deps.clock.sleep(delayMs);
      delayMs = Math.min(delayMs * 2, PROBE_BACKOFF.maxMs);
    }
  }
}

