// The hub config file (JSON or YAML): where the hub keeps its data and listens, which boards it
// dials, how often it asks for readings, and its rules. Validated once at start with
// path-prefixed messages, defaults filled in, the result frozen (STYLE.md: validate config once,
// at the edge) — the habits of src/device/config.ts, which the hub may not import.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { deepFreeze, formatPath } from '../common/config-text.js';
import { DEVICE_ID, deviceId, leaseSeconds, milliseconds, pinNumber, port, ruleName } from './config-fields.js';
import { checkMqtt, mqttSchema } from './mqtt/config.js';
import { clusterSchema } from './cluster/config.js';
import { placeholderProblem, placeholdersIn, unknownPlaceholder, withStandIns, type TriggerKind } from './rules/http-template.js';

const level = z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' });
const edge = z.enum(['rising', 'falling', 'both'], { error: 'expected "rising", "falling" or "both"' });
// protocol.md §5.14: a subscription's interval_ms is 50–86 400 000.
const readingInterval = milliseconds(50, 86_400_000);

// "host:port" or "[v6]:port"; the port is required because a board's listen.port is its own choice.
const hostPort = z.string({ error: 'expected host:port' }).refine((s) => parseHostPort(s) !== null, { error: 'expected host:port, such as 192.168.1.20:12345 or [fe80::1]:12345' });

const target = { device: deviceId, pin: pinNumber };

const COMPARISONS = ['above', 'below', 'equals'] as const;

const readingCondition = z
  .strictObject({
    device: deviceId,
    sensor: z.string({ error: 'expected a sensor name' }).min(1, { error: 'expected a sensor name' }).max(64, { error: 'expected at most 64 characters' }),
    /** The key in the reading's `values` (protocol.md §7), e.g. "temperature". */
    quantity: z.string({ error: 'expected a quantity such as "temperature"' }).min(1, { error: 'expected a quantity such as "temperature"' }),
    above: z.number().optional(),
    below: z.number().optional(),
    equals: z.number().optional(),
  })
  .superRefine((c, ctx) => {
    // None at all is for http actions only (fires on every reading); crossCheck sees the action.
    const given = COMPARISONS.filter((k) => c[k] !== undefined);
    if (given.length > 1) ctx.addIssue({ code: 'custom', message: `give exactly one of above, below or equals (got ${given.join(' and ')})` });
  });

const inputCondition = z.strictObject({ ...target, edge });

const action = z
  .strictObject({
    ...target,
    value: level.optional(),
    duty: z.number({ error: 'expected a duty cycle from 0 to 1' }).min(0, { error: 'expected a duty cycle from 0 to 1' }).max(1, { error: 'expected a duty cycle from 0 to 1' }).optional(),
    /** protocol.md §5.9: pwm needs a frequency; without one the hub uses the pin's current one from the board's state. */
    freq: z.number({ error: 'expected a frequency in Hz' }).int({ error: 'expected whole Hz' }).min(1, { error: 'expected 1–40000000 Hz' }).max(40_000_000, { error: 'expected 1–40000000 Hz' }).optional(),
    toggle: z.literal(true, { error: 'expected true (leave it out for a fixed value)' }).optional(),
    lease_s: leaseSeconds,
  })
  .superRefine((a, ctx) => {
    const given = (['value', 'duty', 'toggle'] as const).filter((k) => a[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `give exactly one of value, duty or toggle${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}` });
    if (a.freq !== undefined && a.duty === undefined) ctx.addIssue({ code: 'custom', path: ['freq'], message: 'freq goes with duty (a PWM write)' });
  });

// A template (rules/http-template.ts) whose placeholders are all known; which ones fit the rule's
// condition is checked in crossCheck.
const template = (what: string) =>
  z.string({ error: `expected ${what}` }).superRefine((text, ctx) => {
    for (const name of placeholdersIn(text)) {
      const problem = unknownPlaceholder(name);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    }
  });

