// The board config file (JSON or YAML), validated once at start with path-prefixed messages
// (STYLE.md: validate config once, at the edge). Counterpart of the PyMoDAQ bench's config.py.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ACTUATOR_DRIVERS } from './drivers/actuators/index.js';
import { SENSOR_DRIVERS } from './drivers/sensors/index.js';
import { hex } from './hex.js';
import { deepFreeze, formatPath } from '../common/config-text.js';

const address = z.preprocess(
  (v) => (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v.trim()) ? Number.parseInt(v.trim().slice(2), 16) : v),
  z.number({ error: 'expected an I2C address such as 0x38' }).int().min(0x03, { error: 'expected 0x03–0x77' }).max(0x77, { error: 'expected 0x03–0x77' }),
);

const pinNumber = z.number({ error: 'expected a pin number' }).int({ error: 'expected a whole pin number' }).min(0, { error: 'expected a pin number ≥ 0' }).max(255, { error: 'expected a pin number ≤ 255' });
const level = z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' });
const leaseSeconds = z.number({ error: 'expected a number of seconds' }).positive({ error: 'expected a number of seconds > 0' });
const label = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1–64 letters, digits, _ . or -' });

const pinSchema = z.strictObject({
  pin: pinNumber,
  name: label.optional(),
  mode: z.enum(['input', 'output'], { error: 'expected "input" or "output"' }),
  pull: z.enum(['up', 'down', 'none']).default('none'),
  /** An input ignores changes shorter than this (a bouncing switch). */
  debounce_ms: z.number({ error: 'expected a number of milliseconds' }).min(0).max(1000, { error: 'expected at most 1000 ms' }).optional(),
  value: level.optional(),
  safe_value: level.optional(),
  max_lease_s: leaseSeconds.optional(),
});

const sensorSchema = z.strictObject({
  name: label,
  driver: z.string().refine((d) => Object.hasOwn(SENSOR_DRIVERS, d), {
    error: `expected one of ${Object.keys(SENSOR_DRIVERS).join(', ')}`,
  }),
  bus: z.number().int().min(0).optional(),
  address: address.optional(),
  options: z.record(z.string(), z.unknown()).default({}),
});

const actuatorSchema = z.strictObject({
  name: label,
  driver: z.string().refine((d) => Object.hasOwn(ACTUATOR_DRIVERS, d), {
    error: `expected one of ${Object.keys(ACTUATOR_DRIVERS).join(', ')}`,
  }),
  pin: pinNumber,
  safe_value: z.number().min(0).max(1).default(0),
  max_lease_s: leaseSeconds.optional(),
  units: z.string().optional(),
  options: z.record(z.string(), z.unknown()).default({}),
});

const busSchema = z.strictObject({
  bus: z.number().int().min(0),
  sda: pinNumber.optional(),
  scl: pinNumber.optional(),
  freq: z.number().int().positive().default(400_000),
});

export const BACKEND_KINDS = ['linux', 'sim'] as const;

/**
 * What only one hardware backend needs. `backend: linux` is short for `backend: { kind: linux }`;
 * `tether device --sim` runs the simulator whatever `kind` says.
 */
const backendSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { kind: v } : v),
  z.strictObject({
    kind: z.enum(BACKEND_KINDS, { error: `expected ${BACKEND_KINDS.map((k) => `"${k}"`).join(' or ')}` }).default('linux'),
    /** Linux: the GPIO chip whose line offsets are the config's pin numbers: "auto" (the Raspberry Pi's main chip), a name (gpiochip4), a path or a label. */
    gpio_chip: z.string().min(1).default('auto'),
    /** Linux: pins taken by line name, on whichever chip has the line (for boards whose numbers are not offsets on one chip). */
    lines: z.record(z.string().regex(/^\d{1,3}$/, { error: 'expected a pin number' }), z.string().min(1)).default({}),
    /** Linux: hardware PWM channels, beyond or instead of the Raspberry Pi's map (GPIO 12, 13, 18, 19). */
    pwm: z.array(z.strictObject({ pin: pinNumber, chip: z.number().int().min(0), channel: z.number().int().min(0) })).default([]),
    /** Linux: pins that run PWM in software, for slow loads (a heater at 100 Hz). */
    software_pwm: z.array(pinNumber).default([]),
    /** Linux: the WiFi interface whose signal get_info reports (default: the first in /proc/net/wireless). */
    wifi: z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, { error: 'expected an interface name such as wlan0' }).optional(),
  }),
);

