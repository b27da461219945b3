// The rules and bindings (rules.ts), fed every update on the bus and acting through the facade's
// commands: the hub config file's, and those made through the API and kept in the store
// (rules/rule-book.ts). Always on, so that rules can be added through the API to a hub whose
// config file has none.
import type { HubConfig } from '../config.js';
import type { HubContext, HubModule } from '../module.js';
import { RuleEngine } from '../rules.js';
import { HubRuleBook } from '../rules/rule-book.js';

export function rulesModule(config: HubConfig): HubModule {
  let engine: RuleEngine | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'rules',
    async start(ctx: HubContext) {
      const { facade, clock, logger } = ctx;
      const rules = new RuleEngine(
        { rules: [], bindings: [] },
        {
          sender: facade,
          clock,
          logger,
          onFired: (rule, device, detail) => ctx.recordEvent(device, 'rule_fired', { rule, ...detail }),
          onFailed: (rule, device, detail) => ctx.recordEvent(device, 'rule_failed', { rule, ...detail }),
        },
      );
      engine = rules;
      // The book loads the file's rules and the stored ones into the engine.
      const book = await HubRuleBook.load({ config, store: ctx.ruleStore, engine: rules, history: facade, boardState: (device) => facade.state(device), wallNow: ctx.wallNow, shared: () => ctx.announce({ kind: 'rules' }), recordEvent: (device, type, data) => ctx.recordEvent(device, type, data), logger });
      const unsubscribeBus = ctx.bus.subscribe((update) => rules.handle(update));
      const unsubscribeShared = ctx.onShared((change) => {
        if (change.kind !== 'rules') return;
        book.reload().catch((err: unknown) => logger.error(`rules: cannot read the rules another hub changed: ${err instanceof Error ? err.message : String(err)}`));
      });
      unsubscribe = () => {
        unsubscribeBus();
        unsubscribeShared();
      };
      ctx.report('rules', book);
    },
    stop() {
      unsubscribe?.();
      engine?.close();
      return Promise.resolve();
    },
  };
}
