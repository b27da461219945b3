// The hub's rules: listed with where each comes from, and those made through the API created,
// edited, enabled, disabled and deleted while the hub runs (rules/rule-book.ts). Changing rules
// needs `admin`: a rule commands boards with nobody watching, for as long as the hub runs, and an
// http rule makes the hub send requests anywhere on the LAN, so it is the hub's configuration
// (like its config file), not a command a `control` token sends and sees answered. A dry run
// changes nothing and shows only readings and events a `read` token may see, so `read` may ask.
import { HubError } from '../errors.js';
import { redactDefinition } from '../rules/http-template.js';
import { identityOf } from './auth.js';
import { type ApiContext, type ApiRoute, listOf, paramsSchema, refSchema } from './route-spec.js';

const RULE_NAME_PARAMS = paramsSchema({ name: { type: 'string', minLength: 1, description: 'The rule or binding name, as GET /api/rules lists it.' } }, ['name']);

const DEFINITION_BODY = {
  description:
    'One rule or binding exactly as an entry of the hub config file\'s rules[] or bindings[] (docs/hub-config.md): an object with `from` is a binding, any other a rule. Checked like the file, beside the file\'s rules and the stored ones.',
  schema: refSchema('RuleDefinition'),
} as const;

const RULE_REPLY = { type: 'object', required: ['rule'], properties: { rule: refSchema('RuleView') } } as const;

function nameOf(request: { params: unknown }): string {
  return (request.params as { name: string }).name;
}

export function ruleRoutes({ facade }: ApiContext): ApiRoute[] {
  const enableRoute = (enabled: boolean): ApiRoute => ({
    method: 'POST',
    url: `/api/rules/:name/${enabled ? 'enable' : 'disable'}`,
    operationId: enabled ? 'enableRule' : 'disableRule',
    summary: enabled
      ? 'Runs a rule made through the API again.'
      : 'Stops running a rule made through the API, and keeps it. Its outputs are left to their leases: the board turns each back to safe within lease_s.',
    scope: 'admin',
    params: RULE_NAME_PARAMS,
    errors: ['not_found', 'rule_read_only', ...(enabled ? (['rule_invalid'] as const) : []), 'storage_full'],
    response: { status: 200, description: 'The rule.', schema: RULE_REPLY },
    handle: async (request) => ({ rule: await facade.ruleBook().setEnabled(nameOf(request), enabled, identityOf(request).name) }),
  });
  return [
    {
      method: 'GET',
      url: '/api/rules',
      operationId: 'listRules',
      summary: 'The rules and bindings the hub runs, where each comes from, and when each last fired.',
      description:
        'The hub config file\'s first (source `config`, read-only here), then those made through the API (source `api`), in the order they were made. ' +
        'Only an admin token sees an http action\'s credentials: for the others its URL\'s user, password and credential-like query values, its header values and its body read `***`.',
      scope: 'read',
      response: { status: 200, description: 'The rules.', schema: listOf('rules', 'RuleView') },
      handle: (request) => {
        const rules = facade.rules();
        // Rules may carry the credentials of the services they call; changing rules is the admin's, and so is reading those.
        if (identityOf(request).scope === 'admin') return { rules };
        return { rules: rules.map((r) => ({ ...r, definition: redactDefinition(r.definition) })) };
      },
    },
    {
      method: 'POST',
      url: '/api/rules',
      operationId: 'createRule',
      summary: 'Makes a rule or binding, kept in the store and run at once (enabled).',
      scope: 'admin',
      body: DEFINITION_BODY,
      errors: ['rule_invalid', 'storage_full'],
      response: { status: 201, description: 'The new rule.', schema: RULE_REPLY },
      handle: async (request, reply) => reply.code(201).send({ rule: await facade.ruleBook().create(request.body, identityOf(request).name) }),
    },
    {
      method: 'PUT',
      url: '/api/rules/:name',
      operationId: 'updateRule',
      summary: 'Replaces a rule made through the API (the new definition may rename it); it runs as the new one at once.',
      scope: 'admin',
      params: RULE_NAME_PARAMS,
      body: DEFINITION_BODY,
      errors: ['not_found', 'rule_read_only', 'rule_invalid', 'storage_full'],
      response: { status: 200, description: 'The rule as it now is.', schema: RULE_REPLY },
      handle: async (request) => ({ rule: await facade.ruleBook().update(nameOf(request), request.body, identityOf(request).name) }),
    },
    {
      method: 'DELETE',
      url: '/api/rules/:name',
      operationId: 'deleteRule',
      summary: 'Deletes a rule made through the API. Its outputs are left to their leases: the board turns each back to safe within lease_s.',
      scope: 'admin',
      params: RULE_NAME_PARAMS,
      errors: ['not_found', 'rule_read_only', 'storage_full'],
      response: {
        status: 200,
        description: 'The rule is deleted.',
        schema: { type: 'object', required: ['deleted'], properties: { deleted: { type: 'string', description: 'The name of the rule deleted.' } } },
      },
      handle: async (request) => {
        const name = nameOf(request);
        await facade.ruleBook().remove(name, identityOf(request).name);
        return { deleted: name };
      },
    },
    enableRoute(true),
    enableRoute(false),
    {
      method: 'GET',
      url: '/api/rules/:name/dry-run',
      operationId: 'dryRunRule',
      summary: 'What a listed rule would have done over the last hour of stored readings and edges: when it would have fired and what it would have written.',
      scope: 'read',
      params: RULE_NAME_PARAMS,
      errors: ['not_found', 'rule_invalid'],
      response: { status: 200, description: 'The dry run.', schema: refSchema('DryRun') },
      handle: (request) => facade.ruleBook().dryRun({ name: nameOf(request) }),
    },
    {
      method: 'POST',
      url: '/api/rules/dry-run',
      operationId: 'dryRunDefinition',
      summary: 'What a rule not saved would have done over the last hour of stored readings and edges; nothing is stored or sent.',
      description: 'The definition is checked on its own, not beside the listed rules, so that the next version of a listed rule can be tried under its own name.',
      scope: 'read',
      body: DEFINITION_BODY,
      errors: ['rule_invalid'],
      response: { status: 200, description: 'The dry run.', schema: refSchema('DryRun') },
      handle: (request) => {
        if (request.body === undefined) throw new HubError('bad_request', 'body: send the rule to try, as a hub config rules[] or bindings[] entry');
        return facade.ruleBook().dryRun({ definition: request.body });
      },
    },
  ];
}
