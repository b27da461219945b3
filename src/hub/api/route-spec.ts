// One definition per route: the server registers it with Fastify (its params and querystring
// schemas validate requests) and openapi.ts describes it from the same object, so the document
// cannot drift from what the server accepts. server.ts refuses a route registered any other way.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { ApiScope } from '../api-scope.js';
import type { HubErrorCode } from '../errors.js';
import type { ApiTokenStore } from '../store/port.js';
import type { HubFacade } from './facade.js';

/** A JSON Schema (draft 2020-12, which OpenAPI 3.1 uses too). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** The schema of a path or query: named scalar parameters. */
export interface ParamsSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties: false;
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify's form, `/api/devices/:id`. */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  /**
   * The token scope the route needs (api-token.ts: read < control < admin); null only for the
   * OpenAPI document, which tools must read before they have a token.
   */
  readonly scope: ApiScope | null;
  readonly params?: ParamsSchema;
  readonly querystring?: ParamsSchema;
  /** Documented only: the handler checks the body itself (see routes-devices.ts for why). */
  readonly body?: { readonly description: string; readonly schema: JsonSchema };
  readonly response: { readonly status: number; readonly description: string; readonly schema: JsonSchema };
  /** The hub codes the route may answer with besides bad_request and those of the token check. */
  readonly errors?: readonly HubErrorCode[];
  /** The route also relays a board's coded failure reply (protocol.md §6). */
  readonly relaysBoardErrors?: boolean;
}

/** Returns the body (or a promise of it), or sends it through `reply` and returns `reply`. */
export type HttpHandler = (request: FastifyRequest, reply: FastifyReply) => unknown;
export type SocketHandler = (socket: WebSocket, request: FastifyRequest) => void;

export type ApiRoute = RouteSpec & ({ readonly handle: HttpHandler } | { readonly websocket: SocketHandler });

/** What the API logs through; the device's Logger and pino's satisfy it (the hub does not import the device). */
export interface ApiLogger {
  warn(message: string): void;
  error(message: string): void;
}

/** The named API tokens, as the API manages them (the store's). */
export type ApiTokenRegistry = ApiTokenStore;

/** What route handlers are built from. */
export interface ApiContext {
  facade: HubFacade;
  tokens: ApiTokenRegistry;
  version: string;
  logger: ApiLogger;
  /** Wall-clock ms; the default ranges of queries end now. */
  now: () => number;
  streamPingMs: number;
}

export function paramsSchema(properties: Record<string, JsonSchema>, required: string[] = []): ParamsSchema {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

export const DEVICE_ID_PARAMS = paramsSchema({ id: { type: 'string', minLength: 1, description: 'The board id, as GET /api/devices lists it.' } }, ['id']);

export function limitSchema(defaultLimit: number, max: number): JsonSchema {
  return {
    type: 'integer',
    minimum: 1,
    maximum: max,
    default: defaultLimit,
    description: `At most this many entries (default ${defaultLimit}, at most ${max}).`,
  };
}

export function refSchema(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

/** `{ key: [items] }`, the shape of every list answer. */
export function listOf(key: string, item: string): JsonSchema {
  return { type: 'object', required: [key], properties: { [key]: { type: 'array', items: refSchema(item) } } };
}

/** The path parameter `id`, after Fastify validated it. */
export function deviceIdOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}
