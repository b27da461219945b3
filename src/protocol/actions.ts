// The action catalogue (protocol.md §5): each action's argument schema and the token scope
// it needs. The board implements the handlers; this file is the contract.
import { z } from 'zod';
import { NONCE_PATTERN, PROOF_PATTERN } from './auth.js';
import { bit, decimal, flag, integer, name, oneOf, pin, seconds } from './fields.js';

export type Scope = 'read' | 'actuate' | 'admin';

const empty = z.object({});

export const ACTION_SCHEMAS = {
  ping: empty,
  get_version: empty,
  get_info: empty,
  list_actions: empty,
  // Either a token (plain, §8) or the proof of a challenge–response (§8.1); the dispatcher
  // checks which, since "one of two fields" is a rule about the request, not about a field.
  auth: z.object({
    token: z.string({ error: 'expected the token as a string' }).optional(),
    proof: z.string({ error: 'expected the proof as 64 lowercase hex digits' }).regex(PROOF_PATTERN, { error: 'expected the proof as 64 lowercase hex digits' }).optional(),
    seal: z.boolean({ error: 'expected true or false' }).optional(),
  }),
  challenge: z.object({ nonce: z.string({ error: 'expected 32 lowercase hex digits' }).regex(NONCE_PATTERN, { error: 'expected 32 lowercase hex digits (16 random bytes)' }) }),
  setup_pin: z.object({
    pin,
    mode: oneOf(['input', 'output']),
    pull: oneOf(['up', 'down', 'none']).optional(),
    value: bit.optional(),
    safe_value: bit.optional(),
  }),
  read_pin: z.object({ pin }),
  write_pin: z.object({ pin, value: bit, timeout: seconds.optional() }),
  pwm: z.object({
    pin,
    freq: integer(1, 40_000_000),
    duty: decimal(0, 1, 'a duty cycle from 0 to 1'),
    timeout: seconds.optional(),
  }),
  read_adc: z.object({ pin }),
  i2c_scan: z.object({ bus: integer(0, 255).optional() }),
  list_sensors: empty,
  read_sensor: z.object({ name }),
  subscribe: z.object({
    pin: pin.optional(),
    edge: oneOf(['rising', 'falling', 'both']).optional(),
    sensor: name.optional(),
    interval_ms: integer(50, 86_400_000).optional(),
  }),
  unsubscribe: z.object({ sub: integer(1, 2 ** 31 - 1) }),
  get_state: empty,
  reset: empty,
  sleep: z.object({ deep: flag.optional(), time_ms: integer(1, 86_400_000) }),
  // OTA update of the MicroPython firmware (protocol.md §5.19); each op checks its own fields.
  update: z.object({ op: oneOf(['status', 'list', 'begin', 'chunk', 'commit', 'abort', 'clear']) }),
} as const;

export type ActionName = keyof typeof ACTION_SCHEMAS;
export type ActionArgs<A extends ActionName> = z.output<(typeof ACTION_SCHEMAS)[A]>;

export const ACTION_SCOPES: Readonly<Record<ActionName, Scope | null>> = {
  ping: null,
  get_version: null,
  auth: null,
  challenge: null,
  get_info: 'read',
  list_actions: 'read',
  setup_pin: 'actuate',
  read_pin: 'read',
  write_pin: 'actuate',
  pwm: 'actuate',
  read_adc: 'read',
  i2c_scan: 'read',
  list_sensors: 'read',
  read_sensor: 'read',
  subscribe: 'read',
  unsubscribe: 'read',
  get_state: 'read',
  reset: 'admin',
  sleep: 'admin',
  update: 'admin',
};

/** Other names accepted for an action; the reply echoes the name the client used. */
export const ACTION_ALIASES: Readonly<Record<string, ActionName>> = { get_resource_info: 'get_info' };

export const ACTION_NAMES = Object.keys(ACTION_SCHEMAS) as ActionName[];

const lookup = new Map<string, ActionName>([
  ...ACTION_NAMES.map((a): [string, ActionName] => [a, a]),
  ...Object.entries(ACTION_ALIASES),
]);

/** Resolves a client's action name; a Map so that `toString` or `__proto__` never match. */
export function resolveAction(action: string): ActionName | undefined {
  return lookup.get(action);
}

export function scopeAllows(held: Scope, needed: Scope | null): boolean {
  if (needed === null) return true;
  const rank: Record<Scope, number> = { read: 0, actuate: 1, admin: 2 };
  return rank[held] >= rank[needed];
}
