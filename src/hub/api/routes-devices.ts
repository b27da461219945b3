// Boards: what the hub knows of them, and commands relayed to them.
import { ACTION_SCOPES, resolveAction } from '../../protocol/actions.js';
import type { JsonObject } from '../../protocol/codec.js';
import type { ApiScope } from '../api-scope.js';
import { HubError, httpStatusOf } from '../errors.js';
import { demandScope } from './auth.js';
import type { DeviceView } from '../types.js';
import type { HubFacade } from './facade.js';
import { type ApiContext, type ApiRoute, DEVICE_ID_PARAMS, deviceIdOf, listOf, paramsSchema, refSchema } from './route-spec.js';

export const COMMAND_TIMEOUT_DEFAULT_MS = 10_000;
export const COMMAND_TIMEOUT_MAX_MS = 60_000;

/** The device of that id, or a not_found HubError. */
export function requireDevice(facade: HubFacade, id: string): DeviceView {
  const device = facade.device(id);
  if (device === undefined) throw new HubError('not_found', `no board ${JSON.stringify(id)} is registered; GET /api/devices lists them`);
  return device;
}

const COMMAND_BODY = {
  type: 'object',
  required: ['action'],
  properties: {
    action: { type: 'string', description: 'The protocol action (protocol.md §5), e.g. write_pin.' },
  },
  additionalProperties: true,
  examples: [{ action: 'write_pin', pin: 15, value: 1, timeout: 5 }],
} as const;

/**
 * Only the envelope is the API's business: the board checks the arguments and answers with its
 * own coded error. This is not a Fastify body schema because Fastify's Ajv coerces types, and an
 * action sent as 5 must be refused, not relayed as "5".
 */
export function commandRequest(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : body === undefined ? 'nothing' : `a ${typeof body}`;
    throw new HubError('bad_request', `body: expected a JSON object such as {"action":"ping"}, got ${kind}`);
  }
  const request = body as JsonObject;
  if (!Object.hasOwn(request, 'action')) throw new HubError('bad_request', 'body field action: required');
  if (typeof request.action !== 'string') {
    throw new HubError('bad_request', `body field action: expected a string, got ${request.action === null ? 'null' : typeof request.action}`);
  }
  if (Object.hasOwn(request, 'id')) throw new HubError('bad_request', 'body field id: leave it out; the hub numbers the requests it relays');
  // Relayed, they would re-authenticate the hub's own link, or break a pull-mode board's sealed connection.
  if (request.action === 'auth' || request.action === 'challenge') {
    throw new HubError('bad_request', `body field action: the hub does not relay ${request.action}; it authenticates to the board itself, and your API token is what authorises this request`);
  }
  return request;
}

/**
 * The API scope a command needs: control, or admin for what a board keeps for its admin tokens
 * (reset, sleep, update: protocol.md §8). An unknown action needs control; the board refuses it.
 */
export function commandScope(action: string): ApiScope {
  const known = resolveAction(action);
  return known !== undefined && ACTION_SCOPES[known] === 'admin' ? 'admin' : 'control';
}

/** 200 for a success reply; a failure reply gets the HTTP status of the board's error code. */
export function replyStatus(reply: JsonObject): number {
  const error = reply.error;
  if (error === undefined) return 200;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return httpStatusOf(typeof code === 'string' ? code : 'internal');
}

export function deviceRoutes({ facade }: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/devices',
      operationId: 'listDevices',
      summary: 'Every registered board, online or not.',
      scope: 'read',
      response: { status: 200, description: 'The boards.', schema: listOf('devices', 'DeviceView') },
      handle: () => ({ devices: facade.devices() }),
    },
    {
      method: 'GET',
      url: '/api/devices/:id',
      operationId: 'getDevice',
      summary: "One board, its last reported state and the sensors it has reported.",
      scope: 'read',
      params: DEVICE_ID_PARAMS,
      errors: ['not_found'],
      response: {
        status: 200,
        description: 'The board.',
        schema: {
          type: 'object',
          required: ['device', 'state', 'sensors'],
          properties: {
            device: refSchema('DeviceView'),
            state: refSchema('DeviceState'),
            sensors: { type: 'array', items: refSchema('SensorSummary') },
          },
        },
      },
      handle: async (request) => {
        const id = deviceIdOf(request);
        return { device: requireDevice(facade, id), state: facade.state(id), sensors: await facade.sensors(id) };
      },
    },
    {
      method: 'GET',
      url: '/api/devices/:id/state',
      operationId: 'getDeviceState',
      summary: "The board's last reported state, or null before it reported one; its leases' expires_in_s counted down to now.",
      scope: 'read',
      params: DEVICE_ID_PARAMS,
      errors: ['not_found'],
      response: { status: 200, description: 'The state.', schema: { type: 'object', required: ['state'], properties: { state: refSchema('DeviceState') } } },
      handle: (request) => {
        const id = requireDevice(facade, deviceIdOf(request)).id;
        return { state: facade.state(id) };
      },
    },
    {
      method: 'POST',
      url: '/api/devices/:id/commands',
      operationId: 'sendCommand',
      summary: 'Sends one protocol request to the board and answers with its reply.',
      description:
        "The body is a protocol v1 request without `id` (protocol.md §3). The answer is the board's reply as it sent it: " +
        'HTTP 200 when it has no `error`, otherwise the HTTP status of its error code. Nothing is queued: an offline board is `device_offline`. ' +
        'Needs a control token; the actions a board keeps for admin tokens (reset, sleep, update) need an admin one.',
      scope: 'control',
      params: DEVICE_ID_PARAMS,
      querystring: paramsSchema({
        timeout_ms: {
          type: 'integer',
          minimum: 1,
          maximum: COMMAND_TIMEOUT_MAX_MS,
          default: COMMAND_TIMEOUT_DEFAULT_MS,
          description: `How long to wait for the reply (default ${COMMAND_TIMEOUT_DEFAULT_MS}, at most ${COMMAND_TIMEOUT_MAX_MS}).`,
        },
      }),
      body: { description: 'A protocol request: `action` plus its arguments at the top level.', schema: COMMAND_BODY },
      errors: ['not_found', 'device_offline', 'board_restarted', 'timeout', 'storage_full'],
      relaysBoardErrors: true,
      response: { status: 200, description: "The board's success reply.", schema: refSchema('CommandReply') },
      handle: async (request, reply) => {
        const command = commandRequest(request.body);
        demandScope(request, commandScope(command.action as string), `the action ${JSON.stringify(command.action)}`);
        const { timeout_ms: timeoutMs } = request.query as { timeout_ms: number };
        const answer = await facade.command(deviceIdOf(request), command, { timeoutMs });
        return reply.code(replyStatus(answer)).send(answer);
      },
    },
  ];
}
