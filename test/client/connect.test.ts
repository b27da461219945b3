// Fault injection at connect time: nothing listening, a server that never speaks TLS, a
// certificate the client does not trust. Every case must fail promptly with connection_failed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { connect, TetherError } from '../../src/client/index.js';
import { FakeBoard } from './fake-board.js';
import { loadTestCert } from './tls-cert.js';

const cert = loadTestCert();

function connectionFailed(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TetherError, `expected a TetherError, got ${String(err)}`);
    assert.equal(err.code, 'connection_failed', err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

void describe('connect (fault injection)', { timeout: 30_000 }, () => {
  void it('a refused connection rejects with connection_failed promptly, naming host:port', async () => {
    const port = await closedPort();
    const started = Date.now();
    await assert.rejects(connect({ host: '127.0.0.1', port }), connectionFailed(new RegExp(`127\\.0\\.0\\.1:${port}.*refused`)));
    assert.ok(Date.now() - started < 1000, 'took too long');
  });

  void it('a server that never completes the TLS handshake fails after connectTimeoutMs, not never', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      await assert.rejects(connect({ host: '127.0.0.1', port, tls: true, connectTimeoutMs: 200 }), connectionFailed(/TLS handshake within 200 ms.*plain TCP/));
      const waited = Date.now() - started;
      assert.ok(waited >= 190 && waited < 1500, `failed after ${waited} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  void it('TLS against a plain-TCP board fails with connection_failed', async () => {
    const board = await FakeBoard.start();
    try {
      await assert.rejects(connect({ host: '127.0.0.1', port: board.port, tls: true, connectTimeoutMs: 500 }), connectionFailed(/127\.0\.0\.1/));
    } finally {
      await board.close();
    }
  });

  void it('an unresolvable host name fails with a message saying what to check', async () => {
    await assert.rejects(connect({ host: 'no-such-board.invalid', port: 12345 }), connectionFailed(/resolve|no-such-board/));
  });

  void it('rejects a port out of range before connecting', async () => {
    await assert.rejects(connect({ host: '127.0.0.1', port: 70000 }), RangeError);
  });

  void describe('TLS certificate checks', () => {
    void it("refuses an untrusted self-signed certificate by default, and says how to trust it", async () => {
      const board = await FakeBoard.start({ tls: { key: cert.key, cert: cert.cert } });
      try {
        await assert.rejects(connect({ host: '127.0.0.1', port: board.port, tls: true }), connectionFailed(/certificate.*ca/));
        const trusted = await connect({ host: '127.0.0.1', port: board.port, tls: { ca: cert.cert } });
        assert.equal((await trusted.getVersion()).protocol, 1);
        await trusted.close();
        const unchecked = await connect({ host: '127.0.0.1', port: board.port, tls: { rejectUnauthorized: false } });
        await unchecked.ping();
        await unchecked.close();
      } finally {
        await board.close();
      }
    });
  });
});
