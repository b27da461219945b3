// The MicroPython firmware (under CPython, on the shims) dialling the hub over TLS with the hub's
// certificate pinned by `fingerprint` in config/hub.json (protocol.md §10.5): the real hub with
// link.tls for the right pin, a bare TLS server that records every byte for a wrong one.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { afterEach, describe, test } from 'node:test';
import { fingerprintOfPem } from '../../src/link/tls-pin.js';
import { loadTestCert } from '../client/tls-cert.js';
import { startFirmwareBoard } from '../support/firmware-board.js';
import { SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BOARD = { name: 'tls-linked', auth: 'none', pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }] };
const cert = loadTestCert();
const fingerprint = fingerprintOfPem(cert.cert);

describe('firmware hub link over TLS, pinned', { skip: SKIP_WITHOUT_PYTHON3, timeout: 60_000 }, () => {
  test('security: the firmware links to the hub whose certificate it pins (openssl form), and commands run', async () => {
    const hub = await startTestHub({
      config: { link: { host: '127.0.0.1', port: 0, keepalive_ms: 200, tls: { cert: cert.certFile, key: cert.certFile.replace(/cert\.pem$/, 'key.pem') } } },
    });
    cleanups.push(() => hub.close());
    const { token } = await hub.store.addDevice('pico');
    const asOpenssl = fingerprint.toUpperCase().match(/../g)?.join(':') ?? '';
    const board = await startFirmwareBoard(BOARD, { args: ['--hub', `127.0.0.1:${hub.link.port}`, '--id', 'pico', '--token', token, '--fingerprint', asOpenssl, '--no-listen'] });
    cleanups.push(() => board.close());
    await eventually(async () => ((await hub.deviceLink('pico'))?.online ? true : undefined), `the firmware board online at the hub (stderr: ${board.stderr()})`, 15_000);
    const reply = await hub.facade.command('pico', { action: 'write_pin', pin: 15, value: 1, timeout: 30 });
    assert.equal(reply['ok'], true, JSON.stringify(reply));
    assert.equal((await board.state()).levels['15'], 1);
  });

  test('security: with another pin the firmware closes before its hello, says why and dials again later', async () => {
    // A server with the same certificate as before: only the pin differs, by one digit.
    const received: Buffer[] = [];
    let connections = 0;
    const server = tls.createServer({ cert: cert.cert, key: cert.key }, (socket) => {
      connections++;
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const wrong = `${fingerprint.slice(0, -1)}${fingerprint.endsWith('0') ? '1' : '0'}`;
    const board = await startFirmwareBoard(BOARD, { args: ['--hub', `127.0.0.1:${port}`, '--id', 'pico', '--token', 'pico-hub-token-0123456789abcdef', '--fingerprint', wrong, '--no-listen'] });
    cleanups.push(() => board.close());
    const refusals = () => board.stderr().split('\n').filter((l) => l.includes('presented a TLS certificate'));
    await eventually(() => (refusals().length >= 2 && connections >= 2 ? true : undefined), `two refusals (stderr: ${board.stderr()})`, 15_000);
    assert.match(refusals()[0] ?? '', new RegExp(`^hub 127\\.0\\.0\\.1:${port} presented a TLS certificate with fingerprint ${fingerprint}, not the pinned ${wrong}; closed before the hello`));
    assert.deepEqual(received, [], 'not one byte of application data reached the server: no hello');
    const link = (await board.state()).link;
    assert.ok(link !== null && !link.up && link.connections === 0, JSON.stringify(link));
  });

  test('security: a fingerprint that is not a SHA-256 stops the start, naming the field', async () => {
    await assert.rejects(
      startFirmwareBoard(BOARD, { args: ['--hub', '127.0.0.1:9', '--id', 'pico', '--token', 'pico-hub-token-0123456789abcdef', '--fingerprint', 'ab:cd', '--no-listen'] }),
      /fingerprint: expected the SHA-256 of the hub's TLS certificate, 64 hex digits/,
    );
  });
});
