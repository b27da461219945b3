// The hub itself: is it up, and what do its rules do.
import { type ApiContext, type ApiRoute, listOf } from './route-spec.js';

export function hubRoutes({ facade, version }: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/health',
      operationId: 'getHealth',
      summary: "The hub's version and how many boards are registered and online.",
      auth: true,
      response: {
        status: 200,
        description: 'The hub answers.',
        schema: {
          type: 'object',
          required: ['ok', 'version', 'devices', 'online'],
          properties: {
            ok: { const: true },
            version: { type: 'string' },
            devices: { type: 'integer', minimum: 0 },
            online: { type: 'integer', minimum: 0 },
          },
        },
      },
      handle: () => {
        const devices = facade.devices();
        return { ok: true, version, devices: devices.length, online: devices.filter((d) => d.online).length };
      },
    },
    {
      method: 'GET',
      url: '/api/rules',
      operationId: 'listRules',
      summary: 'The rules and bindings the hub runs, with when each last fired.',
      auth: true,
      response: { status: 200, description: 'The rules.', schema: listOf('rules', 'RuleView') },
      handle: () => ({ rules: facade.rules() }),
    },
  ];
}
