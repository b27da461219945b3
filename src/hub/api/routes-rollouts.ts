// Firmware rollouts (docs/hub.md, "Rolling a release out"): any token lists the releases a
// rollout may send; an admin starts and cancels rollouts, any token watches each board's version,
// progress and result (here and on the stream).
import { HubError } from '../errors.js';
import type { RolloutControl } from '../types.js';
import { identityOf } from './auth.js';
import { type ApiContext, type ApiRoute, listOf, paramsSchema, refSchema } from './route-spec.js';

const NEW_ROLLOUT_BODY = {
  type: 'object',
  required: ['version', 'boards'],
  properties: {
    version: { type: 'string', description: 'The release, as `tether hub release list` shows it.' },
    boards: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'The boards to update, in order: the first wave_size are the first wave.' },
    wave_size: { type: 'integer', minimum: 1, default: 1, description: 'How many boards the first wave has; the rest follow once every one of them confirmed the release.' },
  },
  additionalProperties: false,
  examples: [{ version: '0.1.1', boards: ['tank', 'porch', 'shed'], wave_size: 1 }],
} as const;

const ROLLOUT_ID_PARAMS = paramsSchema({ id: { type: 'integer', minimum: 1, description: 'The rollout id, as GET /api/rollouts lists it.' } }, ['id']);

const ROLLOUT_ANSWER = { type: 'object', required: ['rollout'], properties: { rollout: refSchema('RolloutView') } } as const;

/** The body of POST /api/rollouts, checked here so that a wave_size sent as "2" is refused, not coerced. */
export function newRolloutRequest(body: unknown): { version: string; boards: string[]; waveSize: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HubError('bad_request', 'body: expected a JSON object such as {"version":"0.1.1","boards":["tank","porch"],"wave_size":1}');
  }
  const fields = body as Record<string, unknown>;
  const extra = Object.keys(fields).find((k) => k !== 'version' && k !== 'boards' && k !== 'wave_size');
  if (extra !== undefined) throw new HubError('bad_request', `body field ${extra}: unknown; send version, boards and wave_size`);
  if (typeof fields.version !== 'string' || fields.version === '') throw new HubError('bad_request', 'body field version: required, a release such as "0.1.1" (tether hub release list)');
  if (!Array.isArray(fields.boards) || !fields.boards.every((b): b is string => typeof b === 'string')) {
    throw new HubError('bad_request', 'body field boards: required, a list of board ids such as ["tank","porch"]');
  }
  const waveSize = fields.wave_size ?? 1;
  if (typeof waveSize !== 'number' || !Number.isInteger(waveSize) || waveSize < 1) throw new HubError('bad_request', 'body field wave_size: a whole number of boards, at least 1');
  return { version: fields.version, boards: fields.boards, waveSize };
}

function rolloutsOf(ctx: ApiContext): RolloutControl {
  const rollouts = ctx.facade.rollouts();
  if (rollouts === null) throw new HubError('not_found', 'this hub runs no firmware rollouts');
  return rollouts;
}

function idOf(params: unknown): number {
  return (params as { id: number }).id;
}

export function rolloutRoutes(ctx: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/releases',
      operationId: 'listReleases',
      summary: 'The firmware releases the hub keeps (tether hub release add), oldest first: what a rollout may send.',
      scope: 'read',
      errors: ['not_found'],
      response: { status: 200, description: 'The releases.', schema: listOf('releases', 'ReleaseView') },
      handle: () => ({ releases: rolloutsOf(ctx).releases() }),
    },
    {
      method: 'GET',
      url: '/api/rollouts',
      operationId: 'listRollouts',
      summary: 'The firmware rollouts, newest first (the last 100), each with every board: its wave, version, progress and result.',
      scope: 'read',
      response: { status: 200, description: 'The rollouts.', schema: listOf('rollouts', 'RolloutView') },
      handle: async () => ({ rollouts: await rolloutsOf(ctx).list() }),
    },
    {
      method: 'POST',
      url: '/api/rollouts',
      operationId: 'startRollout',
      summary: 'Rolls a stored release out to boards: the first wave, then the rest once each board of the first wave confirmed it.',
      description: 'The first board that fails (rolled back, not applied, still on trial, offline, …) stops the rollout: no board starts after it. The stream carries each board\'s progress as `rollout` updates.',
      scope: 'admin',
      body: { description: 'The release, the boards and the size of the first wave.', schema: NEW_ROLLOUT_BODY },
      errors: ['not_found', 'unknown_release', 'no_boards', 'board_in_rollout', 'shutting_down'],
      response: { status: 201, description: 'The rollout, running.', schema: ROLLOUT_ANSWER },
      handle: async (request, reply) => {
        const started = await rolloutsOf(ctx).start(newRolloutRequest(request.body), identityOf(request).name);
        return reply.code(201).send({ rollout: started });
      },
    },
    {
      method: 'GET',
      url: '/api/rollouts/:id',
      operationId: 'getRollout',
      summary: 'One rollout with every board: its wave, version, progress and result.',
      scope: 'read',
      params: ROLLOUT_ID_PARAMS,
      errors: ['not_found'],
      response: { status: 200, description: 'The rollout.', schema: ROLLOUT_ANSWER },
      handle: async (request) => {
        const id = idOf(request.params);
        const rollout = await rolloutsOf(ctx).get(id);
        if (rollout === undefined) throw new HubError('not_found', `no rollout ${id}; GET /api/rollouts lists them`);
        return { rollout };
      },
    },
    {
      method: 'POST',
      url: '/api/rollouts/:id/cancel',
      operationId: 'cancelRollout',
      summary: 'Cancels a running rollout: no board starts, and the updates under way are aborted at once.',
      description: 'A board that was already told to apply the release (committed) applies it all the same; the rollout does not wait for it.',
      scope: 'admin',
      params: ROLLOUT_ID_PARAMS,
      errors: ['not_found', 'rollout_ended'],
      response: { status: 200, description: 'The rollout, cancelled.', schema: ROLLOUT_ANSWER },
      handle: async (request) => ({ rollout: await rolloutsOf(ctx).cancel(idOf(request.params), identityOf(request).name) }),
    },
  ];
}
