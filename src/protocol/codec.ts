// From a frame's bytes to a request object, and from a result to a reply (protocol.md §3).
import { isUtf8 } from 'node:buffer';
import { ProtocolError, type WireError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export type Decoded = { ok: true; message: JsonObject } | { ok: false; error: ProtocolError };

export function decodeFrame(bytes: Buffer): Decoded {
  if (!isUtf8(bytes)) {
    return { ok: false, error: new ProtocolError('bad_utf8', 'the frame is not valid UTF-8; send JSON text encoded as UTF-8') };
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
