// End to end: `tether watch` against the fake board, which sends events once subscribed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeBoard, type FakeConnection } from '../client/fake-board.js';
import { BIN, ROOT, collect, runCli, type CliResult } from './run-cli.js';

function startWatch(args: string[]): { exited: Promise<CliResult>; kill(signal: NodeJS.Signals): void; stdout(): string } {
  const child = spawn(process.execPath, [BIN, 'watch', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', TETHER_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer | string) => (out += chunk.toString()));
  return { exited: collect(child, 15_000), kill: (signal) => child.kill(signal), stdout: () => out };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

void describe('tether watch (end to end, fake board)', { timeout: 30_000 }, () => {
  let board: FakeBoard;

  beforeEach(async () => {
    board = await FakeBoard.start();
  });

  afterEach(async () => {
    await board.close();
  });

  void it('subscribes to a pin, prints its events as JSON lines, skips other subscriptions, exits 0 on Ctrl-C', async () => {
    const next = board.nextConnection();
    const watch = startWatch(['127.0.0.1', String(board.port), '--pin', '22', '--edge', 'rising', '--json']);
    const conn: FakeConnection = await next;
    await until(() => conn.received.length === 1, 'the subscribe request');
    assert.deepEqual(conn.received[0], { action: 'subscribe', pin: 22, edge: 'rising' });
    conn.event({ event: 'edge', pin: 22, value: 1, sub: 1 });
    conn.event({ event: 'reading', sensor: 'other', values: { t: 1 }, units: { t: 'K' }, sub: 7 });
    conn.event({ event: 'lease_expired', pin: 2, value: 0 });
    await until(() => watch.stdout().split('\n').length === 3, 'two event lines');
    watch.kill('SIGINT');
    const result = await watch.exited;
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => e['event']),
      ['edge', 'lease_expired'],
    );
    assert.match(result.stderr, /watching 127\.0\.0\.1:\d+: pin 22 \(rising edges\) as sub 1; Ctrl-C to stop/);
  });

  void it('with no --pin or --sensor prints every event readably; exits 1 when the board closes the connection', async () => {
    const next = board.nextConnection();
    const watch = startWatch(['127.0.0.1', String(board.port)]);
    const conn = await next;
    conn.event({ event: 'reading', sensor: 'air', values: { temperature: 21.5 }, units: { temperature: '°C' }, sub: 3 });
    conn.event({ event: 'events_dropped', count: 4 });
    await until(() => watch.stdout().split('\n').length === 3, 'two event lines');
    conn.socket.end();
    const result = await watch.exited;
    assert.equal(result.code, 1);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^\d\d:\d\d:\d\d\.\d{3} reading sensor=air temperature=21\.5 °C \(sub 3, seq 1, board t=1\.001 s\)$/);
    assert.match(lines[1] ?? '', /^\d\d:\d\d:\d\d\.\d{3} events_dropped count=4 \(seq 2, board t=1\.002 s\)$/);
    assert.match(result.stderr, /the connection to 127\.0\.0\.1:\d+ closed/);
    assert.equal(conn.received.length, 0);
  });

  void it('sends interval_ms for a sensor and reports a refused subscription with exit 1', async () => {
    board.handler = (request, conn) => conn.send({ ...request, ok: false, error: { code: 'bad_field', message: 'sensor: no sensor named "nope"' } });
    const result = await runCli(['watch', '127.0.0.1', String(board.port), '--sensor', 'nope', '--interval', '250']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^tether: cannot subscribe to sensor nope every 250 ms: bad_field: sensor: no sensor named "nope"/);
    assert.deepEqual(board.connections[0]?.received, [{ action: 'subscribe', sensor: 'nope', interval_ms: 250 }]);
  });

  void it('exits 2 for --edge without --pin', async () => {
    const result = await runCli(['watch', '127.0.0.1', String(board.port), '--edge', 'both']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--edge needs --pin/);
  });
});
