// The hub's MQTT bridge, when it has one: a small line while it reaches the broker, a warning
// while it does not. GET /api/hub says so, asked once the boards list is in, every 10 s, and
// whenever the live stream comes back.
import type { Api, MqttStatus } from '../api.js';
import { hourMinute } from '../format.js';
import { useHubCheck } from '../hooks.js';

const askHub = (api: Api) => api.hub();

export function MqttStatusLine({ api, live, ready }: { api: Api; live: boolean; ready: boolean }) {
  const mqtt = useHubCheck(api, askHub, live, ready)?.mqtt;
  if (mqtt === undefined || mqtt === null) return null;
  if (mqtt.state === 'down') {
    return (
      <p class="banner" role="status" data-mqtt="down">
        {downText(mqtt)} Boards, rules and this dashboard carry on meanwhile; check that the broker runs and that mqtt.url in the hub config
        points at it.
      </p>
    );
  }
  return (
    <p class="mqtt-status" role="status" data-mqtt={mqtt.state}>
      {mqtt.state === 'connected' ? `MQTT: connected to ${mqtt.url}` : `MQTT: connecting to ${mqtt.url}…${mqtt.error !== null ? ` (the last try: ${mqtt.error})` : ''}`}
    </p>
  );
}

/** "MQTT broker unreachable since 14:02: connection refused; retrying at 14:03." */
function downText(mqtt: MqttStatus): string {
  const why = mqtt.error !== null ? `: ${mqtt.error}` : '';
  const retry = mqtt.retryAt !== null ? `; retrying at ${hourMinute(mqtt.retryAt)}` : '';
  return `MQTT broker unreachable since ${hourMinute(mqtt.since)}${why}${retry}.`;
}
