// STYLE.md: one catalogue of errors, documented; this fails when docs/protocol.md and
// src/protocol/errors.ts list different codes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CATALOGUE, ERROR_CODES, isErrorCode } from '../../src/protocol/errors.js';

const DOC = join(import.meta.dirname, '..', '..', '..', 'docs', 'protocol.md');

function documentedCodes(markdown: string): Map<string, string> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^#+ .*error catalogue/i.test(l));
  assert.notEqual(start, -1, 'docs/protocol.md has an "Error catalogue" section');
  const codes = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    if (/^#+ /.test(line)) break;
    const m = /^\|\s*`([a-z_0-9]+)`\s*\|([^|]*)\|\s*(\d{3})\s*\|/.exec(line);
    if (m) codes.set(m[1] as string, m[3] as string);
  }
  return codes;
}

test('docs/protocol.md documents exactly the catalogued error codes, with their HTTP status', { timeout: 30_000 }, () => {
  const documented = documentedCodes(readFileSync(DOC, 'utf8'));
  assert.deepEqual([...documented.keys()].sort(), [...ERROR_CODES].sort());
  for (const code of ERROR_CODES) {
    assert.equal(documented.get(code), String(ERROR_CATALOGUE[code].httpStatus), `HTTP status of ${code}`);
  }
});

test('the catalogue has the codes the protocol promises and resists prototype names', { timeout: 30_000 }, () => {
  for (const code of ['bad_utf8', 'bad_json', 'not_an_object', 'frame_too_large', 'unknown_action', 'missing_field', 'bad_field', 'pin_not_setup', 'pin_conflict', 'unsupported', 'sensor_error', 'lease_too_long', 'unauthorized', 'internal']) {
    assert.ok(isErrorCode(code), code);
  }
  assert.equal(isErrorCode('toString'), false);
  assert.equal(isErrorCode('__proto__'), false);
});
