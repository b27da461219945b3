// Link messages: what a board and a hub say to each other in hub mode (protocol.md §10).
// They travel in the same frames as protocol v1 and are told apart by their `link` field.
import { z } from 'zod';
import type { JsonObject } from '../codec.js';
import { NONCE_PATTERN, PROOF_PATTERN } from '../auth.js';
import { ProtocolError } from '../errors.js';
import { isSeq } from './seq.js';
import { MAX_UPTIME_MS } from '../events.js';

/** Link protocol 2 authenticates both sides and seals every frame; 1 sent the token in the hello. */
export const LINK_VERSION = 2;

/** The longest frame a board takes from the hub, as its hello may say (protocol.md §10.1, §10.7). */
export const MAX_FRAME = { min: 256, default: 4096, max: 1_048_576 } as const;

/**
 * The most events one `batch` event may carry (protocol.md §10.4). The hub says it in its
 * welcome; a board batches only for a hub that said it, and never more than this.
 */
export const BATCH_EVENTS = { max: 64 } as const;

/** Keepalive bounds the hub chooses within (protocol.md §10.3). */
export const KEEPALIVE_MS = { min: 200, default: 1000, max: 60_000 } as const;
/** Silence that declares an outage, as a multiple of the keepalive interval. */
export const OUTAGE_FACTOR = 3.5;

const seq = z.custom<number>(isSeq, { error: 'expected a sequence number, an integer from 0 to 2^32 - 1' });
const id = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1–64 letters, digits, _ . or -' });
const nonce = z.string().regex(NONCE_PATTERN, { error: 'expected 32 lowercase hex digits (16 random bytes)' });
const proof = z.string().regex(PROOF_PATTERN, { error: 'expected 64 lowercase hex digits (an HMAC-SHA256)' });

export const helloSchema = z.object({
  link: z.literal('hello'),
  protocol: z.number().int(),
  device_id: id,
  /** New at every hello: the hub's proof covers it, so no recorded challenge answers this hello. */
  nonce,
  /** Changes at every start of the board; a new one tells the hub the board lost its link state. */
  boot_id: z.string().min(1).max(64),
  firmware: z.string().max(64).default(''),
  capabilities: z.array(z.string().max(32)).max(64).default([]),
  /** What the board received from the hub so far: the hub's stream id and its last number delivered. */
  rx: z.object({ stream: z.string().max(64).nullable(), last: seq }).default({ stream: null, last: 0 }),
  /** The board's monotonic uptime now: the hub maps the board's `ts` values onto its wall clock with it. */
  uptime_ms: z.number().nonnegative().max(MAX_UPTIME_MS).optional(),
  /** The longest frame the board takes from the hub, sealed, without its line ending. */
  max_frame: z
    .number()
    .int()
    .min(MAX_FRAME.min, { error: `expected ${MAX_FRAME.min}–${MAX_FRAME.max} bytes` })
    .max(MAX_FRAME.max, { error: `expected ${MAX_FRAME.min}–${MAX_FRAME.max} bytes` })
    .optional(),
  /** The keepalive interval the board would like; the hub decides. */
  keepalive_ms: z.number().int().positive().optional(),
});

/** The hub's answer to a hello: its nonce and its proof that it knows the board's key (§10.5). */
export const challengeSchema = z.object({ link: z.literal('challenge'), nonce, proof });

/** The board's proof, sent only after it checked the hub's. */
export const authSchema = z.object({ link: z.literal('auth'), proof });

export const welcomeSchema = z.object({
  link: z.literal('welcome'),
  protocol: z.number().int(),
  session: z.string(),
  keepalive_ms: z.number().int().min(KEEPALIVE_MS.min).max(KEEPALIVE_MS.max),
  outage_ms: z.number().int().positive(),
  /** The hub's stream to this board; a different one than the board knows starts its inbox over. */
  stream: z.string().min(1).max(64),
  /** The last board message the hub committed, in the board's current boot. */
  ack: seq,
  /** The most events the hub takes in one `batch` event; absent from a hub that takes none. */
  batch: z.number().int().min(1).max(BATCH_EVENTS.max).optional(),
});

export const rejectSchema = z.object({
  link: z.literal('reject'),
  error: z.object({ code: z.string(), message: z.string() }),
});

export const msgSchema = z.object({
  link: z.literal('msg'),
  seq,
  /** A piggybacked cumulative acknowledgement of the other direction. */
  ack: seq.optional(),
  body: z.record(z.string(), z.unknown()),
});

