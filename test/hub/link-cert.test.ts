// `link.tls: auto` (docs/hub-config.md, docs/security.md): the hub makes its own self-signed link
// certificate with openssl at its first start, keeps the key to its user, reuses the pair after,
// and refuses to start, saying what to do, when openssl is not there.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { Logger } from '../../src/device/logger.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { LINK_CERT_FILE, LINK_KEY_FILE } from '../../src/hub/link-cert.js';
import { fingerprintOfPem } from '../../src/link/tls-pin.js';
import { runCli } from '../cli/run-cli.js';
import { startLinkedBoard, untilLinked } from '../support/linked-board.js';
import { startTestHub, tempDataDir } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const AUTO = { link: { host: '127.0.0.1', port: 0, keepalive_ms: 200, tls: 'auto' } };

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => void lines.push(m);
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines };
}

async function autoHub(data: string, logger: Logger): Promise<Hub> {
  const hub = await startTestHub({ data, logger, config: AUTO });
  cleanups.push(() => hub.close());
  return hub;
}

/** The fingerprint the hub's start line tells the operator to pin. */
function loggedFingerprint(lines: string[]): string {
  const line = lines.find((l) => l.includes('fingerprint')) ?? assert.fail(`a fingerprint line in:\n${lines.join('\n')}`);
  return /fingerprint ([0-9a-f]{64})/.exec(line)?.[1] ?? assert.fail(line);
}

/** Starts a hub on `data` with openssl run as `openssl` says; the hub must refuse. */
function hubWithOpenssl(data: string, openssl: { command?: string; env?: NodeJS.ProcessEnv }): Promise<Hub> {
  const config = parseHubConfig({ data, retention_days: 0, ...AUTO, http: { host: '127.0.0.1', port: 0 } }, 'test hub');
  return startHub({ config, logger: recordingLogger().logger, openssl });
}

