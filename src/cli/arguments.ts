// Parsers for numeric arguments; commander reports their errors as usage errors (exit 2).
import { InvalidArgumentError } from 'commander';

export function parsePort(text: string): number {
  return parseInteger(text, 1, 65535, 'a port number from 1 to 65535');
}

/** For listening: 0 picks any free port. */
export function parseListenPort(text: string): number {
  return parseInteger(text, 0, 65535, 'a port number from 0 to 65535 (0 picks a free port)');
}

export function parseMilliseconds(text: string): number {
  return parseInteger(text, 1, 86_400_000, 'a number of milliseconds, e.g. 2000');
}

export function parsePin(text: string): number {
  return parseInteger(text, 0, 255, 'a pin number from 0 to 255');
}

/** A hub's API address: http:// or https://, or undefined for anything else. */
export function parseHubUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function parseInteger(text: string, min: number, max: number, what: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${what}, got "${text}".`);
  return n;
}
