// The API token file: made once with mode 600, then reused; a damaged file is refused, not replaced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { API_TOKEN_FILE, ensureApiToken, tokenEquals } from '../../src/hub/api-token.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-api-token-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

void describe('ensureApiToken', { timeout: 30_000 }, () => {
  void it('makes <data>/api-token on first start: 32 random bytes base64url, mode 600, folder created', () => {
    const data = path.join(root, 'first', 'nested');
    const made = ensureApiToken(data);
    assert.equal(made.created, true);
    assert.equal(made.path, path.join(data, API_TOKEN_FILE));
    assert.match(made.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(made.token, 'base64url').length, 32);
    assert.equal(fs.readFileSync(made.path, 'utf8'), made.token + '\n');
    assert.equal(fs.statSync(made.path).mode & 0o777, 0o600);
  });

  void it('reuses the token on the next start, and two data folders get different tokens', () => {
    const data = path.join(root, 'second');
    const first = ensureApiToken(data);
    const again = ensureApiToken(data);
    assert.deepEqual(again, { token: first.token, created: false, path: first.path });
    assert.notEqual(ensureApiToken(path.join(root, 'third')).token, first.token);
  });

  void it("keeps a token someone wrote by hand (trimmed), and refuses an empty file instead of replacing it", () => {
    const data = path.join(root, 'hand');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, API_TOKEN_FILE), '  my-own-token\n');
    assert.deepEqual(ensureApiToken(data), { token: 'my-own-token', created: false, path: path.join(data, API_TOKEN_FILE) });
    fs.writeFileSync(path.join(data, API_TOKEN_FILE), '\n');
    assert.throws(() => ensureApiToken(data), /delete the file/);
    assert.equal(fs.readFileSync(path.join(data, API_TOKEN_FILE), 'utf8'), '\n', 'the file was left alone');
  });
});

void describe('tokenEquals', { timeout: 30_000 }, () => {
  void it('is true only for the same token, whatever the lengths', () => {
    assert.equal(tokenEquals('abc', 'abc'), true);
    assert.equal(tokenEquals('abc', 'abd'), false);
    assert.equal(tokenEquals('abc', 'abcd'), false);
    assert.equal(tokenEquals('', 'abc'), false);
  });
});
