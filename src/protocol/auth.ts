// Challenge–response authentication and per-frame MACs (protocol.md §8.1 direct mode, §10.5 the
// hub link). Everything is HMAC-SHA256 over short ASCII texts, so the MicroPython firmware
// (hashlib.sha256 only) computes exactly the same bytes; test/vectors/crypto.json holds both to it.
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Nonces are 16 random bytes as 32 lowercase hex digits. */
export const NONCE_PATTERN = /^[0-9a-f]{32}$/;
/** A proof is a whole HMAC-SHA256: 64 lowercase hex digits. */
export const PROOF_PATTERN = /^[0-9a-f]{64}$/;

/** The labels that keep a proof of one kind from being replayed as another (protocol.md §10.5, §8.1). */
export const LABELS = {
  link: { hub: 'tether-link-1 hub', board: 'tether-link-1 board', session: 'tether-link-1 session', toBoard: 'h2b', toHub: 'b2h' },
  direct: { client: 'tether-auth-1 client', board: 'tether-auth-1 board', session: 'tether-auth-1 session', toBoard: 'c2b', toClient: 'b2c' },
} as const;

/**
 * The key both sides hold for one token: SHA-256 of its UTF-8 bytes. The hub stores only this
 * (it is also the digest boards compare plain `auth` tokens by), never the token itself.
 */
export function keyOfToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_PATTERN.test(value);
}

/** SHA-256 of a frame's bytes (without its line ending), as hex: binds a proof to the hello it answers. */
export function frameDigest(frame: Buffer | string): string {
  return createHash('sha256').update(frame).digest('hex');
}

/** HMAC-SHA256 under `key` of the label and the parts joined by single spaces, as hex. */
export function proof(key: Buffer, label: string, ...parts: string[]): string {
  return createHmac('sha256', key).update([label, ...parts].join(' '), 'utf8').digest('hex');
}

/**
 * The MAC an update's `commit` carries (protocol.md §5.19): binds the version and the manifest
 * digest `begin` declared to the key of an admin token (or the board key over the hub link).
 */
export function manifestMac(key: Buffer, version: string, manifest: string): string {
  return proof(key, UPDATE_LABEL, version, manifest);
}

const UPDATE_LABEL = 'tether-update-1';

/** The 32-byte key of one authenticated connection, from the token's key and both nonces. */
export function sessionKey(key: Buffer, label: string, first: string, second: string): Buffer {
  return createHmac('sha256', key).update(`${label} ${first} ${second}`, 'utf8').digest();
}

/** Compares two hex proofs in constant time (for equal lengths; unequal lengths are simply false). */
export function proofEquals(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given, 'utf8'), Buffer.from(expected, 'utf8'));
}

// --- sealed frames ----------------------------------------------------------------------
// A sealed line is the frame with a first field {"mac":"<32 hex>", inserted: still one JSON
// object, readable in a capture, and the MAC covers the frame's exact bytes, so neither side
// needs a canonical JSON form. The MAC input starts with the direction and the frame's number
// on this connection, so a frame cannot be reflected, replayed, dropped or reordered unnoticed.

const SEAL_HEAD_TEXT = '{"mac":"';
const SEAL_HEAD = Buffer.from(SEAL_HEAD_TEXT, 'latin1');
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const NOT_SEALABLE = 'only a JSON object with at least one field can be sealed';
/** MAC length in hex digits: HMAC-SHA256 truncated to 128 bits. */
export const MAC_HEX = 32;
/** Bytes a seal adds to a frame: `"mac":"…",` (the frame's own `{` is reused). */
export const SEAL_OVERHEAD = SEAL_HEAD.length + MAC_HEX + 2 - 1;

/**
 * The whole HMAC of one frame in hex; its first MAC_HEX digits are the MAC. A string, not a
 * Buffer: this runs for every frame both ways, and each Buffer is an ArrayBuffer the garbage
 * collector sweeps one by one in its full collections (at saturation, most of their pause).
 */
