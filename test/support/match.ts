// Whole-message comparison with placeholders, shared by the test vectors:
// "$number", "$string", "$array", "$object" and "$any" stand for any value of that kind.

export function mismatch(expected: unknown, actual: unknown, path = '$'): string | undefined {
  if (typeof expected === 'string' && expected.startsWith('$') && expected.length > 1) {
    const kind = expected.slice(1);
    const ok =
      kind === 'any' ||
      (kind === 'number' && typeof actual === 'number') ||
      (kind === 'string' && typeof actual === 'string') ||
      (kind === 'array' && Array.isArray(actual)) ||
      (kind === 'object' && typeof actual === 'object' && actual !== null && !Array.isArray(actual));
    return ok ? undefined : `${path}: expected any ${kind}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${actual.length}: ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(expected[i], actual[i], `${path}[${i}]`);
      if (m) return m;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!Object.hasOwn(a, key)) return `${path}.${key}: missing in ${JSON.stringify(actual)}`;
      const m = mismatch(e[key], a[key], `${path}.${key}`);
      if (m) return m;
    }
    for (const key of Object.keys(a)) {
      if (!Object.hasOwn(e, key)) return `${path}.${key}: unexpected field (value ${JSON.stringify(a[key])})`;
    }
    return undefined;
  }
  return Object.is(expected, actual) || expected === actual ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}
