// The OpenAPI 3.1 document of the API, built from the same route definitions the server
// registers (route-spec.ts), plus hand-written schemas of the bodies the hub answers with.
import { ERROR_CODES } from '../../protocol/errors.js';
import { API_SCOPES } from '../api-scope.js';
import { HUB_ERROR_CATALOGUE, type HubErrorCode } from '../errors.js';
import { ROLLOUT_SCHEMAS, ROLLOUT_UPDATE_SCHEMA } from './rollout-schemas.js';
import type { ApiRoute, JsonSchema, ParamsSchema } from './route-spec.js';

export const OPENAPI_PATH = '/api/openapi.json';

const HUB_CODES = Object.keys(HUB_ERROR_CATALOGUE) as HubErrorCode[];

const nullable = (type: string): JsonSchema => ({ type: [type, 'null'] });
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const ERROR_DETAIL: JsonSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: {
      type: 'string',
      enum: [...HUB_CODES, ...ERROR_CODES],
      description: "The hub's own codes (docs/api.md) or a board's, relayed (protocol.md §6). Act on the code, never on the message.",
    },
    message: { type: 'string', description: 'What went wrong and what to do next, for people.' },
    problems: {
      type: 'array',
      description: 'rule_invalid only: every problem of the rule sent, each with the path of its field inside it (`then.lease_s`, `(top level)`).',
      items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const DRY_RUN_ENTRY = (what: string, field: string): JsonSchema => ({
  type: 'object',
  required: ['ts', 'device', field],
  properties: { ts: { type: 'integer', description: 'Wall-clock ms.' }, device: { type: 'string' }, [field]: { type: 'object', additionalProperties: true, description: what } },
});

const SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  Error: { type: 'object', required: ['error'], properties: { error: ref('ErrorDetail') } },
  ErrorDetail: ERROR_DETAIL,
  ...ROLLOUT_SCHEMAS,
  DeviceView: {
    type: 'object',
    required: ['id', 'name', 'online', 'firmware', 'capabilities', 'bootId', 'firstSeen', 'lastSeen', 'address', 'rssi', 'linkedSince', 'bootedAt'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      online: { type: 'boolean' },
      firmware: { type: 'string' },
      capabilities: { type: 'array', items: { type: 'string' } },
      bootId: { ...nullable('string'), description: "The board's current boot id; null before its first link." },
      firstSeen: { ...nullable('integer'), description: 'Wall-clock ms of the first link activity.' },
      lastSeen: { ...nullable('integer'), description: 'Wall-clock ms of the latest link activity.' },
      address: { ...nullable('string'), description: 'Where the hub dials the board, or null for a board that dials in.' },
      rssi: { ...nullable('integer'), description: 'WiFi signal strength in dBm as the board last reported it (get_info rssi, asked at every link); null when it never did.' },
      linkedSince: { ...nullable('integer'), description: "Wall-clock ms when the board's current link came up (its latest online event); null while it is offline." },
      bootedAt: {
        ...nullable('integer'),
        description: "Wall-clock ms when the board's current boot started: its reported uptime counted back from when it reported it, on the hub's clock; uptime now is the current time minus this. Null while it is offline.",
      },
    },
  },
  DeviceState: {
    type: ['object', 'null'],
    description: "The board's last `state` event (protocol.md §10.4): pins, leases, sensors, boot_id, uptime_s. Null before one arrived.",
    additionalProperties: true,
  },
  SensorSummary: {
    type: 'object',
    required: ['sensor', 'quantity', 'unit', 'lastTs', 'lastValue'],
    properties: {
      sensor: { type: 'string' },
      quantity: { type: 'string' },
      unit: nullable('string'),
      lastTs: { type: 'integer', description: 'Wall-clock ms of the latest reading.' },
      lastValue: { type: 'number' },
    },
  },
  DeviceSensorSummary: {
    description: 'A SensorSummary with the board it belongs to.',
    allOf: [ref('SensorSummary'), { type: 'object', required: ['device'], properties: { device: { type: 'string' } } }],
  },
  ReadingBucket: {
    type: 'object',
    description: 'A bucket of readings, or a raw point (min = max = avg, count 1).',
    required: ['sensor', 'quantity', 'ts', 'min', 'max', 'avg', 'count'],
    properties: {
      sensor: { type: 'string' },
      quantity: { type: 'string' },
      ts: { type: 'integer', description: "Wall-clock ms: the bucket's start, or the point's time." },
      min: { type: 'number' },
      max: { type: 'number' },
      avg: { type: 'number' },
      count: { type: 'integer', minimum: 1 },
    },
  },
  StoredEvent: {
    type: 'object',
    required: ['id', 'device', 'ts', 'type', 'data'],
    properties: {
      id: { type: 'integer', description: 'Increasing; pass the last one seen as after_id to page forward.' },
      device: { type: 'string' },
      ts: { type: 'integer', description: 'Wall-clock ms.' },
      type: { type: 'string', description: 'A board event (lease_expired, edge, …) or a hub one (online, offline, rule_fired, rule_failed, command_reply, rollout_started, rollout_result, rollout_ended; rule_changed, registered, token_rotated, removed with data.by, the name of the API token that made the change).' },
      data: { type: 'object', additionalProperties: true },
    },
  },
  RuleView: {
    type: 'object',
    required: ['name', 'kind', 'description', 'lastFired', 'fired', 'lastError', 'source', 'enabled', 'definition'],
    properties: {
      name: { type: 'string' },
      kind: { enum: ['rule', 'binding'] },
      description: { type: 'string' },
      lastFired: nullable('integer'),
      fired: { type: 'integer', minimum: 0 },
      lastError: nullable('string'),
      source: { enum: ['config', 'api'], description: '`config`: from the hub config file, read-only through the API; `api`: made through the API and kept in the store.' },
      enabled: { type: 'boolean', description: 'A disabled rule is kept but not run.' },
      definition: ref('RuleDefinition'),
    },
  },
  RuleDefinition: {
    type: 'object',
    description: "A hub config rules[] entry {name, description?, when, then} or bindings[] entry {name, description?, from, to} (docs/hub-config.md); an object with `from` is a binding.",
    required: ['name'],
    properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, description: { type: 'string' } },
    additionalProperties: true,
    examples: [{ name: 'fan', when: { device: 'greenhouse', sensor: 'air', quantity: 'temperature', above: 28 }, then: { device: 'shed', pin: 15, value: 1, lease_s: 30 } }],
  },
  DryRun: {
    type: 'object',
    description: 'What a rule would have done over the last hour of stored readings and edges; the board is taken to say yes to every write.',
    required: ['rule', 'from', 'to', 'readings', 'edges', 'fired', 'writes', 'truncated'],
    properties: {
      rule: { type: 'string' },
      from: { type: 'integer', description: 'Wall-clock ms, inclusive.' },
      to: { type: 'integer', description: 'Wall-clock ms, exclusive.' },
      readings: { type: 'integer', minimum: 0, description: 'Stored readings the rule was fed.' },
      edges: { type: 'integer', minimum: 0, description: 'Stored edges the rule was fed.' },
      fired: { type: 'array', items: DRY_RUN_ENTRY('As a rule_fired event: {pin, value, lease_s, trigger} or {http, trigger}.', 'detail') },
      writes: { type: 'array', items: DRY_RUN_ENTRY('The protocol request (write_pin, pwm; renewals included) or {http: {method, url}}.', 'request') },
      truncated: { type: 'boolean', description: 'More happened than the lists hold (500 each).' },
    },
  },
  ApiToken: {
    type: 'object',
    required: ['name', 'scope', 'createdAt'],
    properties: {
      name: { type: 'string' },
      scope: { enum: [...API_SCOPES] },
      createdAt: { type: 'integer', description: 'Wall-clock ms.' },
    },
  },
  NewApiToken: {
    description: 'An ApiToken with the token itself, shown this once: the hub keeps only its SHA-256.',
    allOf: [ref('ApiToken'), { type: 'object', required: ['token'], properties: { token: { type: 'string' } } }],
  },
  BoardLinkMaterial: {
    type: 'object',
    description: 'What a board needs to link to the hub, each piece ready to copy (docs/hub.md, Registering boards).',
    required: ['hubJson', 'hubJsonPath', 'tokenFile', 'deviceCommand', 'installTokenFile', 'notes'],
    properties: {
      hubJson: { type: 'string', description: "The firmware's config/hub.json (Pico W, ESP32), one line; it holds the token." },
      hubJsonPath: { const: 'config/hub.json' },
      tokenFile: { type: 'string', description: 'The file deviceCommand reads the token from; put the token there, readable only by you.' },
      deviceCommand: { type: 'string', description: '`tether device …` for a Raspberry Pi or other Linux board.' },
      installCommand: { type: 'string', description: "`tether install …` for a board on USB of the hub's machine; it takes the token up from installTokenFile." },
      installTokenFile: { type: 'string', description: 'The file (in the folder tether install runs in) to put the token in for installCommand.' },
      notes: { type: 'array', items: { type: 'string' }, description: 'What to fix by hand before the material works (a loopback-only link, say).' },
    },
  },
  NewBoardLink: {
    type: 'object',
    description: "A board's token and its link material, shown this once: the hub keeps only the token's SHA-256.",
    required: ['device', 'token', 'link'],
    properties: { device: ref('DeviceView'), token: { type: 'string' }, link: ref('BoardLinkMaterial') },
  },
  CommandReply: {
    type: 'object',
    description: "The board's reply (protocol.md §3.2): the request's fields echoed, the results, and `ok`; `error` when it failed.",
    required: ['ok'],
    properties: { ok: { type: 'boolean' }, error: ref('ErrorDetail') },
    additionalProperties: true,
  },
  HubUpdate: {
    oneOf: [
      { type: 'object', required: ['type', 'device'], properties: { type: { const: 'device' }, device: ref('DeviceView') } },
      {
        type: 'object',
        required: ['type', 'device', 'state'],
        properties: { type: { const: 'state' }, device: { type: 'string' }, state: { type: 'object', additionalProperties: true } },
      },
      {
        type: 'object',
        required: ['type', 'device', 'sensor', 'ts', 'values', 'units'],
        properties: {
          type: { const: 'reading' },
          device: { type: 'string' },
          sensor: { type: 'string' },
          ts: { type: 'integer' },
          values: { type: 'object', additionalProperties: { type: 'number' } },
          units: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      { type: 'object', required: ['type', 'device', 'event'], properties: { type: { const: 'event' }, device: { type: 'string' }, event: ref('StoredEvent') } },
      ROLLOUT_UPDATE_SCHEMA,
    ],
  },
  StreamMessage: {
    oneOf: [
      { type: 'object', required: ['type', 'version'], properties: { type: { const: 'hello' }, version: { type: 'string' } } },
      {
        type: 'object',
        description: 'How many reading updates were dropped because the client fell behind; sent before the next message.',
        required: ['type', 'count'],
        properties: { type: { const: 'readings_dropped' }, count: { type: 'integer', minimum: 1 } },
      },
      ref('HubUpdate'),
    ],
  },
};

const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      "The admin token in <data>/api-token, made on the hub's first start, or a named token with a scope (read, control, admin) " +
      'from POST /api/tokens or tether hub token create. Each operation names the scope it needs in x-scope.',
  },
  queryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'The same token; only GET /api/stream takes it here.' },
  subprotocolToken: {
    type: 'apiKey',
    in: 'header',
    name: 'Sec-WebSocket-Protocol',
    description: 'The same token as the subprotocol bearer.<token>; only GET /api/stream takes it here.',
  },
};

