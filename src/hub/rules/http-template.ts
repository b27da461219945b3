// The templates of an `http` rule action (docs/hub-config.md, "The http action"): `{name}`
// placeholders filled from what triggered the rule. Only a name in braces is a placeholder, so
// the braces of a JSON body stay as they are.

/** Every trigger has these. */
const COMMON = ['device', 'ts', 'rule'] as const;
/** A reading has these; `{value}` is the condition's quantity, `{values.NAME}` another quantity of the same reading. */
const OF_READING = ['sensor', 'quantity', 'value'] as const;
/** An edge has these; `{value}` is the level the pin went to. */
const OF_INPUT = ['pin', 'value'] as const;

export type TriggerKind = 'reading' | 'input';
export const PLACEHOLDERS = [...COMMON, ...OF_READING, 'pin', 'values.NAME'] as const;

const PLACEHOLDER = /\{(values\.[^{}\s"\\]+|[a-z_]+)\}/g;

/** The placeholders a template uses, in order, each once. */
export function placeholdersIn(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))];
}

/** Why `name` is no placeholder at all; null when it is one. */
export function unknownPlaceholder(name: string): string | null {
  if (name.startsWith('values.') || (PLACEHOLDERS as readonly string[]).includes(name)) return null;
  return `unknown placeholder {${name}}; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`;
}

/** Why `name` cannot be used in a rule triggered by `kind`; null when it can. */
export function placeholderProblem(name: string, kind: TriggerKind): string | null {
  const unknown = unknownPlaceholder(name);
  if (unknown !== null) return unknown;
  if (name.startsWith('values.')) return kind === 'reading' ? null : `{${name}} needs a reading condition: an edge has no other values`;
  const fits: readonly string[] = kind === 'reading' ? [...COMMON, ...OF_READING] : [...COMMON, ...OF_INPUT];
  return fits.includes(name) ? null : `{${name}} is not known for ${kind === 'reading' ? 'a reading (it has no pin)' : 'an edge (it has no sensor or quantity)'}`;
}

/** What a trigger fills in: name → text; `values.NAME` entries for the other quantities of a reading. */
export type TriggerFields = Readonly<Record<string, string>>;

/**
 * Fills `template`; `escape` is applied to each value (URL-encoding in a url, JSON string escaping
 * in a body). Returns the name of a placeholder the trigger has no value for, as `missing`.
 */
export function render(template: string, fields: TriggerFields, escape: (s: string) => string): { text: string; missing?: string } {
  let missing: string | undefined;
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (value === undefined) {
      missing ??= name;
      return whole;
    }
    return escape(value);
  });
  return missing === undefined ? { text } : { text, missing };
}

/** The template with every placeholder filled with `0`: to check a URL's shape before any trigger. */
export function withStandIns(template: string): string {
  return template.replace(PLACEHOLDER, '0');
}

export const escapeForUrl = encodeURIComponent;
/** The text inside a JSON string: `"{sensor}"` stays valid JSON whatever the sensor is called. */
export const escapeForBody = (s: string): string => JSON.stringify(s).slice(1, -1);
/** A header value cannot hold a line break. */
export const escapeForHeader = (s: string): string => s.replace(/[\r\n]+/g, ' ');

// Query keys whose value is a credential (Domoticz takes `username` and `password` in the URL).
const SECRET_KEY = /pass|secret|token|key|auth|user|sig|cred/i;

/**
 * The URL as the events log shows it: `***` for a user and password, and for query values whose
 * key looks like a credential. Worked on the text, so that the rest (placeholders too) reads as written.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@')
    .replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, key: string) => (SECRET_KEY.test(key) ? `${sep}${key}=***` : whole));
}

/**
 * A rule's definition as a token that may not change rules sees it: an http action's URL with
 * its credentials as `***` (redactUrl), and its header values and body, which often carry them,
 * as `***`. Anything else is returned as it is.
 */
export function redactDefinition(definition: Record<string, unknown>): Record<string, unknown> {
  const then = definition['then'];
  if (typeof then !== 'object' || then === null || !('http' in then)) return definition;
  const http = (then).http;
  if (typeof http !== 'object' || http === null) return definition;
  const { url, headers, body, ...rest } = http as { url?: unknown; headers?: unknown; body?: unknown };
  const hidden: Record<string, unknown> = { ...rest };
  if (typeof url === 'string') hidden['url'] = redactUrl(url);
  if (typeof headers === 'object' && headers !== null) hidden['headers'] = Object.fromEntries(Object.keys(headers).map((name) => [name, '***']));
  if (body !== undefined) hidden['body'] = '***';
  return { ...definition, then: { ...then, http: hidden } };
}
