// The hub config's `mqtt:` section (docs/hub-config.md "MQTT bridge"): where the broker is, how
// the hub signs in, which topics it uses, which boards and pins it shows Home Assistant and how,
// and how long a switch held from MQTT may stay on without the hub (its lease).
import { z } from 'zod';
import { DEVICE_ID, leaseSeconds } from '../config-fields.js';

export const OUTPUT_KINDS = ['switch', 'light', 'fan', 'number'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export const MQTT_LEASE_S_DEFAULT = 30;

// MQTT topic levels may hold anything but the wildcards; an empty level or a leading or trailing
// slash would make topics that match nothing the docs describe.
const TOPIC_ROOT = /^[^+#/\s][^+#\s]*(?<!\/)$/;
export const topicRoot = z
  .string({ error: 'expected a topic such as "tether"' })
  .regex(TOPIC_ROOT, { error: 'expected a topic without + or #, spaces, or a slash at either end' })
  .refine((t) => !t.includes('//'), { error: 'expected a topic without an empty level (//)' });

export const brokerUrl = z.string({ error: 'expected a broker URL such as mqtt://127.0.0.1:1883' }).superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a broker URL such as mqtt://127.0.0.1:1883 or mqtts://broker.lan:8883' });
    return;
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') ctx.addIssue({ code: 'custom', message: `expected mqtt:// or mqtts://, not ${url.protocol}//` });
  else if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'expected a host, as in mqtt://127.0.0.1:1883' });
  // A URL is shown in logs and in GET /api/hub; a password in it would be shown with it.
  if (url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'put the user in mqtt.username and the password in a file named by mqtt.password_file, not in the URL' });
});

/** How one pin shows in Home Assistant; keys of `pins.<board>` are a pin number or its name. */
const pinSettings = z.strictObject({
  /** false: not shown at all. */
  expose: z.boolean().default(true),
  /** An output's entity: switch (digital, default), number (PWM, default), light or fan (either). */
  as: z.enum(OUTPUT_KINDS, { error: `expected ${OUTPUT_KINDS.join(', ')}` }).optional(),
  /** An input's binary_sensor device_class (motion, door, window, …); inputs named like pir or motion are motion. */
  device_class: z.string().regex(/^[a-z_]{1,32}$/, { error: 'expected a Home Assistant device class such as motion or door' }).optional(),
  /** This output's lease, instead of mqtt.lease_s. */
  lease_s: leaseSeconds.optional(),
});

const sensorSettings = z.strictObject({ expose: z.boolean().default(true) });

export const mqttSchema = z.strictObject({
  url: brokerUrl,
  username: z.string().min(1, { error: 'expected a user name' }).optional(),
  /** A file holding the password (its first line): a password never goes on a command line or into a config others read. */
  password_file: z.string().min(1, { error: 'expected a file' }).optional(),
  /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
  ca: z.string().min(1, { error: 'expected a PEM file' }).optional(),
  /** Default tether-<hub id>: two hubs on one broker must not share one, or the broker disconnects each in turn. */
  client_id: z.string().min(1).max(128).optional(),
  base_topic: topicRoot.default('tether'),
  discovery_prefix: topicRoot.default('homeassistant'),
  discovery: z.boolean().default(true),
  /** The dashboard's address as Home Assistant should link to it; default from http.host and http.port. */
  dashboard_url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  /** How long a switch turned on from MQTT stays on without the hub renewing it. */
  lease_s: leaseSeconds.default(MQTT_LEASE_S_DEFAULT),
  /** How often the hub renews a held output; default a third of its lease, so two renewals can fail before it lapses. */
  renew_s: z.number({ error: 'expected a number of seconds' }).positive({ error: 'expected a number of seconds > 0' }).optional(),
  /** Boards shown: all (default) or a list of ids. */
  boards: z.union([z.literal('all'), z.array(z.string().regex(DEVICE_ID, { error: 'expected a device id' }))], { error: 'expected all or a list of device ids' }).default('all'),
  pins: z.record(z.string(), z.record(z.string(), pinSettings)).default({}),
  sensors: z.record(z.string(), z.record(z.string(), sensorSettings)).default({}),
});

export type MqttConfig = z.output<typeof mqttSchema>;
export type PinSettings = z.output<typeof pinSettings>;

/** The renewal period of an output held from MQTT, in seconds. */
export function renewSeconds(cfg: Pick<MqttConfig, 'renew_s'>, leaseS: number): number {
  return cfg.renew_s ?? leaseS / 3;
}

/** The checks that need more than one field: every lease must outlast its renewal period. */
export function checkMqtt(cfg: MqttConfig, issue: (path: (string | number)[], message: string) => void): void {
  for (const key of [...Object.keys(cfg.pins), ...Object.keys(cfg.sensors)]) {
    if (!DEVICE_ID.test(key)) issue([Object.hasOwn(cfg.pins, key) ? 'pins' : 'sensors', key], 'expected a device id: 1–64 letters, digits, _ . or -');
  }
  // At most half the lease: one renewal may be late or lost and the next still lands before it ends.
  const tooShort = (leaseS: number) => cfg.renew_s !== undefined && cfg.renew_s > leaseS / 2;
  if (tooShort(cfg.lease_s)) issue(['lease_s'], `a lease of ${cfg.lease_s} s renewed every ${cfg.renew_s} s would lapse after one late renewal; make renew_s at most half of lease_s (a third, the default, is better)`);
  for (const [board, pins] of Object.entries(cfg.pins)) {
    for (const [pin, settings] of Object.entries(pins)) {
      if (settings.lease_s !== undefined && tooShort(settings.lease_s)) {
        issue(['pins', board, pin, 'lease_s'], `a lease of ${settings.lease_s} s renewed every ${cfg.renew_s} s (mqtt.renew_s) would lapse after one late renewal; give at least ${2 * (cfg.renew_s ?? 0)} s`);
      }
    }
  }
}
