// The same protocol over TLS, and clear failures when a client picks the wrong one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, test } from 'node:test';
import { LineClient } from '../support/line-client.js';
import { startSimDevice } from '../support/sim-device.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'tls');
const cert = join(FIXTURES, 'cert.pem');
const key = join(FIXTURES, 'key.pem');

const secure = await startSimDevice({ name: 'tls-board', auth: 'none', tls: { cert, key } });
const plain = await startSimDevice({ name: 'plain-board', auth: 'none' });
after(async () => {
  await secure.close();
  await plain.close();
});

function tlsRequest(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(cert), servername: 'localhost' }, () => socket.write(line));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (data.includes('\n')) {
        socket.end();
        resolve(data.trim());
      }
    });
    socket.on('error', reject);
  });
}

test('a TLS board answers a TLS client that verifies its certificate', { timeout: 30_000 }, async () => {
  assert.equal(secure.device.secure, true);
  const reply = await tlsRequest(secure.port, '{"action":"get_info","id":1}\n');
  const parsed = JSON.parse(reply) as { ok: boolean; info: { capabilities: string[] } };
  assert.equal(parsed.ok, true);
  assert.ok(parsed.info.capabilities.includes('tls'));
});

test('a plain client on the TLS port is disconnected instead of left waiting', { timeout: 30_000 }, async () => {
  const c = await LineClient.connect(secure.port);
  await c.write('{"action":"ping"}\n');
  await c.waitClosed(5000);
});

test('a TLS client on a plain port fails at once instead of hanging', { timeout: 30_000 }, async () => {
  await assert.rejects(tlsRequest(plain.port, '{"action":"ping"}\n'));
});
