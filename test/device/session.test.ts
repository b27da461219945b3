// The session over a fake connection: backpressure, event dropping, order under slow actions.
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { Board } from '../../src/device/board.js';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { Dispatcher, type SessionContext } from '../../src/device/dispatcher.js';
import { ACTION_SCOPES, type Scope } from '../../src/protocol/actions.js';
import type { JsonObject } from '../../src/protocol/codec.js';
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

// The Dispatcher's scope checks, straight: each action against each scope, with the messages that
// say what to do; the token never echoed; errors that are not protocol errors reported as internal.
const READ_TOKEN = 'read-token-0123456789';
const ACTUATE_TOKEN = 'actuate-token-0123456789';
const ADMIN_TOKEN = 'admin-token-0123456789';

async function dispatcherOn(tokens: boolean) {
  const clock = new ManualClock();
  const auth = { tokens: [{ token: READ_TOKEN, scope: 'read' }, { token: ACTUATE_TOKEN, scope: 'actuate' }, { token: ADMIN_TOKEN, scope: 'admin' }] };
  const config = parseBoardConfig({ pins: [{ pin: 2, mode: 'output' }], ...(tokens ? { auth } : {}) });
  const board = new Board(config, createSimHardware(config, clock), clock, silentLogger);
  await board.start();
  const dispatcher = new Dispatcher(board, silentLogger);
  const ctx: { scope: Scope | null } & SessionContext = {
    scope: dispatcher.initialScope,
    grant(scope) {
      ctx.scope = scope;
    },
    addSubscription: () => 1,
    removeSubscription: () => true,
    emit: () => {},
  };
  const send = (request: Record<string, unknown>) => dispatcher.handle(request, ctx) as JsonObject;
  return { clock, board, dispatcher, ctx, send };
}

const refusal = (action: string, needed: string, held: Scope | null) =>
  held === null
    ? `${action} needs a token with ${needed} scope; send {"action":"auth","token":"…"} first`
    : `${action} needs a token with ${needed} scope; this connection holds ${held}`;