/** The PyMoDAQ Raspberry plugin's ZeroMQ server (docs/pymodaq.md): where it listens and how long PyMoDAQ's writes outlive its silence. */
const pymodaqSchema = z.strictObject({
  /** By default listen.host. */
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).default(5555),
  hold_s: leaseSeconds.default(10),
  /** What any client that reaches the port may do; PyMoDAQ sends no token. */
  scope: z.enum(['read', 'actuate'], { error: 'expected "read" or "actuate"' }).optional(),
  /** Sensor name → the address PyMoDAQ reads it at, for sensors whose own address is taken or that have none. */
  addresses: z.record(z.string(), address).default({}),
});

const tokenSchema = z.strictObject({
  token: z.string().min(16, { error: 'expected a token of at least 16 characters' }),
  scope: z.enum(['read', 'actuate', 'admin']),
});

/**
 * One rule of a peer (docs/board-config.md#peers): what of the followed board to follow (one of
 * input, output, sensor + quantity), the local output it drives (`to`), and how it maps.
 */
const peerRuleSchema = z.strictObject({
  input: pinNumber.optional(),
  output: pinNumber.optional(),
  sensor: label.optional(),
  quantity: label.optional(),
  /** An actuator name, or the name or number of an output pin in pins. */
  to: z.union([label, pinNumber], { error: 'expected an actuator name, or the name or number of an output pin in pins' }),
  invert: z.boolean({ error: 'expected true or false' }).optional(),
  range: z.tuple([z.number(), z.number()], { error: 'expected [low, high]: the readings that map to duty[0] and duty[1]' }).optional(),
  duty: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)], { error: 'expected [low, high], each 0–1' }).optional(),
  threshold: z.strictObject({ on: z.number(), off: z.number() }, { error: 'expected { on: x, off: y }' }).optional(),
});

/** A board this one follows in direct mode, without a hub (docs/board-config.md#peers). */
const peerSchema = z.strictObject({
  name: label,
  host: z.string().min(1, { error: 'expected the address of the board to follow' }),
  port: z.number().int().min(1).max(65535).default(12345),
  /** The token the followed board requires (read scope is enough), inline or in a file. */
  token: z.string().min(16, { error: 'expected a token of at least 16 characters' }).optional(),
  token_file: z.string().min(1).optional(),
  /** How long each write to a local output holds without news from the peer. */
  lease_s: leaseSeconds.default(3),
  /** How often the peer is asked (pins) and its sensors read. */
  every_ms: z.number().int().min(50, { error: 'expected 50–86400000 ms' }).max(86_400_000, { error: 'expected 50–86400000 ms' }).default(1000),
  follow: z.array(peerRuleSchema).min(1, { error: 'expected at least one rule' }),
});

