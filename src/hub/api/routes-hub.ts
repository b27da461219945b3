// The hub itself: is it up, what do its rules do, and who is asking.
import { API_SCOPES } from '../api-scope.js';
import { identityOf } from './auth.js';
import { type ApiContext, type ApiRoute, listOf } from './route-spec.js';

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
      handle: () => {
        const devices = facade.devices();
        return { ok: true, version, devices: devices.length, online: devices.filter((d) => d.online).length, storage: facade.storage() };
      },
    },
    {
      method: 'GET',
      url: '/api/rules',
      operationId: 'listRules',
      summary: 'The rules and bindings the hub runs, with when each last fired.',
      scope: 'read',
      response: { status: 200, description: 'The rules.', schema: listOf('rules', 'RuleView') },
      handle: () => ({ rules: facade.rules() }),
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