void describe('Dispatcher scope checks', { timeout: 30_000 }, () => {
  void it('the scope table: auth needs none, reads need read, pins need actuate, reset/sleep/update need admin', () => {
    assert.equal(ACTION_SCOPES.auth, null);
    assert.equal(ACTION_SCOPES.ping, null);
    assert.equal(ACTION_SCOPES.read_pin, 'read');
    assert.equal(ACTION_SCOPES.write_pin, 'actuate');
    assert.equal(ACTION_SCOPES.reset, 'admin');
    assert.equal(ACTION_SCOPES.sleep, 'admin');
    assert.equal(ACTION_SCOPES.update, 'admin');
  });

  void it('before auth only the scope-free actions run, and the refusal says to send auth first', async () => {
    const { ctx, send } = await dispatcherOn(true);
    assert.equal(ctx.scope, null);
    assert.deepEqual(send({ action: 'ping', id: 1 }), { action: 'ping', id: 1, ok: true });
    assert.deepEqual(send({ action: 'read_pin', pin: 2 }), {
      action: 'read_pin',
      pin: 2,
      ok: false,
      error: { code: 'unauthorized', message: refusal('read_pin', 'read', null) },
    });
    assert.deepEqual((send({ action: 'reset' })['error'] as JsonObject)['message'], refusal('reset', 'admin', null));
  });

  for (const [token, held] of [
    [READ_TOKEN, 'read'],
    [ACTUATE_TOKEN, 'actuate'],
    [ADMIN_TOKEN, 'admin'],
  ] as const) {
    void it(`the ${held} token opens exactly the actions its scope allows`, async () => {
      const { ctx, send } = await dispatcherOn(true);
      assert.deepEqual(send({ action: 'auth', token, id: 7 }), { action: 'auth', token: '***', id: 7, scope: held, ok: true });
      assert.equal(ctx.scope, held);
      const rank = { read: 0, actuate: 1, admin: 2 };
      const cases: Array<[Record<string, unknown>, Scope]> = [
        [{ action: 'read_pin', pin: 2 }, 'read'],
        [{ action: 'get_state' }, 'read'],
        [{ action: 'write_pin', pin: 2, value: 1, timeout: 5 }, 'actuate'],
        [{ action: 'reset' }, 'admin'],
        [{ action: 'update', op: 'status' }, 'admin'],
        [{ action: 'sleep', time_ms: 10 }, 'admin'],
      ];
      for (const [request, needed] of cases) {
        const reply = send(request);
        const error = reply['error'] as JsonObject | undefined;
        if (rank[held] >= rank[needed]) {
          assert.notEqual(error?.['code'], 'unauthorized', `${held} may ${String(request['action'])}`);
        } else {
          assert.deepEqual(error, { code: 'unauthorized', message: refusal(String(request['action']), needed, held) });
        }
      }
    });
  }

  void it('an admin runs reset and update: the handlers answer, not the scope check', async () => {
    const { send } = await dispatcherOn(true);
    send({ action: 'auth', token: ADMIN_TOKEN });
    assert.deepEqual(send({ action: 'reset' }), { action: 'reset', reset_in_ms: 1000, ok: true });
    assert.equal((send({ action: 'update', op: 'status' })['error'] as JsonObject)['code'], 'unsupported');
  });

  void it('a wrong token is refused with what to check, the scope is unchanged, and the token is not echoed', async () => {
    const { ctx, send } = await dispatcherOn(true);
    assert.deepEqual(send({ action: 'auth', token: 'not-a-token-0123456789' }), {
      action: 'auth',
      token: '***',
      ok: false,
      error: { code: 'unauthorized', message: 'token not accepted; check the token in the board config' },
    });
    assert.equal(ctx.scope, null);
  });

  void it('only an auth request with a token gets its token masked; nothing else gains a token field', async () => {
    const { send } = await dispatcherOn(true);
    assert.equal(Object.hasOwn(send({ action: 'auth' }), 'token'), false);
    assert.equal(Object.hasOwn(send({ action: 'ping' }), 'token'), false);
    assert.equal(send({ action: 'ping', token: 'x' })['token'], 'x');
  });

  void it('on a board without tokens everything is open, and auth grants admin', async () => {
    const { ctx, send } = await dispatcherOn(false);
    assert.equal(ctx.scope, 'admin');
    ctx.grant('read');
    assert.deepEqual(send({ action: 'auth', token: 'anything-at-all-here' }), { action: 'auth', token: '***', scope: 'admin', ok: true });
    assert.equal(ctx.scope, 'admin');
    assert.deepEqual(send({ action: 'reset' }), { action: 'reset', reset_in_ms: 1000, ok: true });
  });

  void it('an error that is not a protocol error is answered as internal, naming the action', async () => {
    const { board, send } = await dispatcherOn(false);
    board.readPin = () => {
      throw new Error('boom');
    };
    assert.deepEqual(send({ action: 'read_pin', pin: 2 }), {
      action: 'read_pin',
      pin: 2,
      ok: false,
      error: { code: 'internal', message: 'internal error in read_pin: boom; please report it' },
    });
  });

  void it('a request during light sleep is answered when the board wakes, not later', async () => {
    const { clock, send } = await dispatcherOn(false);
    await clock.advance(5000);
    assert.deepEqual(send({ action: 'sleep', time_ms: 1000 }), { action: 'sleep', time_ms: 1000, sleep_ms: 1000, ok: true });
    let reply: JsonObject | undefined;
    void (send({ action: 'ping' }) as unknown as Promise<JsonObject>).then((r) => (reply = r));
    await clock.advance(999);
    assert.equal(reply, undefined, 'still asleep');
    await clock.advance(1);
    assert.deepEqual(reply, { action: 'ping', ok: true });
  });
});
