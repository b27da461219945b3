// The ZeroMQ side of `tether device`'s PyMoDAQ port (docs/pymodaq.md, "What the board answers"):
// DEALER and REQ peers, messages dropped without a reply (not UTF-8, odd frame counts), a link
// that reconnects with a new identity after a timeout as the plugin's does, and two clients at
// once each getting its own replies in its own order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ack, asReply, PyMoDAQClients, SKIP_WITHOUT_PYZMQ, startPymodaqDevice, type DeviceProcess, type Json, type JsonObject, type Reply } from '../../support/pymodaq.js';

/** An AQ-MULTI of `n` reads of the fan: its reply's length says which request it answers. */
const grabOf = (n: number): string => JSON.stringify({ type: 'AQ-MULTI', components: Array.from({ length: n }, () => ({ register: 'pin', pin: 18 })) });

function parsedReply(frame: string | undefined): Reply {
  assert.ok(frame !== undefined, 'a reply frame');
  return asReply(JSON.parse(frame) as Json, 'the reply');
}

describe('PyMoDAQ over ZeroMQ: DEALER and REQ peers, dropped messages, reconnects, clients side by side', { timeout: 60_000, skip: SKIP_WITHOUT_PYZMQ }, () => {
  let device: DeviceProcess | undefined;
  let py: PyMoDAQClients | undefined;

  before(async () => {
    device = await startPymodaqDevice();
    py = PyMoDAQClients.start();
  });

  after(async () => {
    await py?.stop();
    await device?.stop();
  });

  const setup = (): { py: PyMoDAQClients; endpoint: string } => {
    assert.ok(py !== undefined && device !== undefined);
    return { py, endpoint: device.endpoint };
  };

  test('a request that is not UTF-8 has no reply: the link times out, opens a new socket with a new identity, and that one is answered', async () => {
    const { py, endpoint } = setup();
    const { identity: first, scan } = await py.open('move', endpoint, { timeoutMs: 1500 });
    assert.ok(scan !== undefined);
    ack(scan, 'scan on open');

    // Valid JSON but for one byte: a decoder that replaced it would answer this scan.
    const bytes = Buffer.concat([Buffer.from('{"type": "scan", "note": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const lost = await py.exchange('move', { bytes });
    assert.equal(lost.reconnected, true, `no reply to a message that is not UTF-8, got ${JSON.stringify(lost.reply)}`);
    assert.equal(lost.reply.state, 'ERROR');
    assert.match(lost.reply.value as string, /^timeout: /);
    assert.notEqual(lost.identity, first, 'a new socket, with a new identity');

    const next = await py.exchange('move', { body: { type: 'AQ', register: 'pin', pin: '18' } });
    assert.equal(next.reconnected, false);
    assert.equal(next.identity, lost.identity);
    assert.equal(next.frames, 1);
    assert.equal(ack(next.reply, 'AQ on the new socket'), 0);

    // An encoded UTF-16 surrogate (ED A0 80) is not UTF-8 either.
    const surrogate = await py.exchange('move', { bytes: Buffer.concat([Buffer.from('{"type": "scan", "note": "'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]) });
    assert.equal(surrogate.reconnected, true, `no reply to an encoded surrogate, got ${JSON.stringify(surrogate.reply)}`);
    assert.notEqual(surrogate.identity, lost.identity);
    assert.deepEqual(Object.keys(ack(await py.request('move', { type: 'scan' })) as JsonObject), ['actuator', 'detector']);
    await py.close('move');
  });

  test('a message of four frames, or of three whose second is not empty, is dropped; the socket goes on working', async () => {
    const { py, endpoint } = setup();
    await py.open('raw', endpoint);
    // A DEALER's frames reach the ROUTER after its identity: these are [identity, a, b, c] and [identity, "x", body].
    await py.send('raw', [grabOf(1), '', grabOf(2)]);
    assert.equal(await py.recv('raw', 1500), undefined, 'no reply to a four-frame message');
    await py.send('raw', ['x', grabOf(3)]);
    assert.equal(await py.recv('raw', 1500), undefined, 'no reply to three frames whose second is not empty');

    await py.send('raw', [grabOf(4)]);
    const frames = await py.recv('raw', 5000);
    assert.ok(frames !== undefined && frames.length === 1, `one frame back: ${JSON.stringify(frames)}`);
    assert.deepEqual(ack(parsedReply(frames[0])), [0, 0, 0, 0], 'the reply to this request, not to a dropped one');

    // REQ's shape from a DEALER: [identity, "", body] in, ["", reply] back.
    await py.send('raw', ['', grabOf(5)]);
    const delimited = await py.recv('raw', 5000);
    assert.ok(delimited !== undefined && delimited.length === 2 && delimited[0] === '', `the reply in the request's shape: ${JSON.stringify(delimited)}`);
    assert.deepEqual(ack(parsedReply(delimited[1])), [0, 0, 0, 0, 0]);
    await py.close('raw');
  });

  test('a REQ client gets its replies in three frames and asks again and again', async () => {
    const { py, endpoint } = setup();
    await py.open('req', endpoint, { kind: 'req' });
    for (let round = 0; round < 3; round++) {
      const scan = await py.exchange('req', { body: { type: 'scan' } });
      // A REQ socket takes only [identity, "", reply]; another shape would leave it waiting.
      assert.equal(scan.reconnected, false, `round ${round}: answered`);
      assert.equal(scan.frames, 1);
      assert.deepEqual(Object.keys(ack(scan.reply) as JsonObject), ['actuator', 'detector']);
      const grab = await py.exchange('req', { text: grabOf(round + 1) });
      assert.equal(grab.reconnected, false);
      assert.deepEqual(ack(grab.reply), Array.from({ length: round + 1 }, () => 0));
    }
    const bad = await py.exchange('req', { text: '{"type": scan}' });
    assert.equal(bad.reconnected, false);
    assert.equal(bad.reply.state, 'ERROR');
    assert.match(bad.reply.value as string, /^bad_json: /);
    await py.close('req');
  });

  test('two DEALERs and a REQ at once: requests interleaved, each client gets its own replies in the order it asked', async () => {
    const { py, endpoint } = setup();
    await py.open('viewer', endpoint);
    await py.open('move', endpoint);
    await py.open('other', endpoint, { kind: 'req' });
    // The viewer's grabs include the AHT10 (an 80 ms conversion): slower than the move's.
    const viewerGrab = (n: number): string => JSON.stringify({ type: 'AQ-MULTI', components: [{ register: 'add', add: '0x38' }, ...Array.from({ length: n - 1 }, () => ({ register: 'pin', pin: 18 }))] });
    for (let i = 1; i <= 5; i++) {
      await py.send('viewer', [viewerGrab(i)]);
      await py.send('move', [grabOf(5 + i)]);
    }
    const between = await py.exchange('other', { text: grabOf(11) });
    assert.equal(between.reconnected, false);
    assert.equal((ack(between.reply) as Json[]).length, 11, 'the REQ client gets its own reply');

    const lengths = async (name: string): Promise<number[]> => {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        const frames = await py.recv(name, 10_000);
        assert.ok(frames !== undefined && frames.length === 1, `${name}: reply ${i + 1} of 5: ${JSON.stringify(frames)}`);
        const value = ack(parsedReply(frames[0]));
        assert.ok(Array.isArray(value));
        seen.push(value.length);
      }
      assert.equal(await py.recv(name, 300), undefined, `${name}: nothing more`);
      return seen;
    };
    assert.deepEqual(await lengths('viewer'), [1, 2, 3, 4, 5]);
    assert.deepEqual(await lengths('move'), [6, 7, 8, 9, 10]);
    for (const name of ['viewer', 'move', 'other']) await py.close(name);
  });
});
