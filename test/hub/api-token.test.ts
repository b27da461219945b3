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

/** An fs error with its code, as fs throws them. */
function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

void describe('ensureApiToken when the file goes wrong', { timeout: 30_000 }, () => {
  void it('passes on an error other than a missing file, with its code, and makes nothing', () => {
    const data = path.join(root, 'is-a-folder');
    fs.mkdirSync(path.join(data, API_TOKEN_FILE), { recursive: true });
    assert.throws(() => ensureApiToken(data), { code: 'EISDIR' });
    assert.equal(fs.statSync(path.join(data, API_TOKEN_FILE)).isDirectory(), true);
  });

  void it('refuses a file of more than one word, with what to do', () => {
    const data = path.join(root, 'two-words');
    fs.mkdirSync(data);
    const file = path.join(data, API_TOKEN_FILE);
    fs.writeFileSync(file, 'one two\n');
    assert.throws(() => ensureApiToken(data), { message: `${file} must hold one token on one line; delete the file to have the hub make a new one` });
  });

  void it('when another hub makes the file between the read and the write, uses its token and leaves its file alone', (t) => {
    const data = path.join(root, 'race');
    fs.mkdirSync(data);
    const file = path.join(data, API_TOKEN_FILE);
    const real = fs.readFileSync;
    let reads = 0;
    t.mock.method(fs, 'readFileSync', (...args: Parameters<typeof fs.readFileSync>) => {
      if (++reads === 1) {
        fs.writeFileSync(file, 'their-token\n', { mode: 0o644 });
        throw errno('ENOENT');
      }
      return real(...args);
    });
    assert.deepEqual(ensureApiToken(data), { token: 'their-token', created: false, path: file });
    assert.equal(real(file, 'utf8'), 'their-token\n');
    assert.equal(fs.statSync(file).mode & 0o777, 0o644 & ~process.umask(), 'their file is not touched');
  });

  void it('when the other file is gone again by the time it is read, throws the EEXIST rather than inventing a token', (t) => {
    const data = path.join(root, 'race-gone');
    fs.mkdirSync(data);
    const file = path.join(data, API_TOKEN_FILE);
    t.mock.method(fs, 'readFileSync', () => {
      if (!fs.existsSync(file)) fs.writeFileSync(file, 'their-token\n');
      throw errno('ENOENT');
    });
    assert.throws(() => ensureApiToken(data), { code: 'EEXIST' });
  });

  void it('a write that fails for another reason is thrown, even when a token file is there by then', (t) => {
    const data = path.join(root, 'write-fails');
    fs.mkdirSync(data);
    const file = path.join(data, API_TOKEN_FILE);
    const real = fs.writeFileSync;
    t.mock.method(fs, 'writeFileSync', () => {
      real(file, 'their-token\n');
      throw errno('EIO');
    });
    const realRead = fs.readFileSync;
    let reads = 0;
    t.mock.method(fs, 'readFileSync', (...args: Parameters<typeof fs.readFileSync>) => {
      if (++reads === 1) throw errno('ENOENT');
      return realRead(...args);
    });
    assert.throws(() => ensureApiToken(data), { code: 'EIO' });
  });

  void it('a non-Error thrown by the read is not taken for a missing file', (t) => {
    const data = path.join(root, 'odd-throw');
    t.mock.method(fs, 'readFileSync', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- what is tested
      throw { code: 'ENOENT' };
    });
    assert.throws(() => ensureApiToken(data), (err: unknown) => !(err instanceof Error) && (err as { code: string }).code === 'ENOENT');
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