export const boardConfigSchema = z
  .strictObject({
    name: label.default('tether-board'),
    /** The board model for get_info; by default the backend's (the Pi's model from the device tree). */
    board: z.string().min(1).optional(),
    listen: z.strictObject({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(12345) }).prefault({}),
    tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
    // Required in effect: a board says who may drive it (checkAuthDeclared, at start).
    auth: z
      .union([z.literal('none'), z.strictObject({ tokens: z.array(tokenSchema).min(1, { error: 'expected at least one token (or write auth: none)' }) })], {
        error: 'expected "none", or tokens: auth: { tokens: [{ token: …, scope: admin }] }',
      })
      .optional(),
    max_lease_s: leaseSeconds.default(3600),
    max_frame_bytes: z.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
    gpio: z.strictObject({ pin_count: z.number().int().min(1).max(256).default(30) }).prefault({}),
    adc: z.strictObject({ pins: z.array(pinNumber).default([26, 27, 28]), vref: z.number().positive().default(3.3) }).prefault({}),
    i2c: z.array(busSchema).default([]),
    pins: z.array(pinSchema).default([]),
    sensors: z.array(sensorSchema).default([]),
    actuators: z.array(actuatorSchema).default([]),
    backend: backendSchema.prefault({}),
    peers: z.array(peerSchema).default([]),
    // `pymodaq:` alone in YAML is null: the section with its defaults.
    pymodaq: z.preprocess((v) => (v === null ? {} : v), pymodaqSchema.optional()),
    sim: z
      .strictObject({
        seed: z.number().int().default(1),
        pir: z.array(z.strictObject({ pin: pinNumber, mean_interval_s: z.number().positive().default(20), hold_s: z.number().positive().default(3) })).default([]),
        /** I2C addresses to leave empty, to see what a missing chip looks like: the board refuses to start, naming it. */
        absent: z.array(z.strictObject({ bus: z.number().int().min(0), address })).default([]),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => crossCheck(cfg, ctx));

export type BoardConfig = z.output<typeof boardConfigSchema>;
export type SensorConfig = BoardConfig['sensors'][number];
export type ActuatorConfig = BoardConfig['actuators'][number];
export type PinConfig = BoardConfig['pins'][number];
export type PymodaqConfig = NonNullable<BoardConfig['pymodaq']>;
export type PeerConfig = BoardConfig['peers'][number];
export type PeerRule = PeerConfig['follow'][number];

/** Checks that need the whole file: unique names, pins used once, sensors on declared buses. */
function crossCheck(cfg: z.output<z.ZodObject>, ctx: z.RefinementCtx): void {
  const c = cfg as unknown as BoardConfig;
  const owner = new Map<number, string>();
  const claim = (pin: number, who: string, path: (string | number)[]) => {
    if (pin >= c.gpio.pin_count) {
      ctx.addIssue({ code: 'custom', path, message: `pin ${pin} does not exist: gpio.pin_count is ${c.gpio.pin_count}` });
      return;
    }
    const prev = owner.get(pin);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path, message: `pin ${pin} is already used by ${prev}` });
    else owner.set(pin, who);
  };
  c.i2c.forEach((b, i) => {
    if (b.sda !== undefined) claim(b.sda, `i2c[${i}].sda`, ['i2c', i, 'sda']);
    if (b.scl !== undefined) claim(b.scl, `i2c[${i}].scl`, ['i2c', i, 'scl']);
  });
  c.pins.forEach((p, i) => claim(p.pin, `pins[${i}]`, ['pins', i, 'pin']));
  c.actuators.forEach((a, i) => claim(a.pin, `actuators[${i}] (${a.name})`, ['actuators', i, 'pin']));
  // A DHT sensor owns its data pin (options.pin, which its driver's schema checks); DS18B20s
  // share theirs, a 1-Wire bus, and then each needs its ROM code to say which probe it is.
  const oneWire = new Map<number, number[]>();
  c.sensors.forEach((sc, i) => {
    const pin = dataPinOf(sc);
    if (pin === undefined) return;
    const path = ['sensors', i, 'options', 'pin'];
    if (sc.driver !== 'ds18b20') return claim(pin, `sensors[${i}] (${sc.name})`, path);
    const onBus = oneWire.get(pin);
    if (onBus === undefined) {
      oneWire.set(pin, [i]);
      claim(pin, `the 1-Wire bus of sensors[${i}] (${sc.name})`, path);
    } else onBus.push(i);
  });
  for (const [pin, indexes] of oneWire) {
    if (indexes.length < 2) continue;
    for (const i of indexes) {
      if (c.sensors[i]?.options['rom'] === undefined) ctx.addIssue({ code: 'custom', path: ['sensors', i, 'options', 'rom'], message: `${indexes.length} DS18B20s share the 1-Wire bus on pin ${pin}: give each its rom` });
    }
  }
  c.pins.forEach((p, i) => {
    if (p.mode === 'input' && (p.value !== undefined || p.safe_value !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['pins', i, 'value'], message: 'only an output takes value or safe_value' });
    }
    if (p.mode === 'output' && p.pull !== 'none') ctx.addIssue({ code: 'custom', path: ['pins', i, 'pull'], message: 'only an input takes a pull' });
    if (p.mode === 'output' && p.debounce_ms !== undefined) ctx.addIssue({ code: 'custom', path: ['pins', i, 'debounce_ms'], message: 'only an input takes a debounce' });
    if (p.value !== undefined && p.safe_value !== undefined && p.value !== p.safe_value) {
      ctx.addIssue({ code: 'custom', path: ['pins', i, 'value'], message: 'an output starts at its safe value: give value or safe_value, or make them equal' });
    }
  });
  c.sim.pir.forEach((p, i) => {
    if (!c.pins.some((q) => q.pin === p.pin && q.mode === 'input')) {
      ctx.addIssue({ code: 'custom', path: ['sim', 'pir', i, 'pin'], message: `pin ${p.pin} must also be listed in pins with mode "input"` });
    }
  });
  const pwmPins = new Set<number>();
  c.backend.pwm.forEach((p, i) => {
    if (pwmPins.has(p.pin)) ctx.addIssue({ code: 'custom', path: ['backend', 'pwm', i, 'pin'], message: `pin ${p.pin} is listed twice` });
    pwmPins.add(p.pin);
  });
  c.backend.software_pwm.forEach((pin, i) => {
    if (pwmPins.has(pin)) ctx.addIssue({ code: 'custom', path: ['backend', 'software_pwm', i], message: `pin ${pin} is also a hardware PWM channel in backend.pwm; choose one` });
  });
  for (const key of Object.keys(c.backend.lines)) {
    if (Number(key) >= c.gpio.pin_count) ctx.addIssue({ code: 'custom', path: ['backend', 'lines', key], message: `pin ${key} does not exist: gpio.pin_count is ${c.gpio.pin_count}` });
  }
  const names = new Set<string>();
  const unique = (name: string | undefined, path: (string | number)[]) => {
    if (name === undefined) return;
    if (names.has(name)) ctx.addIssue({ code: 'custom', path, message: `the name "${name}" is used twice` });
    names.add(name);
  };
  c.pins.forEach((p, i) => unique(p.name, ['pins', i, 'name']));
  c.actuators.forEach((a, i) => unique(a.name, ['actuators', i, 'name']));
  c.sensors.forEach((s, i) => unique(s.name, ['sensors', i, 'name']));
  const buses = new Set(c.i2c.map((b) => b.bus));
  const addressUser = new Map<string, string>();
  c.sensors.forEach((s, i) => {
    const driver = SENSOR_DRIVERS[s.driver];
    if (driver === undefined) return;
    if (driver.bus === 'i2c') {
      const bus = s.bus ?? 0;
      if (!buses.has(bus)) ctx.addIssue({ code: 'custom', path: ['sensors', i, 'bus'], message: `I2C bus ${bus} is not declared in i2c` });
      const addr = s.address ?? driver.addresses[0];
      const key = `${bus}/${addr}`;
      const prev = addressUser.get(key);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['sensors', i, 'address'], message: `address ${hex(addr ?? 0)} on bus ${bus} is already used by ${prev}` });
      else addressUser.set(key, `sensors[${i}] (${s.name})`);
      // Out-of-range addresses were already reported by the field schema.
      if (addr !== undefined && addr >= 0x03 && addr <= 0x77 && !driver.addresses.includes(addr)) {
        ctx.addIssue({ code: 'custom', path: ['sensors', i, 'address'], message: `${s.driver} answers only at ${driver.addresses.map(hex).join(', ')}` });
      }
    }
    const opts = driver.optionsSchema.safeParse(s.options);
    if (!opts.success) {
      for (const issue of opts.error.issues) ctx.addIssue({ code: 'custom', path: ['sensors', i, 'options', ...issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k))], message: issue.message });
    }
  });
  if (c.pymodaq !== undefined) checkPymodaq(c, c.pymodaq, ctx);
  checkPeers(c, ctx);
  c.actuators.forEach((a, i) => {
    const driver = ACTUATOR_DRIVERS[a.driver];
    if (driver === undefined) return;
    if (a.driver === 'digital' && a.safe_value !== 0 && a.safe_value !== 1) {
      ctx.addIssue({ code: 'custom', path: ['actuators', i, 'safe_value'], message: 'a digital actuator takes 0 or 1' });
    }
    const opts = driver.optionsSchema.safeParse(a.options);
    if (!opts.success) {
      for (const issue of opts.error.issues) ctx.addIssue({ code: 'custom', path: ['actuators', i, 'options', ...issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k))], message: issue.message });
    }
  });
}

