// Direct mode over TLS with config/cert.der + config/key.der: the firmware's own start-up path
// (tether/start.py tls_context, which hands DER bytes to SSLContext.load_cert_chain as
// MicroPython's ssl takes them) under CPython, driven by the TypeScript client.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { loadTestCert } from '../client/tls-cert.js';
import { startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const skip = SKIP_WITHOUT_PYTHON3;

describe('firmware direct mode over TLS', { skip, timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-fw-tls-'));
  const pem = loadTestCert();
  const tls = { cert: join(dir, 'cert.der'), key: join(dir, 'key.der') };
  let board: FirmwareBoard;

  before(async () => {
    // The DER forms a board keeps: `openssl x509 -outform der` and `openssl pkey -outform der`.
    writeFileSync(tls.cert, new X509Certificate(pem.cert).raw);
    writeFileSync(tls.key, createPrivateKey(pem.key).export({ format: 'der', type: 'pkcs8' }));
    board = await startFirmwareBoard({ name: 'tls-board', auth: 'none', tls, pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }] });
  });
  after(async () => {
    await board.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a client that checks the certificate gets replies, and get_info lists tls', async () => {
    const client = await connect({ host: '127.0.0.1', port: board.port, tls: { ca: pem.cert } });
    try {
      assert.equal(typeof (await client.ping()), 'number');
      const info = await client.getInfo();
      assert.ok(Array.isArray(info['capabilities']) && info['capabilities'].includes('tls'), JSON.stringify(info));
      const reply = await client.request({ action: 'read_pin', pin: 15 });
      assert.equal(reply['value'], 0);
    } finally {
      await client.close();
    }
  });

  test('a plain-TCP client gets no protocol reply from the TLS port', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: board.port });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.write('{"action":"ping","id":1}\n');
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2000).unref();
    });
    assert.ok(!got.includes('"ok"'), `a reply came in plain text: ${got}`);
  });

  test('a missing key file stops the start with a message naming the file', async () => {
    const started = await startFirmwareBoard({ name: 'no-key', auth: 'none', tls: { cert: tls.cert, key: join(dir, 'missing.der') } }).catch((err: unknown) => err as Error);
    if (!(started instanceof Error)) {
      await started.close();
      assert.fail('the board started without its key file');
    }
    assert.ok(started.message.includes(`tls: cannot read ${join(dir, 'missing.der')}; put the private key there in DER form`), started.message);
  });
});
