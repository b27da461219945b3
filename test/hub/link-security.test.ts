// The hub's side of the link against a hostile LAN (protocol.md §10.5–§10.7; docs/security.md):
// a recorded handshake replayed to the hub is refused, a frame that fails its MAC closes the
// connection with nothing in it stored, and a command longer than the board takes is refused at
// the API (413) or, queued before the board lowered its limit, failed back once and never sent.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import type { Logger } from '../../src/device/logger.js';
import type { HubError } from '../../src/hub/errors.js';
import type { Hub } from '../../src/hub/hub.js';
import { SEAL_OVERHEAD } from '../../src/protocol/auth.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { LinkRecorder } from '../support/link-recorder.js';
import { startLinkedBoard, untilLinked } from '../support/linked-board.js';
import { openRawLink, type RawLink } from '../support/raw-link.js';
import { eventually, startTestHub, tempDataDir } from '../support/test-hub.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => void lines.push(m);
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines };
}

async function testHub(logger?: Logger): Promise<Hub> {
  const hub = await startTestHub(logger !== undefined ? { logger } : {});
  cleanups.push(() => hub.close());
  return hub;
}

async function raw(port: number): Promise<RawLink> {
  const link = await openRawLink(port);
  cleanups.push(() => link.close());
  return link;
}

const parse = (line: Buffer): JsonObject => JSON.parse(line.toString('utf8')) as JsonObject;
const onlineCount = async (hub: Hub, id: string) => (await hub.facade.events({ device: id, type: 'online' })).length;

describe('security: the hub and a recorded or altered link', { timeout: 60_000 }, () => {
  test('security: a replayed handshake fails', async () => {
    const log = recordingLogger();
    const hub = await testHub(log.logger);
    const { token } = await hub.store.addDevice('shed');
    const path = await LinkRecorder.start({ host: '127.0.0.1', port: hub.link.port });
    cleanups.push(() => path.close());
    const linked = await startLinkedBoard({ port: path.port, token, id: 'shed' });
    cleanups.push(() => linked.close());
    await untilLinked(linked.link);
    await eventually(() => hub.facade.state('shed') ?? undefined, 'the state reported');
    const [hello, auth, ...sealed] = path.connections[0]?.up ?? [];
    assert.equal(parse(hello as Buffer)['link'], 'hello');
    assert.equal(parse(auth as Buffer)['link'], 'auth');
    assert.ok(sealed.length > 0, 'the board sent sealed frames after its auth');
    await linked.close();
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === false ? true : undefined), 'the real board gone');

    // The recorded hello and auth, word for word: the hub's new nonce makes the old proof wrong.
    // Sent as a board would (the auth after the challenge) and all at once, with the sealed frames behind.
    const nl = Buffer.from('\n');
    for (const atOnce of [false, true]) {
      const replay = await raw(hub.link.port);
      replay.sendBytes(Buffer.concat([hello as Buffer, nl]));
      if (atOnce) replay.sendBytes(Buffer.concat([auth as Buffer, nl, ...sealed.flatMap((l) => [l, nl])]));
      else {
        const challenge = await replay.waitFor((f) => f['link'] === 'challenge', 'a fresh challenge');
        assert.notEqual(challenge['nonce'], parse(path.connections[0]?.down[0] as Buffer)['nonce']);
        replay.sendBytes(Buffer.concat([auth as Buffer, nl]));
      }
      await replay.closed;
      assert.deepEqual(
        replay.frames.map((f) => f['link']),
        ['challenge', 'reject'],
      );
      assert.equal((replay.frames[1]?.['error'] as JsonObject)['code'], 'unauthorized');
    }
    assert.equal(log.lines.filter((l) => /^link 127\.0\.0\.1:\d+: refused "shed": wrong board proof$/.test(l)).length, 2, log.lines.join('\n'));
    assert.equal(await onlineCount(hub, 'shed'), 1, 'only the real board ever linked');
    assert.equal((await hub.deviceLink('shed'))?.online, false);
  });

  test('security: a frame that fails its MAC at the hub closes the link, and nothing in it is stored', async () => {
    const log = recordingLogger();
    const hub = await testHub(log.logger);
    const { token } = await hub.store.addDevice('shed');
    const reading = (seq: number, n: number) => ({ link: 'msg', seq, body: { event: 'reading', ts: 1000 + n, boot_id: 'boot-1', sensor: 's', values: { n }, units: {} } });
    const stored = async () => (await hub.facade.readings({ device: 'shed', sensor: 's', from: 0, to: Date.now() + 3_600_000 })).map((r) => r.avg);

    // Unsealed, then with one byte of a sealed frame altered.
    const forgeries = [
      () => encodeFrame(reading(2, 2)),
      (link: RawLink) => link.sealLines(encodeFrame(reading(2, 2))).toString('utf8').replace('"n":2', '"n":7'),
    ];
    for (const [i, forge] of forgeries.entries()) {
      const link = await raw(hub.link.port);
      assert.equal((await link.authenticate('shed', token, { keepalive_ms: 60_000 }))['link'], 'welcome');
      link.send(reading(1, 1));
      await link.waitFor((f) => f['link'] === 'ack' && f['ack'] === 1, 'message 1 committed');
      link.sendBytes(forge(link));
      await link.closed;
      await eventually(async () => (await hub.facade.events({ device: 'shed', type: 'offline' }))[i], `offline ${i + 1}`);
    }
    assert.deepEqual(await stored(), [1], 'only the sealed message is in the store');
    const offline = (await hub.facade.events({ device: 'shed', type: 'offline', afterId: 0, limit: 10 })).map((e) => String(e.data['reason']));
    assert.match(offline[0] ?? '', /^protocol_error: frame 1 is not sealed/);
    assert.match(offline[1] ?? '', /^protocol_error: frame 1 failed its MAC/);
    const macLines = log.lines.filter((l) => /^link 127\.0\.0\.1:\d+ shed: a frame failed its MAC \(frame 1 /.test(l));
    assert.equal(macLines.length, 2, log.lines.join('\n'));
    assert.match(macLines[1] ?? '', /nothing in that frame was run/);
  });
});