/** `/api/devices/:id` → `/api/devices/{id}` */
export function openApiPath(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: ParamsSchema | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (schema === undefined) return [];
  return Object.entries(schema.properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (schema.required ?? []).includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

function errorResponses(route: ApiRoute): Record<string, JsonSchema> {
  const codes: HubErrorCode[] = [];
  if (route.params !== undefined || route.querystring !== undefined || route.body !== undefined) codes.push('bad_request');
  if (route.scope !== null) codes.push('unauthenticated', 'rate_limited');
  // read is the lowest scope: every known token has it.
  if (route.scope !== null && route.scope !== 'read') codes.push('forbidden');
  codes.push(...(route.errors ?? []));
  const byStatus = new Map<number, HubErrorCode[]>();
  for (const code of codes) {
    const status = HUB_ERROR_CATALOGUE[code].httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, group] of byStatus) {
    responses[String(status)] = { description: group.map((c) => `${c}: ${HUB_ERROR_CATALOGUE[c].summary}`).join(' '), content: json(ref('Error')) };
  }
  responses.default = route.relaysBoardErrors
    ? { description: "The board's failure reply, with the HTTP status of its error code (protocol.md §6); or `internal`.", content: json(ref('CommandReply')) }
    : { description: '`internal`: the hub failed; its log says why.', content: json(ref('Error')) };
  return responses;
}

function json(schema: JsonSchema): JsonSchema {
  return { 'application/json': { schema } };
}

function operation(route: ApiRoute): JsonSchema {
  const websocket = 'websocket' in route;
  const { status, description, schema } = route.response;
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description !== undefined ? { description: route.description } : {}),
    ...(route.scope !== null ? { 'x-scope': route.scope } : { security: [] }),
    ...(websocket ? { security: [{ bearer: [] }, { queryToken: [] }, { subprotocolToken: [] }], 'x-websocket': true } : {}),
    parameters: [...parameters(route.params, 'path'), ...parameters(route.querystring, 'query')],
    ...(route.body !== undefined ? { requestBody: { required: true, description: route.body.description, content: json(route.body.schema) } } : {}),
    responses: {
      [String(status)]: websocket ? { description } : { description, content: json(schema) },
      ...errorResponses(route),
    },
  };
}

export function buildOpenApi(routes: readonly ApiRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = (paths[openApiPath(route.url)] ??= {});
    path[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tether hub API',
      version,
      description: 'Boards dial the hub; this API lists them, relays commands to them and streams what they report. See docs/api.md.',
    },
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: SECURITY_SCHEMES, schemas: SCHEMAS },
  };
}

/** GET /api/openapi.json, built once, on first request, when every route is registered. */
export function openApiRoute(routes: () => readonly ApiRoute[], version: string): ApiRoute {
  let document: Record<string, unknown> | undefined;
  return {
    method: 'GET',
    url: OPENAPI_PATH,
    operationId: 'getOpenApi',
    summary: 'This document. It needs no token, so that tools can read it first.',
    scope: null,
    response: { status: 200, description: 'An OpenAPI 3.1 document.', schema: { type: 'object' } },
    handle: () => (document ??= buildOpenApi(routes(), version)),
  };
}
