// A decoded JSON object: what frames carry. In a module of its own, free of Node's APIs, so that
// the web dashboard can share the hub's types (src/hub/types.ts) without pulling in the codec.
export type JsonObject = Record<string, unknown>;
