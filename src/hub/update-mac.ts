// The hub vouches for an update it relays (protocol.md §5.19): a board applies an `update`
// `commit` only with a MAC of its version and manifest digest under a key it shares with the
// sender. An API client holds no board key, so the hub adds the MAC with the board's key (the
// board key of a board that dials in, the key of the configured token of one the hub dials).
import type { JsonObject } from '../protocol/codec.js';
import { manifestMac } from '../protocol/auth.js';

/**
 * The request to send: an `update` `commit` naming `version` and `manifest` gets `manifest_mac`
 * (replacing any the caller sent); every other request is returned as it is. `keyOf` is called
 * only for such a commit; without a key the request goes as it is and the board refuses it.
 */
/** Whether withManifestMac would sign this request (and so needs the board's key). */
export function needsManifestMac(request: JsonObject): boolean {
  return request['action'] === 'update' && request['op'] === 'commit';
}

export function withManifestMac(request: JsonObject, keyOf: () => Buffer | undefined): JsonObject {
  if (!needsManifestMac(request)) return request;
  const { version, manifest } = request;
  if (typeof version !== 'string' || typeof manifest !== 'string') return request;
  const key = keyOf();
  if (key === undefined) return request;
  return { ...request, manifest_mac: manifestMac(key, version, manifest) };
}
