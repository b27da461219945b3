// The session over a fake connection: backpressure, event dropping, order under slow actions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Board } from '../../src/device/board.js';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { Dispatcher } from '../../src/device/dispatcher.js';
import { silentLogger } from '../../src/device/logger.js';
import { Session, type Connection } from '../../src/device/session.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';

class FakeConnection implements Connection {
  written: string[] = [];
  bufferedBytes = 0;
  full = false;
  paused = false;
  write(data: string): boolean {
    this.written.push(data);
    return !this.full;
  }
  pauseInput(): void {
    this.paused = true;
  }
  resumeInput(): void {
    this.paused = false;
  }
  destroyed = false;
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  lines(): Array<Record<string, unknown>> {
    return this.written
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

async function setup(options: { eventHighWaterBytes?: number; maxBacklogFrames?: number; eventHardLimitBytes?: number; maxSubscriptions?: number } = {}) {
  const clock = new ManualClock();
  const config = parseBoardConfig({ pins: [{ pin: 6, mode: 'input' }] });
  const hardware = createSimHardware(config, clock);
  const board = new Board(config, hardware, clock, silentLogger);
  await board.start();
  const conn = new FakeConnection();
  const session = new Session(conn, new Dispatcher(board, silentLogger), board, { maxFrameBytes: 1024, ...options });
  return { clock, hardware, board, conn, session };
}

test('a batch received in one chunk is answered with one write', { timeout: 30_000 }, async () => {
  const { conn, session } = await setup();
  session.receive(Buffer.from('{"action":"ping","id":1}\n{"action":"ping","id":2}\n{"action":"ping","id":3}\n'));
  assert.equal(conn.written.length, 1);
  assert.deepEqual(conn.lines().map((l) => l['id']), [1, 2, 3]);
});

test('when the socket is full the session stops reading until it drains', { timeout: 30_000 }, async () => {
  const { conn, session } = await setup();
  conn.full = true;
  session.receive(Buffer.from('{"action":"ping"}\n'));
  assert.equal(conn.paused, true);
  conn.full = false;
  session.drained();
  assert.equal(conn.paused, false);
});

test('too many unanswered frames behind a slow action pause reading, and order is kept', { timeout: 30_000 }, async () => {
  const { conn, session, clock } = await setup({ maxBacklogFrames: 4 });
  session.receive(Buffer.from('{"action":"sleep","time_ms":1000}\n'));
  session.receive(Buffer.from(Array.from({ length: 10 }, (_, i) => `{"action":"ping","id":${i}}\n`).join('')));
  assert.equal(conn.paused, true, 'paused while ten pings wait for the board to wake');
  await clock.advance(1000);
  await new Promise((r) => setImmediate(r));
  assert.equal(conn.paused, false);
  assert.deepEqual(
    conn.lines().map((l) => l['id'] ?? l['action']),
    ['sleep', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

test('edge events are dropped while the peer does not read, then counted in events_dropped', { timeout: 30_000 }, async () => {
  const { conn, session, hardware } = await setup({ eventHighWaterBytes: 100 });
  session.receive(Buffer.from('{"action":"subscribe","pin":6}\n'));
  conn.bufferedBytes = 1000;
  for (let i = 0; i < 5; i++) hardware.gpio.drive(6, (i % 2 === 0 ? 1 : 0));
  assert.equal(conn.lines().length, 1, 'only the subscribe reply');
  conn.bufferedBytes = 0;
  hardware.gpio.drive(6, 0);
  hardware.gpio.drive(6, 1);
  const events = conn.lines().slice(1);
  assert.deepEqual(events.map((e) => [e['event'], e['seq']]), [['events_dropped', 1], ['edge', 2], ['edge', 3]]);
  assert.equal(events[0]?.['count'], 5);
});

test('lease expiries are never dropped, even to a peer that does not read', { timeout: 30_000 }, async () => {
  const { conn, session, clock } = await setup({ eventHighWaterBytes: 100 });
  session.receive(Buffer.from('{"action":"setup_pin","pin":2,"mode":"output"}\n{"action":"write_pin","pin":2,"value":1,"timeout":1}\n'));
  conn.bufferedBytes = 10_000;
  await clock.advance(1000);
  assert.equal(conn.lines().at(-1)?.['event'], 'lease_expired');
});

test('closing a session stops its subscriptions but leaves its leases running', { timeout: 30_000 }, async () => {
  const { conn, session, clock, hardware, board } = await setup();
  session.receive(Buffer.from('{"action":"subscribe","pin":6}\n{"action":"setup_pin","pin":2,"mode":"output"}\n{"action":"write_pin","pin":2,"value":1,"timeout":2}\n'));
  assert.equal(hardware.gpio.watcherCount(6), 1);
  session.close();
  assert.equal(hardware.gpio.watcherCount(6), 0);
  assert.equal(board.readPin(2), 1);
  await clock.advance(2000);
  assert.equal(board.readPin(2), 0);
  assert.equal(conn.lines().filter((l) => l['event'] !== undefined).length, 0, 'a closed session hears nothing');
});

test('a peer that lets events pile up past the hard limit is disconnected', { timeout: 30_000 }, async () => {
  const { conn, session, clock } = await setup({ eventHighWaterBytes: 100, eventHardLimitBytes: 1000 });
  session.receive(Buffer.from('{"action":"setup_pin","pin":2,"mode":"output"}\n{"action":"write_pin","pin":2,"value":1,"timeout":1}\n'));
  conn.bufferedBytes = 1001;
  await clock.advance(1000);
  assert.equal(conn.destroyed, true);
  assert.equal(conn.lines().filter((l) => l['event'] !== undefined).length, 0);
});

test('a connection holds at most maxSubscriptions; unsubscribing makes room', { timeout: 30_000 }, async () => {
  const { conn, session } = await setup({ maxSubscriptions: 2 });
  session.receive(Buffer.from('{"action":"subscribe","pin":6}\n'.repeat(3) + '{"action":"unsubscribe","sub":1}\n{"action":"subscribe","pin":6}\n'));
  assert.deepEqual(
    conn.lines().map((l) => l['sub'] ?? (l['error'] as { code: string }).code),
    [1, 2, 'limit_exceeded', 1, 3],
  );
});

test('many pin subscriptions share one hardware watcher', { timeout: 30_000 }, async () => {
  const { conn, session, hardware } = await setup();
  session.receive(Buffer.from('{"action":"subscribe","pin":6}\n'.repeat(5)));
  assert.equal(hardware.gpio.watcherCount(6), 1);
  hardware.gpio.drive(6, 1);
  assert.deepEqual(conn.lines().filter((l) => l['event'] === 'edge').map((e) => e['sub']), [1, 2, 3, 4, 5]);
  session.close();
  assert.equal(hardware.gpio.watcherCount(6), 0);
});