const httpUrl = template('an http:// or https:// URL').superRefine((url, ctx) => {
  const parsed = parseUrl(withStandIns(url));
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL, such as http://192.168.1.5:8080/json.htm?type=command&param=udevice&idx=12&nvalue=0&svalue={value}' });
  }
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const httpFields = z
  .strictObject({
    url: httpUrl,
    method: z.enum(['GET', 'POST', 'PUT'], { error: 'expected GET, POST or PUT' }).default('GET'),
    body: template('the text of the request body').optional(),
    headers: z.record(z.string().regex(HEADER_NAME, { error: 'expected a header name' }), template('a header value')).default({}),
    /** Each attempt's limit, from sending to the last byte of the answer's head. */
    timeout_ms: milliseconds(100, 60_000).default(5000),
    /** Tries after the first, on a network error, a timeout or a 5xx. */
    retries: z.number({ error: 'expected a number of retries' }).int({ error: 'expected a whole number of retries' }).min(0, { error: 'expected 0–5 retries' }).max(5, { error: 'expected 0–5 retries' }).default(2),
    /** At most one request per this many seconds; triggers in between are dropped. */
    min_interval_s: z.number({ error: 'expected a number of seconds' }).min(0, { error: 'expected a number of seconds ≥ 0' }).default(0),
  })
  .superRefine((h, ctx) => {
    if (h.body !== undefined && h.method === 'GET') ctx.addIssue({ code: 'custom', path: ['body'], message: 'a GET request has no body; give method: POST or PUT' });
  });

const httpAction = z.strictObject(
  { http: httpFields },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `an http action takes only "http" (got ${iss.keys.join(', ')} too); a pin action is a rule of its own` : undefined,
  },
);

export const ruleSchema = z.strictObject({
  name: ruleName,
  description: z.string().optional(),
  // An object with `pin` is an input condition, any other a reading condition.
  when: eitherByKey('pin', inputCondition, readingCondition),
  // An object with `http` is a webhook, any other drives a pin.
  then: eitherByKey('http', httpAction, action),
});

export const bindingSchema = z.strictObject({
  name: ruleName,
  description: z.string().optional(),
  from: z.strictObject(target),
  to: z.strictObject({ ...target, invert: z.boolean().default(false), lease_s: leaseSeconds }),
});

/**
 * One rule or binding on its own, as the API takes it (the same checks as an entry of the file's
 * rules[] or bindings[]): an object with `from` is a binding, any other a rule.
 */
export const ruleItemSchema = eitherByKey('from', bindingSchema, ruleSchema);

const pulledDeviceSchema = z.strictObject({
  id: deviceId,
  address: hostPort,
  /** The board's direct-mode token (board config auth.tokens), when it asks for one. */
  token: z.string().min(16, { error: 'expected a token of at least 16 characters' }).optional(),
  tls: z.boolean().default(false),
});

const retentionDays = z.number({ error: 'expected a number of days' }).int({ error: 'expected whole days' }).min(0, { error: 'expected a number of days ≥ 0' });
export const RETENTION_DAYS_DEFAULT = 30;

const retentionSchema = z.strictObject({
  /** Readings and events older than this are deleted; 0 keeps them whatever their age. */
  days: retentionDays.optional(),
  /** The database, WAL included, is kept under this many MB (10^6 bytes) by deleting the oldest readings, then events. */
  max_mb: z.number({ error: 'expected a number of megabytes' }).min(1, { error: 'expected at least 1 MB' }).optional(),
});