function macDigest(key: KeyObject, direction: string, n: number, frame: Buffer | string): string {
  return createHmac('sha256', key).update(`${direction} ${n} `, 'latin1').update(frame).digest('hex');
}

/**
 * Whether the MAC_HEX lowercase hex digits at `at` in `line` are the MAC starting `digest`,
 * compared in constant time like proofEquals (every digit is looked at, whatever differs).
 */
function macMatches(line: Buffer, at: number, digest: string): boolean {
  let diff = 0;
  for (let i = 0; i < MAC_HEX; i++) diff |= (line[at + i] as number) ^ digest.charCodeAt(i);
  return diff === 0;
}

function startsWithSealHead(line: Buffer): boolean {
  for (let i = 0; i < SEAL_HEAD.length; i++) if (line[i] !== SEAL_HEAD[i]) return false;
  return true;
}

/** Seals the frames one side sends, numbering them from 0. */
export class Sealer {
  private n = 0;

  /** A KeyObject: HMAC with one is set up faster than with the key's bytes, once per frame. */
  private readonly key: KeyObject;

  constructor(
    key: Buffer,
    private readonly direction: string,
  ) {
    this.key = createSecretKey(key);
  }

  /** The sealed line for one frame (the frame's JSON text, no line ending); the caller adds `\n`. */
  seal(frame: Buffer | string): Buffer {
    if (typeof frame === 'string') return Buffer.from(this.sealText(frame), 'utf8');
    if (frame.length < 2 || frame[0] !== OPEN_BRACE || frame[1] === CLOSE_BRACE) throw new Error(NOT_SEALABLE);
    return Buffer.concat([SEAL_HEAD, Buffer.from(`${this.tag(frame)}",`, 'latin1'), frame.subarray(1)]);
  }

  /** seal() for a frame given as text, as text: the sealed line made as one string, no Buffer. */
  sealText(frame: string): string {
    if (frame.length < 2 || frame.charCodeAt(0) !== OPEN_BRACE || frame.charCodeAt(1) === CLOSE_BRACE) throw new Error(NOT_SEALABLE);
    return `${SEAL_HEAD_TEXT}${this.tag(frame)}",${frame.slice(1)}`;
  }

  /** The next frame's MAC; it numbers the frame. */
  private tag(frame: Buffer | string): string {
    return macDigest(this.key, this.direction, this.n++, frame).slice(0, MAC_HEX);
  }
}

/** Why a sealed line was refused: the connection it came on is closed, nothing in it is acted on. */
export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** Checks the frames one side receives, in order, and gives back each frame without its seal. */
export class Unsealer {
  private n = 0;

  /** A KeyObject: HMAC with one is set up faster than with the key's bytes, once per frame. */
  private readonly key: KeyObject;

  constructor(
    key: Buffer,
    private readonly direction: string,
  ) {
    this.key = createSecretKey(key);
  }

  open(line: Buffer): Buffer {
    const head = SEAL_HEAD.length;
    if (line.length < head + MAC_HEX + 3 || !startsWithSealHead(line) || line[head + MAC_HEX] !== 0x22 || line[head + MAC_HEX + 1] !== 0x2c) {
      throw new SealError(`frame ${this.n} is not sealed; after authentication every frame carries a MAC`);
    }
    // The MAC's input (the direction, the number, the frame) built in one buffer: one HMAC update,
    // and the frame given back is its tail.
    const prefix = `${this.direction} ${this.n} `;
    const rest = line.subarray(head + MAC_HEX + 2);
    const input = Buffer.allocUnsafe(prefix.length + 1 + rest.length);
    const at = input.write(prefix, 0, 'latin1');
    input[at] = OPEN_BRACE;
    rest.copy(input, at + 1);
    const digest = createHmac('sha256', this.key).update(input).digest('hex');
    const frame = input.subarray(at);
    if (!macMatches(line, head, digest)) throw new SealError(`frame ${this.n} failed its MAC: it was altered, injected, replayed or reordered`);
    this.n++;
    return frame;
  }
}
