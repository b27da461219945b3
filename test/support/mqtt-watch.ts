// An MQTT client for the bridge's tests: it records what arrives on the topics it watches, waits
// for a message that matches, reads back what a broker retains, and publishes as Home Assistant
// or Node-RED would.
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
  properties?: Record<string, unknown>;
}

export class MqttWatch {
  readonly seen: Seen[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, at: Date.now(), ...(packet.properties !== undefined ? { properties: packet.properties } : {}) });
    });
  }

  /**
   * Connects within timeoutMs or throws. connectAsync alone can wait forever when, without
   * reconnects, the connection closes before CONNACK without an error (a broker being restarted),
   * and a test that polls through it would then hang instead of failing.
   */
  static async connect(url: string, topics: string[] = [], options: { username?: string; password?: string } = {}, timeoutMs = 5000): Promise<MqttWatch> {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: timeoutMs, ...options });
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', done);
        client.off('close', onClose);
        if (err === undefined) return resolve();
        client.end(true);
        reject(err);
      };
      const onConnect = () => done();
      const onClose = () => done(new Error(`the connection to ${url} closed before the broker's CONNACK`));
      const timer = setTimeout(() => done(new Error(`no CONNACK from ${url} within ${timeoutMs} ms`)), timeoutMs);
      client.once('connect', onConnect);
      client.once('error', done);
      client.once('close', onClose);
    });
    const watch = new MqttWatch(client);
    if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1, rap: true });
    return watch;
  }

  /** The first message (already seen or still to come) on `topic` that `match` accepts. */
  async waitFor(topic: string, match: (payload: string, seen: Seen) => boolean = () => true, timeoutMs = 5000, after = 0): Promise<Seen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.seen.find((s, i) => i >= after && s.topic === topic && match(s.payload, s));
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const last = this.seen.filter((s) => s.topic === topic).map((s) => s.payload);
        throw new Error(`no matching message on ${topic} within ${timeoutMs} ms; seen there: ${JSON.stringify(last.slice(-5))}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The latest payload seen on `topic`, or undefined. */
  latest(topic: string): string | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--) if (this.seen[i]?.topic === topic) return this.seen[i]?.payload;
    return undefined;
  }

  publish(topic: string, payload: string, options: IClientPublishOptions = {}): Promise<void> {
    return this.client.publishAsync(topic, payload, { qos: 1, ...options }).then(() => undefined);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** What the broker retains under `filter` now: a fresh client's subscription, read for `settleMs`. */
export async function retained(url: string, filter: string, settleMs = 400): Promise<Map<string, string>> {
  const watch = await MqttWatch.connect(url, [filter]);
  await new Promise((r) => setTimeout(r, settleMs));
  await watch.close();
  const out = new Map<string, string>();
  for (const s of watch.seen) if (s.retain && s.payload !== '') out.set(s.topic, s.payload);
  return out;
}