const linkTlsFiles = z.strictObject({ cert: z.string().min(1, { error: 'expected a PEM file' }), key: z.string().min(1, { error: 'expected a PEM file' }) });
// Picked by the value's type, so that a mistake in {cert, key} is reported as itself rather than
// as "neither auto nor an object".
const linkTls = z.unknown().transform((value, ctx): 'auto' | z.output<typeof linkTlsFiles> => {
  if (typeof value !== 'object' || value === null) {
    if (value === 'auto') return 'auto';
    ctx.addIssue({ code: 'custom', message: 'expected auto (the hub makes its own certificate) or {cert, key} PEM files' });
    return z.NEVER;
  }
  const result = linkTlsFiles.safeParse(value);
  if (result.success) return result.data;
  for (const i of result.error.issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  return z.NEVER;
});

const hubConfigFields = z.strictObject({
  /** The folder of the store and the API token; relative to the working directory. */
  data: z.string({ error: 'expected a folder' }).min(1, { error: 'expected a folder' }).default('./tether-data'),
  /**
   * Where the hub keeps its registry, telemetry and link state: absent, SQLite in the data
   * folder; a PostgreSQL URL for hubs that share one database (docs/postgres.md).
   */
  store: z
    .strictObject({
      url: z
        .string({ error: 'expected a postgres:// URL' })
        .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'expected a postgres:// URL, e.g. postgres://tether@127.0.0.1:5432/tether' }),
    })
    .optional(),
  retention: retentionSchema.prefault({}),
  /** The name retention.days had before retention had a section; still accepted. */
  retention_days: retentionDays.optional(),
  link: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: port.default(7341),
      keepalive_ms: milliseconds(200, 60_000).default(1000),
      /**
       * The link port speaks TLS only; boards pin the certificate by fingerprint (protocol.md
       * §10.5). `auto`: the hub makes a self-signed one in the data folder (link-cert.ts).
       */
      tls: linkTls.optional(),
    })
    .prefault({}),
  http: z.strictObject({ host: z.string().default('127.0.0.1'), port: port.default(7340) }).prefault({}),
  telemetry: z
    .strictObject({
      interval_ms: readingInterval.default(5000),
      // Keys are checked in crossCheck: zod reports a bad record key without its reason.
      devices: z.record(z.string(), z.strictObject({ interval_ms: readingInterval })).default({}),
    })
    .prefault({}),
  devices: z.array(pulledDeviceSchema).default([]),
  rules: z.array(ruleSchema).default([]),
  bindings: z.array(bindingSchema).default([]),
  /** The MQTT bridge (mqtt/config.ts); absent: the hub talks to no broker. */
  mqtt: mqttSchema.optional(),
  /** Hubs sharing one store pass commands and changes through this broker (cluster/config.ts); absent: a hub alone. */
  cluster: clusterSchema.optional(),
});

// The cross checks read values as valid, so they wait until every field is (a lease of 0 is one
// problem, not also a lease too short for its readings). retention_days is folded into
// retention.days, so that the rest of the hub knows one name.
export const hubConfigSchema = hubConfigFields
  .superRefine((cfg, ctx) => crossCheck(cfg, ctx), { when: (payload) => payload.issues.length === 0 })
  .transform(({ retention_days: oldName, ...cfg }) => ({ ...cfg, retention: { ...cfg.retention, days: cfg.retention.days ?? oldName ?? RETENTION_DAYS_DEFAULT } }));

type CheckedConfig = z.output<typeof hubConfigFields>;
export type HubConfig = z.output<typeof hubConfigSchema>;
export type RuleConfig = HubConfig['rules'][number];
export type BindingConfig = HubConfig['bindings'][number];
export type ReadingCondition = z.output<typeof readingCondition>;
export type InputCondition = z.output<typeof inputCondition>;
export type RuleAction = RuleConfig['then'];
export type PinAction = z.output<typeof action>;
export type HttpAction = z.output<typeof httpAction>;
export type HttpActionConfig = HttpAction['http'];
export type PulledDeviceConfig = HubConfig['devices'][number];
export type Edge = InputCondition['edge'];
/** What the rules engine needs of the config. */
export type RulesConfig = { readonly rules: readonly RuleConfig[]; readonly bindings: readonly BindingConfig[] };

export function isInputCondition(when: RuleConfig['when']): when is InputCondition {
  return 'pin' in when;
}

export function isHttpAction(then: RuleAction): then is HttpAction {
  return 'http' in then;
}

/** A reading condition without above, below or equals: an http rule that fires on every reading. */
export function hasComparison(when: ReadingCondition): boolean {
  return COMPARISONS.some((k) => when[k] !== undefined);
}

/** The reading interval the hub uses for one board (telemetry.devices overrides interval_ms). */
export function readingIntervalMs(cfg: Pick<HubConfig, 'telemetry'>, device: string): number {
  return (Object.hasOwn(cfg.telemetry.devices, device) ? cfg.telemetry.devices[device]?.interval_ms : undefined) ?? cfg.telemetry.interval_ms;
}

