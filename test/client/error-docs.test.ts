// The client's own error codes are documented, as the protocol's are (STYLE.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIENT_ERROR_CODES } from '../../src/client/index.js';
import { ERROR_CODES } from '../../src/protocol/errors.js';

test('docs/client.md names every client error code, and none collides with a protocol code', { timeout: 30_000 }, () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'client.md'), 'utf8');
  for (const code of CLIENT_ERROR_CODES) {
    assert.ok(doc.includes(`\`${code}\``), `docs/client.md does not mention \`${code}\``);
    assert.ok(!(ERROR_CODES as string[]).includes(code), `${code} is also a protocol code`);
  }
});
