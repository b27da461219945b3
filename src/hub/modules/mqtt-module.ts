// The MQTT bridge (mqtt/bridge.ts): on when the hub config has an `mqtt` section.
import os from 'node:os';
import { hostPort } from '../../common/address.js';
import { TETHER_VERSION } from '../../protocol/version.js';
import { readingIntervalMs, type HubConfig } from '../config.js';
import type { HubModule } from '../module.js';
import { MqttBridge } from '../mqtt/bridge.js';

export function mqttModule(config: HubConfig): HubModule | null {
  const mqtt = config.mqtt;
  if (mqtt === undefined) return null;
  return new MqttBridge(mqtt, {
    readingIntervalMs: (board) => readingIntervalMs(config, board),
    dashboardUrl: (http) => mqtt.dashboard_url ?? defaultDashboardUrl(http),
    version: TETHER_VERSION,
  });
}

/** The dashboard as another machine (Home Assistant's) reaches it: a hub listening everywhere is known by its host name. */
function defaultDashboardUrl(http: { host: string; port: number }): string {
  const host = http.host === '0.0.0.0' || http.host === '::' ? os.hostname() : http.host;
  return `http://${hostPort(host, http.port)}/`;
}
