// Field types shared by the action schemas. Numeric fields also accept numeric strings,
// as piconetcontrol's CLI sends them (protocol.md §3.3).
import { z } from 'zod';

const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function coerceNumeric(value: unknown): unknown {
  return typeof value === 'string' && NUMERIC.test(value) ? Number(value) : value;
}

function coerceBit(value: unknown): unknown {
  if (value === true || value === 'true') return 1;
  if (value === false || value === 'false') return 0;
  return coerceNumeric(value);
}

export function integer(min: number, max: number) {
  const what = `an integer from ${min} to ${max}`;
  return z.preprocess(
    coerceNumeric,
    z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(min, { error: `expected ${what}` }).max(max, { error: `expected ${what}` }),
  );
}

export function decimal(min: number, max: number, what = `a number from ${min} to ${max}`) {
  return z.preprocess(
    coerceNumeric,
    z.number({ error: `expected ${what}` }).min(min, { error: `expected ${what}` }).max(max, { error: `expected ${what}` }),
  );
}

/** A positive duration in seconds; the board compares it with the pin's maximum lease. */
export const seconds = z.preprocess(
  coerceNumeric,
  z.number({ error: 'expected a number of seconds greater than 0' }).positive({ error: 'expected a number of seconds greater than 0' }).finite({ error: 'expected a finite number of seconds' }),
);

export const bit = z.preprocess(coerceBit, z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' }));

export const flag = z.preprocess(coerceBit, z.union([z.literal(0), z.literal(1)], { error: 'expected true or false (or 0 or 1)' }).transform((v) => v === 1));

export const pin = integer(0, 255);

export const name = z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' }).max(64, { error: 'expected at most 64 characters' });

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.join(', ')}` });
}