/** docs/pymodaq.md: one sensor per address, a hold every actuator allows, a scope said out loud where tokens guard the rest. */
function checkPymodaq(c: BoardConfig, p: PymodaqConfig, ctx: z.RefinementCtx): void {
  const names = new Set(c.sensors.map((s) => s.name));
  for (const name of Object.keys(p.addresses)) {
    if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['pymodaq', 'addresses', name], message: `no sensor named "${name}"; sensors: ${[...names].join(', ') || 'none'}` });
  }
  const entries = pymodaqAddressEntries(c, p);
  const taken = new Set(entries.map((e) => e.address));
  const seen = new Map<number, string>();
  for (const { address, sensor, given } of entries) {
    const who = given ? sensor.name : `${sensor.name} (bus ${sensor.bus ?? 0})`;
    const prev = seen.get(address);
    if (prev === undefined) {
      seen.set(address, who);
      continue;
    }
    ctx.addIssue({
      code: 'custom',
      path: ['pymodaq', 'addresses'],
      message: `${prev} and ${who} would both answer PyMoDAQ at ${hex(address)}, which reads a sensor by its address alone; give one of them another address here, e.g. ${sensor.name}: ${hex(freeAddressAfter(address, taken))}`,
    });
  }
  for (const a of c.actuators) {
    const max = Math.min(a.max_lease_s ?? c.max_lease_s, c.max_lease_s);
    if (p.hold_s > max) ctx.addIssue({ code: 'custom', path: ['pymodaq', 'hold_s'], message: `${p.hold_s} s is longer than the actuator "${a.name}" may be held (max_lease_s ${max} s)` });
  }
  if (typeof c.auth === 'object' && p.scope === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['pymodaq', 'scope'],
      message: 'required on a board with tokens: PyMoDAQ sends no token, so any client that reaches this port gets this scope; write "read" (readings only) or "actuate"',
    });
  }
  if (p.port !== 0 && p.port === c.listen.port) {
    ctx.addIssue({ code: 'custom', path: ['pymodaq', 'port'], message: `${p.port} is also listen.port, where protocol v1 listens; give one of them another port (PyMoDAQ's default is 5555, protocol v1's 12345)` });
  }
}

