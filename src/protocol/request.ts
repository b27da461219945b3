// Validation of a decoded request against the action catalogue (protocol.md §3, §5).
import type { z } from 'zod';
import { ACTION_NAMES, ACTION_SCHEMAS, resolveAction, type ActionArgs, type ActionName } from './actions.js';
import type { JsonObject } from './codec.js';
import { ProtocolError } from './errors.js';

export type ParsedRequest = { [A in ActionName]: { action: A; args: ActionArgs<A> } }[ActionName];

export function parseRequest(message: JsonObject): ParsedRequest {
  const raw = message['action'];
  if (raw === undefined) {
    throw new ProtocolError('missing_field', 'action: required; say what to do, e.g. {"action":"ping"}');
  }
  if (typeof raw !== 'string') {
    throw new ProtocolError('bad_field', 'action: expected a string');
  }
  const action = resolveAction(raw);
  if (action === undefined) {
    throw new ProtocolError('unknown_action', `action: no action named ${JSON.stringify(raw.slice(0, 64))}; known actions: ${ACTION_NAMES.join(', ')}`);
  }
  const schema: z.ZodType = ACTION_SCHEMAS[action];
  const result = schema.safeParse(message);
  if (!result.success) throw toProtocolError(message, result.error);
  return { action, args: result.data } as ParsedRequest;
}

function toProtocolError(message: JsonObject, error: z.ZodError): ProtocolError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const top = issue?.path[0];
  if (typeof top === 'string' && !Object.hasOwn(message, top)) {
    return new ProtocolError('missing_field', `${path}: required`);
  }
  const got = typeof top === 'string' ? `, got ${describe(message[top])}` : '';
  return new ProtocolError('bad_field', `${path}: ${issue?.message ?? 'invalid'}${got}`);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