export const ackSchema = z.object({ link: z.literal('ack'), ack: seq });
export const pingSchema = z.object({ link: z.literal('ping') });
export const closeSchema = z.object({ link: z.literal('close'), reason: z.enum(['replaced', 'shutdown', 'reset']) });

export type Hello = z.output<typeof helloSchema>;
export type Challenge = z.output<typeof challengeSchema>;
export type LinkAuth = z.output<typeof authSchema>;
export type Welcome = z.output<typeof welcomeSchema>;
export type Reject = z.output<typeof rejectSchema>;
export type LinkMsg = z.output<typeof msgSchema>;
export type LinkAck = z.output<typeof ackSchema>;
export type LinkPing = z.output<typeof pingSchema>;
export type LinkClose = z.output<typeof closeSchema>;
export type LinkMessage = Hello | Challenge | LinkAuth | Welcome | Reject | LinkMsg | LinkAck | LinkPing | LinkClose;

const SCHEMAS = new Map<string, z.ZodType<LinkMessage>>([
  ['hello', helloSchema],
  ['challenge', challengeSchema],
  ['auth', authSchema],
  ['welcome', welcomeSchema],
  ['reject', rejectSchema],
  ['msg', msgSchema],
  ['ack', ackSchema],
  ['ping', pingSchema],
  ['close', closeSchema],
]);

/** Validates a decoded frame as a link message; throws a ProtocolError naming the field. */
export function parseLinkMessage(message: JsonObject): LinkMessage {
  const kind = message['link'];
  if (kind === 'msg') {
    const msg = wellFormedMsg(message);
    if (msg !== undefined) return msg;
  }
  const schema = typeof kind === 'string' ? SCHEMAS.get(kind) : undefined;
  if (schema === undefined) {
    throw new ProtocolError('unknown_action', `link: expected one of ${[...SCHEMAS.keys()].join(', ')}, got ${JSON.stringify(kind)}`);
  }
  if (kind === 'hello') checkLinkVersion(message['protocol']);
  const result = schema.safeParse(message);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? 'link';
    const top = issue?.path[0];
    const missing = typeof top === 'string' && !Object.hasOwn(message, top);
    throw new ProtocolError(missing ? 'missing_field' : 'bad_field', `${path}: ${missing ? 'required' : (issue?.message ?? 'invalid')}`);
  }
  return result.data;
}

/**
 * The `msg` frame checked by hand: it is nearly every frame a busy link carries, and msgSchema
 * would copy its body. What passes here is what msgSchema passes (with the same output, the
 * body itself in place of its copy); anything else goes through msgSchema for its error.
 */
function wellFormedMsg(message: JsonObject): LinkMsg | undefined {
  const { seq, ack, body } = message;
  if (!isSeq(seq) || (ack !== undefined && !isSeq(ack))) return undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const proto: unknown = Object.getPrototypeOf(body);
  if (proto !== Object.prototype && proto !== null) return undefined;
  return ack === undefined ? { link: 'msg', seq, body: body as Record<string, unknown> } : { link: 'msg', seq, ack, body: body as Record<string, unknown> };
}

/**
 * A hello of another link protocol is refused before its fields are read: a protocol-1 hello
 * has a token and no nonce, and `unsupported` tells the board's owner more than `missing_field`.
 */
function checkLinkVersion(version: unknown): void {
  if (typeof version !== 'number' || version === LINK_VERSION) return;
  const why =
    version === 1
      ? "link protocol 1 sent the board's token in the clear and is not spoken any more; update the board's firmware to one that speaks link protocol 2"
      : `update the board's firmware (or the hub) so that both speak link protocol ${LINK_VERSION}`;
  throw new ProtocolError('unsupported', `this hub speaks link protocol ${LINK_VERSION}, the board sent ${version}: ${why}`);
}

/** The keepalive interval the hub grants for a board's wish, and the silence that means an outage. */
export function negotiateKeepalive(wish: number | undefined, hubDefault: number = KEEPALIVE_MS.default): { keepalive_ms: number; outage_ms: number } {
  const keepalive = Math.min(KEEPALIVE_MS.max, Math.max(KEEPALIVE_MS.min, Math.round(wish ?? hubDefault)));
  return { keepalive_ms: keepalive, outage_ms: Math.round(keepalive * OUTAGE_FACTOR) };
}
