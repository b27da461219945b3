// A decoded JSON object: what frames carry. In a module of its own, free of Node's APIs, so that
// the web dashboard can share the hub's types (src/hub/types.ts) without pulling in the codec.
export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite number: JSON has no NaN or Infinity, so anything else came from a bad parse. */
export function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
