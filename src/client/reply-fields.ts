// Checked reads of result fields; a reply missing what its action promises is a bad_reply
// rather than an `undefined` surfacing far from the cause.
import type { JsonObject } from '../protocol/index.js';
import { TetherError } from './errors.js';

type Guard<T> = (value: unknown) => value is T;

export const isString: Guard<string> = (v): v is string => typeof v === 'string';
export const isNumber: Guard<number> = (v): v is number => typeof v === 'number' && Number.isFinite(v);
export const isBit: Guard<0 | 1> = (v): v is 0 | 1 => v === 0 || v === 1;
export const isObject: Guard<JsonObject> = (v): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isArray: Guard<unknown[]> = (v): v is unknown[] => Array.isArray(v);

export function field<T>(reply: JsonObject, key: string, guard: Guard<T>, expected: string): T {
  const value = reply[key];
  if (guard(value)) return value;
  const action = typeof reply['action'] === 'string' ? reply['action'] : 'the';
  throw new TetherError('bad_reply', `the ${action} reply has no ${key} ${expected} (got ${JSON.stringify(value) ?? 'nothing'})`, { reply });
}

export function arrayOf<T>(reply: JsonObject, key: string, guard: Guard<T>, expected: string): T[] {
  const list = field(reply, key, isArray, `list of ${expected}`);
  if (list.every(guard)) return list;
  return field(reply, key, (_v): _v is T[] => false, `list of ${expected}`);
}

export function recordOf<T>(reply: JsonObject, key: string, guard: Guard<T>, expected: string): Record<string, T> {
  const obj = field(reply, key, isObject, `object of ${expected}`);
  if (Object.values(obj).every(guard)) return obj as Record<string, T>;
  return field(reply, key, (_v): _v is Record<string, T> => false, `object of ${expected}`);
}
