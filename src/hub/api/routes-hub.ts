// The hub itself: is it up, what is it, and who is asking. Its rules are routes-rules.ts's.
import { API_SCOPES } from '../api-scope.js';
import { identityOf } from './auth.js';
import { type ApiContext, type ApiRoute } from './route-spec.js';

/** StorageStatus (types.ts): `full` while the hub cannot write, when writes answer 507 storage_full. */
const STORAGE_STATUS = {
  type: 'object',
  required: ['state', 'since', 'error', 'bytes', 'maxBytes'],
  properties: {
    state: { enum: ['ok', 'full'] },
    since: { type: ['integer', 'null'], description: 'Wall-clock ms of the write that failed; null while ok.' },
    error: { type: ['string', 'null'], description: 'What that write said, e.g. "SQLITE_FULL: database or disk is full".' },
    bytes: { type: 'integer', minimum: 0, description: 'What the database takes: its pages in use and its WAL.' },
    maxBytes: { type: ['integer', 'null'], description: 'retention.max_mb in bytes, or null without a size bound.' },
  },
} as const;

/** MqttStatus (types.ts): the bridge's connection to its broker (docs/mqtt.md). */
const MQTT_STATUS = {
  type: 'object',
  required: ['state', 'url', 'since', 'error', 'retryAt'],
  properties: {
    state: { enum: ['connecting', 'connected', 'down'], description: '`connecting`: the first try or a retry under way; `down`: waiting to try again.' },
    url: { type: 'string', description: 'The broker URL (never with credentials).' },
    since: { type: 'integer', description: 'Wall-clock ms the state began.' },
    error: { type: ['string', 'null'], description: 'Why the last try failed or the connection dropped, e.g. "connection refused: not authorized"; null when none has.' },
    retryAt: { type: ['integer', 'null'], description: 'Wall-clock ms of the next try while down; null otherwise.' },
  },
} as const;

/** HubInfo (types.ts). */
const HUB_INFO = {
  type: 'object',
  required: ['id', 'version', 'mqtt'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9]{6,32}$', description: "The hub's stable id, kept in <data>/hub-id; Home Assistant's unique_ids use it." },
    version: { type: 'string' },
    mqtt: { oneOf: [MQTT_STATUS, { type: 'null' }], description: 'The MQTT bridge, or null when the hub config has no mqtt section.' },
  },
} as const;

export function hubRoutes({ facade, version }: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/health',
      operationId: 'getHealth',
      summary: "The hub's version, how many boards are registered and online, and whether it can store what they send.",
      scope: 'read',
      response: {
        status: 200,
        description: 'The hub answers.',
        schema: {
          type: 'object',
          required: ['ok', 'version', 'devices', 'online', 'storage'],
          properties: {
            ok: { const: true },
            version: { type: 'string' },
            devices: { type: 'integer', minimum: 0 },
            online: { type: 'integer', minimum: 0 },
            storage: STORAGE_STATUS,
          },
        },
      },
      handle: async () => {
        const devices = facade.devices();
        return { ok: true, version, devices: devices.length, online: devices.filter((d) => d.online).length, storage: await facade.storage() };
      },
    },
    {
      method: 'GET',
      url: '/api/hub',
      operationId: 'getHub',
      summary: "The hub itself: its stable id, its version, and whether its MQTT bridge reaches the broker.",
      scope: 'read',
      response: { status: 200, description: 'The hub.', schema: HUB_INFO },
      handle: () => facade.hub(),
    },
    {
      method: 'GET',
      url: '/api/whoami',
      operationId: 'whoami',
      summary: "The request's token: its name and scope, so that a client offers only what the token may do.",
      scope: 'read',
      response: {
        status: 200,
        description: 'The token.',
        schema: {
          type: 'object',
          required: ['name', 'scope'],
          properties: {
            name: { type: 'string', description: 'The name it was created with; `api-token` for the admin token in <data>/api-token.' },
            scope: { enum: [...API_SCOPES] },
          },
        },
      },
      handle: (request) => {
        const { name, scope } = identityOf(request);
        return { name, scope };
      },
    },
  ];
}
