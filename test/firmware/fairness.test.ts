// Idle clients never lock the owner out of a firmware board (protocol.md §1, fairness): the
// firmware's real modules under CPython (run_board.py on the machine shims) over TCP on loopback,
// with its 4 connections held by silent clients and a clock the test moves. The same rules are
// unit-tested under MicroPython in firmware/tests/mp/test_fairness.py.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { LineClient } from '../support/line-client.js';
import { SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const TOKEN = 'owner-token-0123456789';

describe('security: fairness on the firmware over TCP (CPython, machine shims)', { skip: SKIP_WITHOUT_PYTHON3, timeout: 60_000 }, () => {
  let board: FirmwareBoard;
  const clients: LineClient[] = [];

  before(async () => {
    board = await startFirmwareBoard(
      { auth: { tokens: [{ token: TOKEN, scope: 'actuate' }] }, pins: [{ pin: 15, mode: 'output', value: 0 }] },
      { manualClock: true },
    );
  });
  after(async () => {
    for (const c of clients) c.close();
    await board.close();
  });

  async function connect(): Promise<LineClient> {
    const c = await LineClient.connect(board.port);
    clients.push(c);
    // The board has taken the connection once it answers on it (ping needs no token).
    assert.equal((await c.request({ action: 'ping', id: 'in' }))['id'], 'in');
    return c;
  }

  test("security: a firmware board's owner gets in with 4 idle clients connected, and they are closed after 10 s", async () => {
    const idle: LineClient[] = [];
    for (let i = 0; i < 4; i++) idle.push(await connect());
    const owner = await connect();
    await idle[0]?.waitClosed();
    assert.deepEqual(await owner.request({ action: 'auth', token: TOKEN }), { action: 'auth', token: '***', scope: 'actuate', ok: true });
    assert.equal((await owner.request({ action: 'write_pin', pin: 15, value: 1, timeout: 60 }))['ok'], true);
    assert.equal((await board.state()).levels['15'], 1);
    assert.deepEqual(
      idle.map((c) => c.closed),
      [true, false, false, false],
      'the oldest idle connection gave way, and only it',
    );
    await board.advance(10_000);
    for (const c of idle) await c.waitClosed();
    assert.equal((await owner.request({ action: 'ping', id: 'still' }))['id'], 'still', 'the owner stays');
    assert.match(board.stderr(), /closed 1 idle connection\(s\)/);
  });
});