type PinRef = { device: string; pin: number };
const pinKey = (t: PinRef) => `${t.device}/${t.pin}`;

/** Checks that need the whole file: unique names and ids, pins used one way, leases that outlast a reading. */
function crossCheck(c: CheckedConfig, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (c.retention_days !== undefined && c.retention.days !== undefined) issue(['retention_days'], 'give retention.days only: retention_days is its old name');
  if (c.cluster !== undefined && c.store === undefined) issue(['cluster'], 'hubs of a cluster share one PostgreSQL store: give store.url too (docs/scaling.md)');
  for (const key of Object.keys(c.telemetry.devices)) {
    if (!DEVICE_ID.test(key)) issue(['telemetry', 'devices', key], 'expected a device id: 1–64 letters, digits, _ . or -');
  }
  const ids = new Set<string>();
  c.devices.forEach((d, i) => {
    if (ids.has(d.id)) issue(['devices', i, 'id'], `the device "${d.id}" is listed twice`);
    ids.add(d.id);
  });

  const placed: PlacedRuleItem[] = [
    ...c.rules.map((config, i): PlacedRuleItem => ({ item: { kind: 'rule', config }, path: ['rules', i], who: `rules[${i}] (${config.name})` })),
    ...c.bindings.map((config, i): PlacedRuleItem => ({ item: { kind: 'binding', config }, path: ['bindings', i], who: `bindings[${i}] (${config.name})` })),
  ];
  checkRuleItems(placed, c, issue);
  if (c.mqtt !== undefined) checkMqtt(c.mqtt, (path, message) => issue(['mqtt', ...path], message));
}

/** A rule or a binding, told apart by `kind`. */
export type RuleItem = { kind: 'rule'; config: RuleConfig } | { kind: 'binding'; config: BindingConfig };

/** A rule or binding among others: where its problems are reported, and how the others' messages name it. */
export interface PlacedRuleItem {
  item: RuleItem;
  path: (string | number)[];
  who: string;
}

/**
 * The checks that need every rule and binding at once: unique names, pins used one way, one
 * writer per output, leases that outlast a reading, http placeholders that fit the trigger. The
 * file's rules and bindings go through it, and so does a rule sent to the API, with the file's
 * and the stored ones (rules/rule-book.ts). A problem is reported at the later of two items.
 */
export function checkRuleItems(items: readonly PlacedRuleItem[], cfg: Pick<HubConfig, 'telemetry'>, issue: (path: (string | number)[], message: string) => void): void {
  const names = new Set<string>();
  for (const { item, path } of items) {
    if (names.has(item.config.name)) issue([...path, 'name'], `the name "${item.config.name}" is used twice (rules and bindings share names)`);
    names.add(item.config.name);
  }

  // A pin is read or written, never both; and one writer per output, or two rules would undo
  // each other's leases (protocol.md §4 rule 3: a write replaces the pin's lease).
  const readers = new Map<string, string>();
  const writers = new Map<string, string>();
  const reads = (t: PinRef, who: string, path: (string | number)[]) => {
    const writer = writers.get(pinKey(t));
    if (writer !== undefined) issue(path, `pin ${t.pin} of ${t.device} is an output of ${writer}; a pin is either an input or an output`);
    if (!readers.has(pinKey(t))) readers.set(pinKey(t), who);
  };
  const writes = (t: PinRef, who: string, path: (string | number)[]) => {
    const reader = readers.get(pinKey(t));
    if (reader !== undefined) issue(path, `pin ${t.pin} of ${t.device} is an input of ${reader}; a pin is either an input or an output`);
    const writer = writers.get(pinKey(t));
    if (writer !== undefined) issue(path, `pin ${t.pin} of ${t.device} is already driven by ${writer}; two rules on one output would undo each other's leases`);
    else writers.set(pinKey(t), who);
  };
  for (const { item, path, who } of items) {
    if (item.kind === 'binding') {
      reads(item.config.from, who, [...path, 'from']);
      writes(item.config.to, who, [...path, 'to']);
      continue;
    }
    const r = item.config;
    if (isInputCondition(r.when)) reads(r.when, who, [...path, 'when']);
    // An http action drives no pin, so it writes none.
    if (isHttpAction(r.then)) {
      checkHttpTemplates(r.then.http, isInputCondition(r.when) ? 'input' : 'reading', (p, message) => issue([...path, 'then', 'http', ...p], message));
      continue;
    }
    writes(r.then, who, [...path, 'then']);
    if (r.then.toggle === true && !isInputCondition(r.when)) {
      issue([...path, 'then', 'toggle'], 'toggle needs a when on an input pin (device, pin, edge): a reading has no press to toggle on');
    }
    if (!isInputCondition(r.when)) {
      if (!hasComparison(r.when)) issue([...path, 'when'], 'give one of above, below or equals (only an http action may act on every reading)');
      // Reading rules renew their lease on each reading (docs/hub-config.md): one late reading must not let it lapse.
      const interval = readingIntervalMs(cfg, r.when.device);
      if (r.then.lease_s * 1000 < 2 * interval) {
        issue([...path, 'then', 'lease_s'], `${r.then.lease_s} s would lapse between readings of ${r.when.device} (every ${interval} ms, see telemetry); give at least ${(2 * interval) / 1000} s`);
      }
    }
  }
}

