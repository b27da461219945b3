// Named API tokens with scopes: made, listed and revoked by an admin, here or with
// `tether hub token …`. A new token is in the answer to its POST and nowhere else, ever.
import { API_SCOPES, isApiScope, type ApiScope } from '../api-scope.js';
import { HubError } from '../errors.js';
import { type ApiContext, type ApiRoute, listOf, paramsSchema, refSchema } from './route-spec.js';

const NEW_TOKEN_BODY = {
  type: 'object',
  required: ['name', 'scope'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'What the token is for, e.g. kitchen-tablet.' },
    scope: { enum: [...API_SCOPES], description: 'read: dashboards, graphs and the stream; control: also commands; admin: everything.' },
  },
  additionalProperties: false,
  examples: [{ name: 'kitchen-tablet', scope: 'read' }],
} as const;

/** The body of POST /api/tokens, checked here so that a scope sent as 5 is refused, not coerced. */
export function newTokenRequest(body: unknown): { name: string; scope: ApiScope } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HubError('bad_request', 'body: expected a JSON object such as {"name":"kitchen-tablet","scope":"read"}');
  }
  const fields = body as Record<string, unknown>;
  const extra = Object.keys(fields).find((k) => k !== 'name' && k !== 'scope');
  if (extra !== undefined) throw new HubError('bad_request', `body field ${extra}: unknown; send only name and scope`);
  if (typeof fields.name !== 'string') throw new HubError('bad_request', 'body field name: required, a string such as "kitchen-tablet"');
  if (!isApiScope(fields.scope)) throw new HubError('bad_request', `body field scope: expected one of ${API_SCOPES.join(', ')}`);
  return { name: fields.name, scope: fields.scope };
}

const TOKEN_NAME_PARAMS = paramsSchema({ name: { type: 'string', minLength: 1, description: 'The token name, as GET /api/tokens lists it.' } }, ['name']);

export function tokenRoutes({ tokens }: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/tokens',
      operationId: 'listTokens',
      summary: 'The named API tokens with their scopes (never the tokens themselves, which the hub does not keep).',
      description: 'The admin token in <data>/api-token is not listed; it is not stored in the database.',
      scope: 'admin',
      response: { status: 200, description: 'The tokens.', schema: listOf('tokens', 'ApiToken') },
      handle: async () => ({ tokens: await tokens.list() }),
    },
    {
      method: 'POST',
      url: '/api/tokens',
      operationId: 'createToken',
      summary: 'Makes a named token with a scope; the answer is the only place the token ever appears.',
      scope: 'admin',
      body: { description: 'The name and scope of the new token.', schema: NEW_TOKEN_BODY },
      errors: ['conflict'],
      response: { status: 201, description: 'The new token: keep it now, it cannot be shown again.', schema: refSchema('NewApiToken') },
      handle: async (request, reply) => {
        const { name, scope } = newTokenRequest(request.body);
        const { token, view } = await tokens.create(name, scope);
        return reply.code(201).send({ ...view, token });
      },
    },
    {
      method: 'DELETE',
      url: '/api/tokens/:name',
      operationId: 'revokeToken',
      summary: 'Revokes a token: the next request with it is refused.',
      scope: 'admin',
      params: TOKEN_NAME_PARAMS,
      errors: ['not_found'],
      response: {
        status: 200,
        description: 'The token is revoked.',
        schema: { type: 'object', required: ['revoked'], properties: { revoked: { type: 'string', description: 'The name of the token revoked.' } } },
      },
      handle: async (request) => {
        const { name } = request.params as { name: string };
        if (!(await tokens.revoke(name))) throw new HubError('not_found', `no API token is named ${JSON.stringify(name)}; GET /api/tokens lists them`);
        return { revoked: name };
      },
    },
  ];
}
