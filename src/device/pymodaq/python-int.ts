// PyMoDAQ's plugin sends pins, values and addresses as whatever its TOML file held (strings,
// floats); the server it talks to reads them with Python's int(). These read them the same way,
// so a request the original server took is taken here too.

const DECIMAL = /^\s*([+-]?)([0-9]+(?:_[0-9]+)*)\s*$/;
const HEX = /^\s*([+-]?)(?:0[xX]_?)?([0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)\s*$/;

/** int(value): a number truncated toward zero, or a decimal string; anything else (a bool too) is undefined. */
export function pythonInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) + 0 : undefined;
  if (typeof value !== 'string') return undefined;
  return digits(DECIMAL.exec(value), 10);
}

/** int(value, 16): a hex string, with or without 0x, any case; a number is undefined, as int(72, 16) is a TypeError. */
export function pythonHexInt(value: unknown): number | undefined {
  return typeof value === 'string' ? digits(HEX.exec(value), 16) : undefined;
}

function digits(m: RegExpExecArray | null, radix: number): number | undefined {
  if (m === null) return undefined;
  const n = Number.parseInt((m[2] ?? '').replaceAll('_', ''), radix);
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === '-' ? -n || 0 : n;
}