/** docs/board-config.md#peers: each rule follows one thing, maps it in a way its output takes, and each output has one rule. */
function checkPeers(c: BoardConfig, ctx: z.RefinementCtx): void {
  const driven = new Map<number, string>();
  c.peers.forEach((p, i) => {
    const at = (...rest: (string | number)[]) => ['peers', i, ...rest];
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (p.token !== undefined && p.token_file !== undefined) issue(at('token'), 'give token or token_file, not both');
    if (p.lease_s > c.max_lease_s) issue(at('lease_s'), `longer than max_lease_s (${c.max_lease_s} s)`);
    if (p.lease_s * 1000 < 2 * p.every_ms) issue(at('lease_s'), `expected at least two every_ms (${p.every_ms} ms), so that one late answer does not let the output go`);
    p.follow.forEach((r, j) => {
      const where = (...rest: string[]) => at('follow', j, ...rest);
      const kinds = (['input', 'output', 'sensor'] as const).filter((k) => r[k] !== undefined);
      if (kinds.length !== 1) return issue(where(), 'expected exactly one of input, output or sensor (what to follow)');
      if (kinds[0] === 'sensor') {
        if (r.quantity === undefined) issue(where('quantity'), 'expected the quantity to follow, e.g. "temperature"');
        if (r.invert !== undefined) issue(where('invert'), 'a sensor rule maps with range or threshold');
        if ((r.range === undefined) === (r.threshold === undefined)) issue(where(), 'expected range (a duty from the reading) or threshold (on/off)');
        if (r.range !== undefined && r.range[0] === r.range[1]) issue(where('range'), 'expected [low, high] with low ≠ high');
        if (r.threshold !== undefined && r.threshold.on === r.threshold.off) issue(where('threshold'), 'expected on ≠ off: on above off turns on when high (a fan), on below off when low (a heater)');
        if (r.duty !== undefined && r.range === undefined) issue(where('duty'), 'only a range rule takes duty');
      } else if (r.range !== undefined || r.threshold !== undefined || r.duty !== undefined || r.quantity !== undefined) {
        issue(where(), `an ${kinds[0]} rule copies the level (invert: true inverts it)`);
      }
      const out = peerOutput(c, r.to);
      if (out === undefined) return issue(where('to'), 'expected an actuator name, or the name or number of an output pin in pins');
      if (r.range !== undefined && !out.pwm) issue(where('to'), 'a range gives a duty: drive a PWM actuator, or use threshold for a digital output');
      if (p.lease_s > out.maxLeaseS) issue(where('to'), `its max_lease_s is ${out.maxLeaseS} s, shorter than peers[${i}].lease_s (${p.lease_s} s): every write would be refused; lower lease_s or raise the output's max_lease_s`);
      const prev = driven.get(out.pin);
      if (prev !== undefined) issue(where('to'), `pin ${out.pin} is already driven by ${prev}`);
      else driven.set(out.pin, `peers[${i}].follow[${j}]`);
    });
  });
}