/** The placeholders an http action's templates use must be ones its trigger fills in. */
function checkHttpTemplates(h: HttpActionConfig, kind: TriggerKind, issue: (path: (string | number)[], message: string) => void): void {
  const templates: Array<[(string | number)[], string]> = [[['url'], h.url], ...(h.body !== undefined ? [[['body'], h.body] as [string[], string]] : []), ...Object.entries(h.headers).map(([k, v]): [string[], string] => [['headers', k], v])];
  for (const [path, text] of templates) {
    for (const name of placeholdersIn(text)) {
      const problem = placeholderProblem(name, kind);
      if (problem !== null) issue(path, problem);
    }
  }
}

export class HubConfigError extends Error {
  readonly problems: string[];
  constructor(
    readonly source: string,
    problems: string[],
  ) {
    super(`${source}: the hub config is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'HubConfigError';
    this.problems = problems;
  }
}

/**
 * Validates a hub config: an object, or the text of a file (YAML, which also reads JSON).
 * Nothing (undefined, null, an empty text) is the config with every default. The result is frozen.
 */
export function parseHubConfig(input: unknown, source = 'hub config'): Readonly<HubConfig> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseYaml(input);
    } catch (err) {
      throw new HubConfigError(source, [`cannot parse the file: ${(err as Error).message}`]);
    }
  }
  const result = hubConfigSchema.safeParse(value ?? {});
  if (!result.success) throw new HubConfigError(source, result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  return deepFreeze(result.data);
}

/** Reads a hub config file (`.json` as JSON, anything else as YAML); without a file, every default. */
export async function loadHubConfig(file?: string): Promise<Readonly<HubConfig>> {
  if (file === undefined) return parseHubConfig(undefined, 'defaults');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HubConfigError(file, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  if (extname(file).toLowerCase() !== '.json') return parseHubConfig(text, file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HubConfigError(file, [`cannot parse the file: ${(err as Error).message}`]);
  }
  return parseHubConfig(value, file);
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** Splits "host:port" or "[v6]:port"; null when it is neither. */
export function parseHostPort(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(address.trim());
  const port = Number(m?.[3]);
  if (m === null || !(port >= 1 && port <= 65535)) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * One of two object schemas, chosen by whether the object has `key`. A zod union would answer a
 * typo in either form with a bare "Invalid input"; this names the field of the form meant.
 */
function eitherByKey<A extends z.ZodType, B extends z.ZodType>(key: string, withKey: A, withoutKey: B) {
  return z.unknown().transform((value, ctx): z.output<A> | z.output<B> => {
    const schema = typeof value === 'object' && value !== null && Object.hasOwn(value, key) ? withKey : withoutKey;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const i of result.error.issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
    return z.NEVER;
  });
}
