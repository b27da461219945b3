// From a frame's bytes to a request object, and from a result to a reply (protocol.md §3).
import { isUtf8 } from 'node:buffer';
import { ProtocolError, type WireError } from './errors.js';
import type { JsonObject } from './json.js';

export type { JsonObject };

export type Decoded = { ok: true; message: JsonObject } | { ok: false; error: ProtocolError };

/**
 * Deepest nesting of arrays and objects a frame may have (protocol.md §2). JSON.parse takes far
 * deeper input, but echoing it back would overflow the stack; no request needs more than a few.
 */
export const MAX_NESTING = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Nesting depth of a JSON text, skipping strings; a linear scan over the bytes. */
export function nestingExceeds(bytes: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--;
  }
  return false;
}

export function decodeFrame(bytes: Buffer): Decoded {
  if (!isUtf8(bytes)) {
    return { ok: false, error: new ProtocolError('bad_utf8', 'the frame is not valid UTF-8; send JSON text encoded as UTF-8') };
  }
  if (nestingExceeds(bytes, MAX_NESTING)) {
    return { ok: false, error: new ProtocolError('bad_json', `the frame nests arrays or objects deeper than ${MAX_NESTING} levels; send a flat request`) };
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, error: new ProtocolError('bad_json', `the frame is not valid JSON (${detail}); send one JSON object per line`) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return {
      ok: false,
      error: new ProtocolError('not_an_object', `the frame is ${kind}; each line must be one JSON object such as {"action":"ping"}`),
    };
  }
  return { ok: true, message: value as JsonObject };
}

/** A reply echoes every request field, then adds the results and `ok` (protocol.md §3.2). */
export function okReply(request: JsonObject | undefined, results: JsonObject | undefined): JsonObject {
  const reply: JsonObject = { ...request, ...results, ok: true };
  // `error` in a reply means failure; an echoed request field must not say otherwise.
  if (request !== undefined && Object.hasOwn(request, 'error')) delete reply['error'];
  return reply;
}

export function errorReply(request: JsonObject | undefined, error: WireError): JsonObject {
  return { ...request, ok: false, error };
}

/** Events carry `event` and never `ok`, which is how a reader tells them from replies. */
export function isEventMessage(message: JsonObject): boolean {
  return typeof message['event'] === 'string' && !('ok' in message);
}