/** The local output a peer rule drives: an actuator by name or pin, or an output pin by name or number. */
export function peerOutput(c: Readonly<BoardConfig>, to: string | number): { pin: number; pwm: boolean; maxLeaseS: number } | undefined {
  const a = c.actuators.find((x) => x.name === to || x.pin === to);
  if (a !== undefined) return { pin: a.pin, pwm: a.driver === 'pwm', maxLeaseS: Math.min(a.max_lease_s ?? c.max_lease_s, c.max_lease_s) };
  const p = c.pins.find((x) => x.mode === 'output' && (x.name === to || x.pin === to));
  return p === undefined ? undefined : { pin: p.pin, pwm: false, maxLeaseS: Math.min(p.max_lease_s ?? c.max_lease_s, c.max_lease_s) };
}

/** An address no sensor answers PyMoDAQ at, for the advice: the next one up, wrapping within 0x08–0x77. */
function freeAddressAfter(address: number, taken: ReadonlySet<number>): number {
  for (let step = 1; step < 0x70; step++) {
    const candidate = 0x08 + ((address - 0x08 + step) % 0x70);
    if (!taken.has(candidate)) return candidate;
  }
  return address;
}

/**
 * The address each sensor answers PyMoDAQ at: the one `pymodaq.addresses` gives it (`given`),
 * else its own I2C address; a sensor with neither is not served. Duplicates are left in for the
 * config check to report.
 */
export function pymodaqAddressEntries(c: BoardConfig, p: PymodaqConfig): Array<{ address: number; sensor: SensorConfig; given: boolean }> {
  const entries: Array<{ address: number; sensor: SensorConfig; given: boolean }> = [];
  for (const sensor of c.sensors) {
    const given = p.addresses[sensor.name];
    const driver = SENSOR_DRIVERS[sensor.driver];
    const address = given ?? (driver?.bus === 'i2c' ? (sensor.address ?? driver.addresses[0]) : undefined);
    if (address !== undefined) entries.push({ address, sensor, given: given !== undefined });
  }
  return entries;
}

/** The data pin of a sensor on a pin of its own (1-Wire, DHT): its options.pin, when it is a pin number. */
export function dataPinOf(sc: SensorConfig): number | undefined {
  const pin = SENSOR_DRIVERS[sc.driver]?.bus === 'pin' ? sc.options['pin'] : undefined;
  return typeof pin === 'number' && Number.isInteger(pin) && pin >= 0 ? pin : undefined;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: the board config is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * A board with no tokens lets anyone who reaches its port drive it, so that has to be said in
 * its config (`auth: none`) rather than follow from a forgotten section (protocol.md §8).
 */
export function checkAuthDeclared(config: Readonly<BoardConfig>, source: string): void {
  if (config.auth !== undefined) return;
  throw new ConfigError(source, [
    'auth: missing; say who may drive this board: list tokens under auth.tokens (clients then prove they hold one), or write "auth: none" to let any client that reaches its port drive it (docs/board-config.md#auth)',
  ]);
}

/** Validates a parsed config object; the result is frozen. */
export function parseBoardConfig(value: unknown, source = 'config'): Readonly<BoardConfig> {
  const result = boardConfigSchema.safeParse(value ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new ConfigError(source, problems);
  }
  return deepFreeze(result.data);
}

export async function loadBoardConfig(file: string): Promise<Readonly<BoardConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let value: unknown;
  try {
    value = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [`cannot parse the file: ${(err as Error).message}`]);
  }
  const config = parseBoardConfig(value, file);
  checkAuthDeclared(config, file);
  return config;
}
