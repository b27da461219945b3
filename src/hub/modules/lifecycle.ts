// Starting and stopping the hub's modules as one: in order, and in reverse order, so that a
// module may count on the ones before it for as long as it runs.
import type { Logger } from '../../device/logger.js';
import type { HubContext, HubModule, HubReports } from '../module.js';

export interface StartedModules {
  /** Stops every module, last started first; one that fails to stop is logged and the others still stop. */
  stop(): Promise<void>;
}

/** Starts each module in turn; when one fails, stops those already started and rejects with its error. */
export async function startModules(modules: readonly HubModule[], ctx: HubContext): Promise<StartedModules> {
  const started: HubModule[] = [];
  const stop = () => stopAll(started, ctx.logger);
  for (const module of modules) {
    try {
      await module.start(ctx);
    } catch (err) {
      ctx.logger.debug(`${module.name}: did not start; stopping the modules started before it`);
      await stop();
      throw err;
    }
    started.push(module);
  }
  return { stop };
}

async function stopAll(started: HubModule[], logger: Pick<Logger, 'error'>): Promise<void> {
  while (started.length > 0) {
    const module = started.pop();
    try {
      await module?.stop();
    } catch (err) {
      logger.error(`${module?.name ?? 'a module'}: failed to stop: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** What the modules reported (HubReports), each key by one module. */
export class ModuleReports {
  private readonly sources: Partial<HubReports> = {};

  report<K extends keyof HubReports>(key: K, source: HubReports[K]): void {
    if (this.sources[key] !== undefined) throw new Error(`two hub modules report ${key}; each key of HubReports (module.ts) belongs to one module`);
    this.sources[key] = source;
  }

  /** The source reported for `key`, or undefined while no module reports it. */
  source<K extends keyof HubReports>(key: K): HubReports[K] | undefined {
    return this.sources[key];
  }
}
