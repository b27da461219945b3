// Retention (store/retention.ts): deletes readings and events past retention.days, and the oldest
// when the database outgrows retention.max_mb. On when either is set.
import type { HubConfig } from '../config.js';
import type { HubContext, HubModule } from '../module.js';
import { Retention } from '../store/retention.js';

/** retention.max_mb in bytes, or null without a size bound (GET /api/health shows it too). */
export function retentionMaxBytes(retention: HubConfig['retention']): number | null {
  return retention.max_mb !== undefined ? Math.round(retention.max_mb * 1e6) : null;
}

export function retentionModule(retention: HubConfig['retention']): HubModule | null {
  const maxBytes = retentionMaxBytes(retention);
  if (retention.days === 0 && maxBytes === null) return null;
  let running: Retention | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'retention',
    start(ctx: HubContext) {
      const { store, clock, logger, wallNow } = ctx;
      const pruner = new Retention(store, { days: retention.days, maxBytes }, { clock, logger, wallNow });
      running = pruner;
      unsubscribe = ctx.onStored((rows) => pruner.ingested(rows));
      pruner.start();
      return Promise.resolve();
    },
    async stop() {
      unsubscribe?.();
      await running?.stop();
    },
  };
}