describe('security: link.tls auto', { timeout: 120_000 }, () => {
  test('security: link.tls auto makes a P-256 self-signed certificate and a 0600 key in the data folder, and a board pinning its fingerprint links over TLS', async () => {
    const data = tempDataDir();
    const log = recordingLogger();
    const hub = await autoHub(data, log.logger);

    const certFile = path.join(data, LINK_CERT_FILE);
    const keyFile = path.join(data, LINK_KEY_FILE);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'the key is readable only by the hub user');
    assert.equal(fs.statSync(data).mode & 0o777, 0o700);
    const certPem = fs.readFileSync(certFile);
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, 'CN=tether-hub');
    assert.equal(cert.issuer, 'CN=tether-hub', 'self-signed');
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 24 * 3600 * 1000);
    assert.ok(years > 19.9 && years < 20.1, `valid for 20 years, not ${years}`);
    assert.deepEqual(
      fs.readdirSync(data).filter((f) => f.startsWith('.link-cert-')),
      [],
      'no working folder left behind',
    );

    const fingerprint = loggedFingerprint(log.lines);
    assert.equal(fingerprint, fingerprintOfPem(certPem), 'the logged fingerprint is the certificate in the data folder');
    assert.equal(hub.link.fingerprint, fingerprint);
    const keyBody = fs.readFileSync(keyFile, 'utf8').split('\n')[1] ?? assert.fail('a PEM key');
    assert.ok(!log.lines.some((l) => l.includes('PRIVATE KEY') || l.includes(keyBody)), 'the key is never logged');

    const { token } = await hub.store.addDevice('shed');
    const board = await startLinkedBoard({ port: hub.link.port, token, id: 'shed', tls: { fingerprint } });
    cleanups.push(() => board.close());
    await untilLinked(board.link);
    assert.equal((await hub.facade.command('shed', { action: 'write_pin', pin: 15, value: 1, timeout: 30 }))['ok'], true);
    assert.equal(board.hardware.gpio.level(15), 1);
  });

  test('security: a restart reuses the certificate: same files, same fingerprint', async () => {
    const data = tempDataDir();
    const first = recordingLogger();
    const hub = await autoHub(data, first.logger);
    const fingerprint = loggedFingerprint(first.lines);
    assert.ok(first.lines.some((l) => l.includes('made a self-signed certificate')));
    const keyBefore = fs.readFileSync(path.join(data, LINK_KEY_FILE));
    await hub.close();

    const second = recordingLogger();
    const again = await autoHub(data, second.logger);
    assert.equal(loggedFingerprint(second.lines), fingerprint);
    assert.equal(again.link.fingerprint, fingerprint);
    assert.ok(!second.lines.some((l) => l.includes('made a self-signed certificate')), 'nothing new made');
    assert.ok(fs.readFileSync(path.join(data, LINK_KEY_FILE)).equals(keyBefore), 'the same key');
  });

  test('security: without openssl the hub refuses to start and says to install it or give cert and key; nothing is left in the data folder', async () => {
    const data = tempDataDir();
    const emptyPath = tempDataDir();
    await assert.rejects(hubWithOpenssl(data, { env: { PATH: emptyPath } }), (err: Error) => {
      assert.match(err.message, /openssl command was not found/);
      assert.match(err.message, /apt install openssl/);
      assert.match(err.message, /link\.tls: \{cert, key\}/);
      return true;
    });
    // An openssl that fails is refused the same way, with its reason.
    await assert.rejects(hubWithOpenssl(data, { command: '/bin/false' }), /cannot make the link certificate: \/bin\/false failed .*apt install openssl/);
    assert.deepEqual(
      fs.readdirSync(data).filter((f) => f.startsWith('link-') || f.startsWith('.link-cert-')),
      [],
      'no certificate, key or working folder',
    );
  });

  test('security: tether hub with link.tls auto and no openssl on PATH exits with the error', async () => {
    const data = tempDataDir();
    const config = path.join(data, 'hub.json');
    fs.writeFileSync(config, JSON.stringify({ data, ...AUTO, http: { host: '127.0.0.1', port: 0 } }));
    const ran = await runCli(['hub', '--config', config], { env: { PATH: tempDataDir() } });
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr, /openssl command was not found.*apt install openssl/);
  });

  test('security: a certificate whose key is gone stops the hub rather than changing the fingerprint boards pin', async () => {
    const data = tempDataDir();
    const hub = await autoHub(data, recordingLogger().logger);
    await hub.close();
    const certBefore = fs.readFileSync(path.join(data, LINK_CERT_FILE));
    fs.rmSync(path.join(data, LINK_KEY_FILE));
    await assert.rejects(startTestHub({ data, config: AUTO }), /link-key\.pem is not; put the key back, or delete .*link-cert\.pem/);
    assert.ok(fs.readFileSync(path.join(data, LINK_CERT_FILE)).equals(certBefore), 'the certificate is kept');
  });

  test('security: add-device with link.tls auto says the hub prints the fingerprint at its first start, then gives it once the hub made it', async () => {
    const data = tempDataDir();
    const config = path.join(data, 'hub.json');
    fs.writeFileSync(config, JSON.stringify({ data, ...AUTO, http: { host: '127.0.0.1', port: 0 } }));
    const before = await runCli(['hub', 'add-device', 'shed', '--config', config]);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /--hub-fingerprint FINGERPRINT /);
    assert.match(before.stdout, /makes it at its first start and prints the fingerprint then/);

    const log = recordingLogger();
    const hub = await autoHub(data, log.logger);
    await hub.close();
    const after = await runCli(['hub', 'add-device', 'pi', '--config', config]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(/--hub-fingerprint (\S+)/.exec(after.stdout)?.[1], loggedFingerprint(log.lines));
    assert.doesNotMatch(after.stdout, /first start/);
  });

  test('link.tls takes auto or {cert, key}, and says so', () => {
    assert.equal(parseHubConfig({ link: { tls: 'auto' } }).link.tls, 'auto');
    assert.deepEqual(parseHubConfig({ link: { tls: { cert: 'a.pem', key: 'b.pem' } } }).link.tls, { cert: 'a.pem', key: 'b.pem' });
    assert.throws(() => parseHubConfig({ link: { tls: 'yes' } }), /link\.tls: expected auto \(the hub makes its own certificate\) or \{cert, key\} PEM files/);
    assert.throws(() => parseHubConfig({ link: { tls: { cert: 'a.pem', key: '' } } }), /link\.tls\.key: expected a PEM file/);
  });
});
