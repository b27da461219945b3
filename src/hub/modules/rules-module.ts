// The rules and bindings of the hub config (rules.ts), fed every update on the bus and acting
// through the facade's commands. On when the config has a rule or a binding.
import type { HubConfig } from '../config.js';
import type { HubContext, HubModule } from '../module.js';
import { RuleEngine } from '../rules.js';

export function rulesModule(config: HubConfig): HubModule | null {
  if (config.rules.length === 0 && config.bindings.length === 0) return null;
  let engine: RuleEngine | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'rules',
    start(ctx: HubContext) {
      const { facade, clock, logger } = ctx;
      const rules = new RuleEngine(config, {
        sender: facade,
        clock,
        logger,
        onFired: (rule, device, detail) => ctx.recordEvent(device, 'rule_fired', { rule, ...detail }),
        onFailed: (rule, device, detail) => ctx.recordEvent(device, 'rule_failed', { rule, ...detail }),
      });
      engine = rules;
      unsubscribe = ctx.bus.subscribe((update) => rules.handle(update));
      ctx.report('rules', () => rules.views());
      return Promise.resolve();
    },
    stop() {
      unsubscribe?.();
      engine?.close();
      return Promise.resolve();
    },
  };
}
