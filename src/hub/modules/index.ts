// The hub's modules, in the order they start (module.ts). Each factory reads its own config
// section and answers null when that section leaves it off; a new module is one line here.
import type { HubConfig } from '../config.js';
import type { HubModule } from '../module.js';
import { apiModule, type ApiCredentials } from './api-module.js';
import { mqttModule } from './mqtt-module.js';
import { otaModule } from './ota/ota-module.js';
import { retentionModule } from './retention-module.js';
import { rulesModule } from './rules-module.js';

export type { ApiCredentials };

export function hubModules(config: HubConfig, credentials: ApiCredentials): HubModule[] {
  const modules = [
    rulesModule(config),
    retentionModule(config.retention),
    mqttModule(config),
    otaModule(),
    // The API starts last, so that nothing is asked of the hub before every other module runs.
    apiModule(config.http, credentials),
  ];
  return modules.filter((m): m is HubModule => m !== null);
}
