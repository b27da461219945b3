// The registry of boards, changed by an admin (the dashboard's "Add board", or a script): a
// board registered here gets its link material once — its config/hub.json, the tether device
// line, the tether install line — rendered as `tether hub add-device` renders it.
import type { BoardAdmin } from '../board-admin.js';
import { HubError } from '../errors.js';
import { identityOf } from './auth.js';
import { type ApiRoute, DEVICE_ID_PARAMS, deviceIdOf, refSchema } from './route-spec.js';

const NAME_MAX = 100;

const NEW_BOARD_BODY = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'The board id, what it says in its hello: 1–64 of A–Z a–z 0–9 _ . -' },
    name: { type: 'string', minLength: 1, maxLength: NAME_MAX, description: 'A name to show (default: the id).' },
  },
  additionalProperties: false,
  examples: [{ id: 'shed', name: 'Garden shed' }],
} as const;

/** The body of POST /api/devices, checked here so that an id sent as 5 is refused, not coerced. */
export function newBoardRequest(body: unknown): { id: string; name?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HubError('bad_request', 'body: expected a JSON object such as {"id":"shed","name":"Garden shed"}');
  }
  const fields = body as Record<string, unknown>;
  const extra = Object.keys(fields).find((k) => k !== 'id' && k !== 'name');
  if (extra !== undefined) throw new HubError('bad_request', `body field ${extra}: unknown; send only id and name`);
  if (typeof fields.id !== 'string') throw new HubError('bad_request', 'body field id: required, a string such as "shed"');
  if (fields.name === undefined) return { id: fields.id };
  if (typeof fields.name !== 'string' || fields.name.trim() === '' || fields.name.length > NAME_MAX) {
    throw new HubError('bad_request', `body field name: expected a string of 1–${NAME_MAX} characters, or leave it out to show the id`);
  }
  return { id: fields.id, name: fields.name };
}

const NEW_BOARD_LINK = refSchema('NewBoardLink');

export function boardRoutes(boards: BoardAdmin): ApiRoute[] {
  return [
    {
      method: 'POST',
      url: '/api/devices',
      operationId: 'registerDevice',
      summary: 'Registers a board; the answer holds its token and link material, and is the only place they ever appear.',
      description: 'The same as `tether hub add-device`. Logged as a `registered` event with `data.by`, the API token\'s name.',
      scope: 'admin',
      body: { description: 'The id of the new board, and a name to show.', schema: NEW_BOARD_BODY },
      errors: ['conflict'],
      response: { status: 201, description: 'The board and what it needs to link: keep the token now, it cannot be shown again.', schema: NEW_BOARD_LINK },
      handle: async (request, reply) => {
        const { id, name } = newBoardRequest(request.body);
        return reply.code(201).send(await boards.register(id, name !== undefined ? { name } : {}, identityOf(request).name));
      },
    },
    {
      method: 'POST',
      url: '/api/devices/:id/token',
      operationId: 'rotateDeviceToken',
      summary: 'Gives a board a new token: the old one stops working at once, and a connection made with it is closed.',
      description:
        'The same as `tether hub add-device ID --rotate`, and more: the running hub also closes the link the board made with the old token. ' +
        'Logged as a `token_rotated` event with `data.by`.',
      scope: 'admin',
      params: DEVICE_ID_PARAMS,
      errors: ['not_found'],
      response: { status: 200, description: 'The board and what it needs to link with its new token, shown this once.', schema: NEW_BOARD_LINK },
      handle: (request) => boards.rotate(deviceIdOf(request), identityOf(request).name),
    },
    {
      method: 'DELETE',
      url: '/api/devices/:id',
      operationId: 'removeDevice',
      summary: 'Unregisters a board and closes its link; its readings and events stay until retention removes them.',
      description: 'The same as `tether hub remove-device`. Logged as a `removed` event with `data.by`.',
      scope: 'admin',
      params: DEVICE_ID_PARAMS,
      errors: ['not_found'],
      response: {
        status: 200,
        description: 'The board is removed.',
        schema: { type: 'object', required: ['removed'], properties: { removed: { type: 'string', description: 'The id of the board removed.' } } },
      },
      handle: async (request) => {
        const id = deviceIdOf(request);
        await boards.remove(id, identityOf(request).name);
        return { removed: id };
      },
    },
  ];
}
