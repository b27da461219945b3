// The hub's error codes are documented (as the protocol's are, test/protocol/error-catalogue.test.ts):
// this fails when docs/api.md and HUB_ERROR_CATALOGUE list different codes or statuses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HUB_ERROR_CATALOGUE, type HubErrorCode } from '../../src/hub/errors.js';
import { ERROR_CODES, LINK_ONLY_CODES } from '../../src/protocol/errors.js';

const DOC = join(import.meta.dirname, '..', '..', '..', 'docs', 'api.md');

/** code → HTTP status, from the table under the "Error codes" heading. */
function documentedCodes(markdown: string): Map<string, string> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^#+ .*error codes/i.test(l));
  assert.notEqual(start, -1, 'docs/api.md has an "Error codes" section');
  const codes = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    if (/^#+ /.test(line)) break;
    const m = /^\|\s*`([a-z_0-9]+)`\s*\|.*\|\s*(\d{3})\s*\|\s*$/.exec(line);
    if (m) {
      assert.ok(!codes.has(m[1] as string), `${m[1]} is listed twice`);
      codes.set(m[1] as string, m[2] as string);
    }
  }
  return codes;
}

test('docs/api.md documents exactly the hub error codes, with their HTTP status', { timeout: 30_000 }, () => {
  const documented = documentedCodes(readFileSync(DOC, 'utf8'));
  const codes = Object.keys(HUB_ERROR_CATALOGUE) as HubErrorCode[];
  assert.deepEqual([...documented.keys()].sort(), [...codes].sort());
  for (const code of codes) assert.equal(documented.get(code), String(HUB_ERROR_CATALOGUE[code].httpStatus), `HTTP status of ${code}`);
});

test('no hub error code is also a code a board sends, so a client can tell who refused', { timeout: 30_000 }, () => {
  // Link-only codes (rate_limited) are the hub's own on its link port; a board never sends them.
  const boardCodes = ERROR_CODES.filter((c) => !(LINK_ONLY_CODES as readonly string[]).includes(c));
  for (const code of Object.keys(HUB_ERROR_CATALOGUE)) assert.ok(!(boardCodes as string[]).includes(code), `${code} is also a code a board sends`);
});
