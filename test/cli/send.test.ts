// End to end: `node bin/tether.js send …` against the fake board, checking stdout, stderr
// and the exit code.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeBoard, GOOD_TOKEN } from '../client/fake-board.js';
import { loadTestCert } from '../client/tls-cert.js';
import { BIN, runCli } from './run-cli.js';

const cert = loadTestCert();

const PICONET_BATCH = [
  '-c', 'action=setup_pin', 'pin=2', 'mode=output', 'value=0',
  '-c', 'action=write_pin', 'pin=2', 'value=1', 'timeout=5',
  '-c', 'action=read_pin', 'pin=2',
  '-c', 'action=get_version',
];

void describe('tether send (end to end, fake board)', { timeout: 30_000 }, () => {
  let board: FakeBoard;

  beforeEach(async () => {
    board = await FakeBoard.start();
  });

  afterEach(async () => {
    await board.close();
  });

  void it('runs the piconetcontrol batch: typed values on the wire, one readable line per reply, exit 0', async () => {
    const next = board.nextConnection();
    const result = await runCli(['send', '127.0.0.1', String(board.port), ...PICONET_BATCH]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        'setup_pin pin=2 mode=output value=0 → ok',
        'write_pin pin=2 value=1 timeout=5 → ok lease: 1 for 5 s',
        'read_pin pin=2 → ok value=1',
        'get_version → ok version=0.1.0 protocol=1',
        '',
      ].join('\n'),
    );
    assert.equal(result.stderr, '');
    const conn = await next;
    assert.deepEqual(conn.received, [
      { action: 'setup_pin', pin: 2, mode: 'output', value: 0 },
      { action: 'write_pin', pin: 2, value: 1, timeout: 5 },
      { action: 'read_pin', pin: 2 },
      { action: 'get_version' },
    ]);
    // Pipelined: the whole batch arrived in a single read.
    assert.equal(conn.chunks, 1);
  });

  void it('prints one JSON reply per line with --json', async () => {
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--json', ...PICONET_BATCH]);
    assert.equal(result.code, 0, result.stderr);
    const replies = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(replies[1], { action: 'write_pin', pin: 2, value: 1, timeout: 5, lease: { value: 1, safe_value: 0, expires_in_s: 5 }, ok: true });
    assert.equal(replies.length, 4);
  });

  void it('exits 1 when any reply is an error, and still prints every reply', async () => {
    const result = await runCli(['send', '127.0.0.1', String(board.port), '-c', 'action=read_pin', 'pin=3', '-c', 'action=ping']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'read_pin pin=3 → error pin_not_setup: pin 3 is not set up; call setup_pin first\nping → ok\n');
  });

  void it('exits 1 with a timeout line when the board does not answer in time', async () => {
    board.handler = () => undefined;
    const started = Date.now();
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--timeout', '300', '-c', 'action=ping']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^ping → failed timeout: no reply to ping from 127\.0\.0\.1:\d+ within 300 ms/);
    assert.ok(Date.now() - started < 5000);
  });

  void it('security: proves the token from --token or TETHER_TOKEN by challenge without sending it, --plain-auth sends it, and exits 1 when it is refused', async () => {
    const next = board.nextConnection();
    const viaEnv = await runCli(['send', '127.0.0.1', String(board.port), '-c', 'action=ping'], { env: { TETHER_TOKEN: GOOD_TOKEN } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const proven = await next;
    assert.deepEqual(proven.received.map((r) => r['action']), ['challenge', 'auth', 'ping']);
    assert.equal(proven.received[1]?.['seal'], true);
    assert.ok(!proven.raw.includes(GOOD_TOKEN), 'the token never crossed the connection');
    const nextPlain = board.nextConnection();
    const plain = await runCli(['send', '127.0.0.1', String(board.port), '--plain-auth', '-c', 'action=ping'], { env: { TETHER_TOKEN: GOOD_TOKEN } });
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual((await nextPlain).received, [{ action: 'auth', token: GOOD_TOKEN }, { action: 'ping' }]);
    const refused = await runCli(['send', '127.0.0.1', String(board.port), '--token', 'not-the-right-token', '-c', 'action=ping']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^tether: 127\.0\.0\.1:\d+ refused the token: unknown token/m);
  });

});

void describe('tether send: where the token comes from', { timeout: 120_000 }, () => {
  let board: FakeBoard;

  beforeEach(async () => {
    board = await FakeBoard.start();
  });

  afterEach(async () => {
    await board.close();
  });

  void it('security: --token works but warns that the process list shows it, naming --token-file and TETHER_TOKEN', async () => {
    const next = board.nextConnection();
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--token', GOOD_TOKEN, '-c', 'action=ping']);
    assert.equal(result.code, 0, result.stderr);
    // The board accepts only GOOD_TOKEN's proof, so an ok ping means the right token was proved.
    assert.deepEqual((await next).received.map((r) => r['action']), ['challenge', 'auth', 'ping']);
    assert.equal(result.stderr, 'tether: warning: --token shows the token to every user of this machine in the process list; use --token-file FILE or TETHER_TOKEN instead\n');
    const viaEnv = await runCli(['send', '127.0.0.1', String(board.port), '-c', 'action=ping'], { env: { TETHER_TOKEN: GOOD_TOKEN } });
    assert.equal(viaEnv.stderr, '', 'no warning for the environment');
  });

  void it('security: --token-file sends the first line of the file, trimmed, with no warning when only its owner can read it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-token-file-'));
    try {
      const file = join(dir, 'board.token');
      writeFileSync(file, `  ${GOOD_TOKEN}  \nnot the token\n`, { mode: 0o600 });
      const next = board.nextConnection();
      const result = await runCli(['send', '127.0.0.1', String(board.port), '--token-file', file, '-c', 'action=ping']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.deepEqual((await next).received.map((r) => r['action']), ['challenge', 'auth', 'ping'], 'the trimmed first line was proved');
      chmodSync(file, 0o644);
      const open = await runCli(['send', '127.0.0.1', String(board.port), '--token-file', file, '-c', 'action=ping']);
      assert.equal(open.code, 0, open.stderr);
      assert.equal(open.stderr, `tether: warning: ${file} can be read by other users; make it private with: chmod 600 ${file}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('security: a missing, empty or blank-first-line token file is an error naming the file, and nothing is sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-token-file-'));
    try {
      const missing = join(dir, 'nope.token');
      const gone = await runCli(['send', '127.0.0.1', String(board.port), '--token-file', missing, '-c', 'action=ping']);
      assert.equal(gone.code, 1);
      assert.equal(gone.stderr, `tether: cannot read the --token-file file ${missing} (it does not exist); give a file whose first line is the token\n`);
      for (const text of ['', '\n', '   \nsecond-line-token\n']) {
        const file = join(dir, 'empty.token');
        writeFileSync(file, text, { mode: 0o600 });
        const empty = await runCli(['send', '127.0.0.1', String(board.port), '--token-file', file, '-c', 'action=ping']);
        assert.equal(empty.code, 1, JSON.stringify(text));
        assert.equal(empty.stderr, `tether: the --token-file file ${file} is empty or its first line is blank; put the token on its first line\n`);
      }
      const both = await runCli(['send', '127.0.0.1', String(board.port), '--token-file', missing, '--token', GOOD_TOKEN, '-c', 'action=ping']);
      assert.equal(both.code, 2, 'a usage error');
      assert.match(both.stderr, /--token.*cannot be used with.*--token-file/);
      assert.equal(board.connections.length, 0, 'no connection was made');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('tether send (failures before any reply)', { timeout: 30_000 }, () => {
  void it('exits 1 promptly with a clear message when nothing listens on the port', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = await runCli(['send', '127.0.0.1', String(port), '-c', 'action=ping'], { timeoutMs: 5000 });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: connection refused.*Check the port number`, 's'));
  });

  void it('exits 2 with a hint for usage errors', async () => {
    const bad = await runCli(['send', '127.0.0.1', '12345', '-c', 'action=read_pin', 'pin']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"pin" is not key=value; write e\.g\. pin=2/);
    const none = await runCli(['send', '127.0.0.1', '12345']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /nothing to send: add at least one -c/);
    const port = await runCli(['send', '127.0.0.1', 'http', '-c', 'action=ping']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /expected a port number from 1 to 65535/);
    const unknown = await runCli(['send', '127.0.0.1', '1', '--frobnicate', '-c', 'action=ping']);
    assert.equal(unknown.code, 2);
  });

  void it('prints help with examples and exits 0', async () => {
    for (const command of ['send', 'watch', 'device']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /Examples:\n {2}\$ tether /);
    }
    const version = await runCli(['--version']);
    assert.equal(version.stdout, '0.1.0\n');
  });

  void it('bin/tether.js says how to build when dist/ is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(BIN, join(dir, 'bin', 'tether.js'));
      const result = await runCli(['--help'], { bin: join(dir, 'bin', 'tether.js') });
      assert.equal(result.code, 1);
      assert.equal(result.stderr, 'tether is not built: run npm run build\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('tether send over TLS', { timeout: 30_000 }, () => {
  let board: FakeBoard;

  beforeEach(async () => {
    board = await FakeBoard.start({ tls: { key: cert.key, cert: cert.cert } });
  });

  afterEach(async () => {
    await board.close();
  });

  void it('verifies the certificate by default and says how to trust it', async () => {
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--tls', '-c', 'action=ping']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /TLS certificate was rejected.*--ca FILE.*--insecure/);
  });

  void it('connects with --ca FILE', async () => {
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--ca', cert.certFile, '-c', 'action=ping']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'ping → ok\n');
  });

  void it('connects with --insecure and warns on stderr', async () => {
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--insecure', '-c', 'action=ping']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'ping → ok\n');
    assert.match(result.stderr, /^tether: warning: --insecure: .*not checked/);
  });

  void it('exits 1 when the --ca file cannot be read', async () => {
    const result = await runCli(['send', '127.0.0.1', String(board.port), '--ca', '/no/such/file.pem', '-c', 'action=ping']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read the --ca file \/no\/such\/file\.pem \(ENOENT\)/);
  });
});