describe('security: frame limits (protocol.md §10.7)', { timeout: 60_000 }, () => {
  test('security: an oversize API command is refused once with 413 and never stored nor resent; the link stays up', async () => {
    const hub = await testHub();
    const { token } = await hub.store.addDevice('shed');
    const path = await LinkRecorder.start({ host: '127.0.0.1', port: hub.link.port });
    cleanups.push(() => path.close());
    const linked = await startLinkedBoard({ port: path.port, token, id: 'shed', maxFrameBytes: 512 });
    cleanups.push(() => linked.close());
    await untilLinked(linked.link);
    assert.equal(parse(path.lines('up')[0] as Buffer)['max_frame'], 512, 'the board says its limit in its hello');
    await eventually(() => hub.facade.state('shed') ?? undefined, 'the state reported');

    const post = (body: object) =>
      fetch(`http://127.0.0.1:${hub.http.port}/api/devices/shed/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.apiToken.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const before = path.lines('down').length;
    const response = await post({ action: 'ping', note: 'x'.repeat(600) });
    assert.equal(response.status, 413);
    const answer = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(answer.error.code, 'frame_too_large');
    assert.match(answer.error.message, /at most 512 bytes/);
    assert.deepEqual((await hub.store.outboxPending('shed')), [], 'never stored');

    // A short command still goes through on the same link; a long one through the facade is refused too.
    const fits = await hub.facade.command('shed', { action: 'ping', note: 'y' });
    assert.equal(fits['ok'], true);
    await assert.rejects(hub.facade.command('shed', { action: 'ping', note: 'z'.repeat(600) }), (e: HubError) => e.code === 'frame_too_large' && e.httpStatus === 413);

    await pause(300);
    const sent = path.lines('down').slice(before).map((l) => l.toString('utf8'));
    assert.ok(!sent.some((l) => l.includes('xxxxxxxxxx') || l.includes('zzzzzzzzzz')), 'the refused commands never went out');
    assert.ok(sent.every((l) => Buffer.byteLength(l) <= 512), 'no frame over the board limit');
    assert.equal(path.connections.length, 1, 'one connection throughout: no reconnect loop');
    assert.equal(linked.link.state, 'up');
    assert.equal(await onlineCount(hub, 'shed'), 1);
  });

  test('security: a queued command longer than the board now takes fails back once and goes out as a ping under its number', async () => {
    const hub = await testHub();
    const { token } = await hub.store.addDevice('shed');
    const first = await raw(hub.link.port);
    const firstWelcome = await first.authenticate('shed', token, { keepalive_ms: 60_000, max_frame: 1_048_576 });
    assert.equal(firstWelcome['link'], 'welcome');
    const big = hub.facade.command('shed', { action: 'ping', note: 'w'.repeat(2000), id: 'mine' }, { timeoutMs: 20_000 });
    big.catch(() => undefined);
    const sentBig = await first.waitFor((f) => f['link'] === 'msg' && String((f['body'] as JsonObject)['note']).length === 2000, 'the command on the first connection');
    const seq = sentBig['seq'];
    first.close(); // neither answered nor acknowledged

    // The same boot comes back taking at most 512 bytes (its hello says so): nothing acknowledged yet.
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === false ? true : undefined), 'offline');
    const second = await raw(hub.link.port);
    const welcome = await second.authenticate('shed', token, { keepalive_ms: 60_000, max_frame: 512, rx: { stream: firstWelcome['stream'], last: 0 } });
    assert.equal(welcome['link'], 'welcome');
    await assert.rejects(big, (e: HubError) => e.code === 'frame_too_large' && /at most 512 bytes/.test(e.message));
    const stand = await second.waitFor((f) => f['link'] === 'msg' && f['seq'] === seq, 'message under the same number');
    assert.equal((stand['body'] as JsonObject)['action'], 'ping', 'a ping in its place keeps the numbers');
    assert.ok(Buffer.byteLength(JSON.stringify(stand)) + SEAL_OVERHEAD <= 512);
    assert.equal(second.isClosed, false);

    // Acknowledged, it is gone for good: a third connection gets nothing under that number.
    second.send({ link: 'ack', ack: seq });
    await eventually(async () => ((await hub.store.outboxPending('shed')).some((m) => m.seq === seq) ? undefined : true), 'dropped from the outbox');
    second.close();
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === false ? true : undefined), 'offline again');
    const third = await raw(hub.link.port);
    assert.equal((await third.authenticate('shed', token, { keepalive_ms: 60_000, max_frame: 512, rx: { stream: welcome['stream'], last: seq } }))['link'], 'welcome');
    await pause(300);
    assert.ok(!third.frames.some((f) => f['link'] === 'msg' && f['seq'] === seq), JSON.stringify(third.frames));
    assert.ok(!third.frames.some((f) => JSON.stringify(f).includes('wwwwwwwwww')));
  });
});

describe('link.tls at hub start', { timeout: 30_000 }, () => {
  test('a certificate that cannot be read stops the hub with the key and the path', async () => {
    const missing = `${tempDataDir()}/no-such-cert.pem`;
    await assert.rejects(
      startTestHub({ config: { link: { host: '127.0.0.1', port: 0, tls: { cert: missing, key: missing } } } }),
      (err: Error) => err.message.startsWith(`link.tls.cert: cannot read ${missing}`) && err.message.includes('check the path in the hub config'),
    );
    const notPem = `${tempDataDir()}/cert.pem`;
    writeFileSync(notPem, 'not a certificate');
    await assert.rejects(startTestHub({ config: { link: { host: '127.0.0.1', port: 0, tls: { cert: notPem, key: notPem } } } }), /link\.tls\.cert: .* is not a PEM certificate/);
  });
});
