// The stream's flow control, against a socket whose unsent byte count the test sets: a client
// that falls behind loses reading updates (and is told how many), never device, state or event
// updates, and is closed with 1013 once it is far behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOSE_TOO_SLOW, STREAM_LIMITS, type StreamSocket, UpdateStream, updateDevice } from '../../src/hub/api/stream.js';
import type { HubUpdate } from '../../src/hub/types.js';

class FakeSocket implements StreamSocket {
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
}

const reading = (device: string, n: number): HubUpdate => ({ type: 'reading', device, sensor: 'air', ts: n, values: { temperature: n }, units: { temperature: '°C' } });
const state = (device: string, n: number): HubUpdate => ({ type: 'state', device, state: { n } });
const event = (device: string, id: number): HubUpdate => ({ type: 'event', device, event: { id, device, ts: id, type: 'lease_expired', data: {} } });

void describe('UpdateStream', { timeout: 30_000 }, () => {
  void it('sends everything while the client keeps up', () => {
    const socket = new FakeSocket();
    const stream = new UpdateStream(socket, undefined);
    const updates = [reading('a', 1), state('a', 2), event('b', 3)];
    for (const u of updates) stream.push(u);
    assert.deepEqual(socket.sent, updates);
  });

  void it('past 1 MiB unsent drops readings only, then reports the count before the next message', () => {
    const socket = new FakeSocket();
    const stream = new UpdateStream(socket, undefined);
    socket.bufferedAmount = STREAM_LIMITS.dropReadingsBytes + 1;
    stream.push(reading('a', 1));
    stream.push(reading('a', 2));
    assert.deepEqual(socket.sent, [], 'readings dropped');
    assert.equal(stream.pendingDropped, 2);
    stream.push(event('a', 3));
    stream.push(state('a', 4));
    assert.deepEqual(socket.sent, [{ type: 'readings_dropped', count: 2 }, event('a', 3), state('a', 4)], 'events and states still go, after the count');
    assert.equal(stream.pendingDropped, 0);
    socket.bufferedAmount = STREAM_LIMITS.dropReadingsBytes;
    stream.push(reading('a', 5));
    assert.deepEqual(socket.sent.at(-1), reading('a', 5), 'at exactly the limit readings flow again');
    assert.equal(socket.closes.length, 0);
  });

  void it('past 8 MiB closes the socket with 1013 and a reason, once, and sends nothing more', () => {
    const socket = new FakeSocket();
    const stream = new UpdateStream(socket, undefined);
    socket.bufferedAmount = STREAM_LIMITS.closeBytes + 1;
    stream.push(event('a', 1));
    stream.push(state('a', 2));
    assert.equal(socket.closes.length, 1);
    assert.equal(socket.closes[0]?.code, CLOSE_TOO_SLOW);
    assert.equal(CLOSE_TOO_SLOW, 1013);
    assert.match(socket.closes[0]?.reason ?? '', /too slow/);
    assert.ok(Buffer.byteLength(socket.closes[0]?.reason ?? '') <= 123, 'a close reason fits in a control frame');
    assert.deepEqual(socket.sent, []);
  });

  void it('with a device filter passes only that board, device updates included', () => {
    const socket = new FakeSocket();
    const stream = new UpdateStream(socket, 'b');
    const deviceB: HubUpdate = { type: 'device', device: { id: 'b', name: 'b', online: true, firmware: '', capabilities: [], bootId: null, firstSeen: null, lastSeen: null, address: null, rssi: null, linkedSince: null, bootedAt: null } };
    for (const u of [reading('a', 1), deviceB, state('a', 2), event('b', 3)]) stream.push(u);
    assert.deepEqual(socket.sent, [deviceB, event('b', 3)]);
    assert.equal(updateDevice(deviceB), 'b');
  });
});
