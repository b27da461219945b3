// How the TypeScript board slows token guessing (protocol.md §8), on the manual clock: each
// connection waits longer after every wrong token or proof, the board as a whole answers only so
// many wrong ones a second, the right token still works and resets the wait, and the failures
// are logged as one line a minute.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Board } from '../../src/device/board.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { Dispatcher } from '../../src/device/dispatcher.js';
import { GUESS_LIMITS } from '../../src/device/guesses.js';
import type { Logger } from '../../src/device/logger.js';
import { Session, type Connection } from '../../src/device/session.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';
import { keyOfToken, LABELS, proof } from '../../src/protocol/auth.js';

const TOKEN = 'admin-token-for-the-guess-tests';
const NC = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const NB = 'ffeeddccbbaa99887766554433221100';

/** Records each reply with the manual-clock time it was written at. */
class TimedConnection implements Connection {
  readonly replies: Array<{ at: number; reply: Record<string, unknown> }> = [];
  bufferedBytes = 0;
  constructor(private readonly clock: ManualClock) {}
  write(data: string): boolean {
    for (const line of data.split('\n')) if (line !== '') this.replies.push({ at: this.clock.now(), reply: JSON.parse(line) as Record<string, unknown> });
    return true;
  }
  pauseInput(): void {}
  resumeInput(): void {}
  end(): void {}
  destroy(): void {}
}

async function setup() {
  const clock = new ManualClock();
  const config = parseBoardConfig({ pins: [{ pin: 2, mode: 'output' }], auth: { tokens: [{ token: TOKEN, scope: 'admin' }] } });
  const board = new Board(config, createSimHardware(config, clock), clock, { debug() {}, info() {}, warn() {}, error() {} });
  await board.start();
  const lines: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const dispatcher = new Dispatcher(board, logger, { newNonce: () => NB });
  const open = (peer = '127.0.0.1:50000') => {
    const conn = new TimedConnection(clock);
    const session = new Session(conn, dispatcher, board, { maxFrameBytes: 1024, peer, maxBacklogFrames: 2048 });
    const send = (...requests: object[]) => session.receive(Buffer.from(requests.map((r) => JSON.stringify(r) + '\n').join('')));
    return { conn, session, send };
  };
  return { clock, open, lines, dispatcher };
}

/** The wait before a connection's guess after `n` failures: 100 ms doubling, at most 5 s. */
function delayAfter(n: number): number {
  return n === 0 ? 0 : Math.min(GUESS_LIMITS.firstDelayMs * 2 ** (n - 1), GUESS_LIMITS.maxDelayMs);
}

const wrong = (i: number) => ({ action: 'auth', token: `guess-${String(i).padStart(6, '0')}`, id: i });

void describe('guessing tokens on the TypeScript board', { timeout: 60_000 }, () => {
  void it('security: 1,000 wrong guesses on one connection take at least the sum of the doubling delays', async () => {
    const { clock, open } = await setup();
    const { conn, send } = open();
    const N = 1000;
    send(...Array.from({ length: N }, (_, i) => wrong(i)));
    // Guess i (from 0) can be answered no earlier than the delays after the i failures before it.
    const due: number[] = [];
    let t = 0;
    for (let i = 0; i < N; i++) {
      t += delayAfter(i);
      due.push(t);
    }
    const total = due[N - 1] as number;
    assert.equal(total, 100 + 200 + 400 + 800 + 1600 + 3200 + 993 * 5000, 'the sum the rule gives');
    assert.equal(conn.replies.length, 1, 'the first guess is answered at once');
    for (let i = 1; i < N; i++) {
      const at = due[i] as number;
      await clock.advance(at - 1 - clock.now());
      assert.equal(conn.replies.length, i, `guess ${i} is not answered before ${at} ms`);
      await clock.advance(1);
      assert.equal(conn.replies.length, i + 1, `guess ${i} is answered at ${at} ms`);
    }
    assert.ok(conn.replies.every(({ reply }, i) => reply['id'] === i && reply['ok'] === false && (reply['error'] as { code: string }).code === 'unauthorized'));
    assert.ok(clock.now() >= total, `1,000 guesses took ${clock.now()} ms of board time`);
  });

  void it('security: guesses spread over 10 connections are answered no faster than the board-wide rate', async () => {
    const { clock, open } = await setup();
    const connections = Array.from({ length: 10 }, (_, c) => open(`127.0.0.1:${50000 + c}`));
    const PER = 4;
    for (const [c, { send }] of connections.entries()) send(...Array.from({ length: PER }, (_, i) => wrong(c * 100 + i)));
    const answered = () => connections.reduce((sum, { conn }) => sum + conn.replies.length, 0);
    const interval = 1000 / GUESS_LIMITS.boardPerSecond;
    // Alone, each connection would be done at 100 + 200 + 400 = 700 ms; together the board allows
    // a burst, then one failure per interval.
    const last = (10 * PER - GUESS_LIMITS.boardBurst) * interval;
    assert.ok(last > 700, 'the test only shows something when the board-wide rate is the tighter one');
    while (clock.now() < last + 1000) {
      assert.ok(answered() <= GUESS_LIMITS.boardBurst + Math.floor(clock.now() / interval), `${answered()} failures answered by ${clock.now()} ms`);
      await clock.advance(10);
    }
    assert.equal(answered(), 10 * PER, 'every guess is answered in the end');
    const times = connections.flatMap(({ conn }) => conn.replies.map((r) => r.at)).sort((a, b) => a - b);
    assert.ok((times[times.length - 1] as number) >= last, `the last failure was answered at ${String(times[times.length - 1])} ms, not before ${last}`);
  });

  void it('security: the right token after failures is still accepted, after the wait, and resets it', async () => {
    const { clock, open } = await setup();
    const { conn, send } = open();
    send(wrong(1), wrong(2), wrong(3), { action: 'auth', token: TOKEN, id: 4 }, wrong(5), wrong(6), { action: 'get_state', id: 7 });
    await clock.advance(10_000);
    const byId = conn.replies.map(({ at, reply }) => [reply['id'], at, reply['ok']]);
    assert.deepEqual(byId, [
      [1, 0, false],
      [2, 100, false],
      [3, 300, false],
      [4, 700, true],
      // Accepted: the next wrong guess is answered at once, the one after it waits 100 ms again.
      [5, 700, false],
      [6, 800, false],
      // The last accepted token decides: the connection keeps admin after later wrong guesses.
      [7, 800, true],
    ]);
  });

  void it('security: wrong proofs after a challenge are slowed as wrong tokens are; a right proof resets', async () => {
    const { clock, open } = await setup();
    const { conn, send } = open();
    const challenge = { action: 'challenge', nonce: NC };
    const right = proof(keyOfToken(TOKEN), LABELS.direct.client, NC, NB);
    const bad = 'ab'.repeat(32);
    send(challenge, { action: 'auth', proof: bad, id: 1 }, challenge, { action: 'auth', proof: bad, id: 2 }, challenge, { action: 'auth', proof: right, id: 3 });
    // An auth with no challenge to answer checks nothing: it is answered at once whatever came before.
    send({ action: 'auth', proof: right, id: 4 });
    await clock.advance(1000);
    const auths = conn.replies.filter(({ reply }) => reply['action'] === 'auth').map(({ at, reply }) => [reply['id'], at, reply['ok']]);
    assert.deepEqual(auths, [
      [1, 0, false],
      [2, 100, false],
      [3, 300, true],
      [4, 300, false],
    ]);
  });

  void it('security: failed auths are logged as one line a minute with the count and the peers', async () => {
    const { clock, open, lines, dispatcher } = await setup();
    const a = open('192.0.2.7:40001');
    const b = open('192.0.2.8:40002');
    a.send(wrong(1), wrong(2), wrong(3));
    b.send(wrong(4), wrong(5));
    await clock.advance(GUESS_LIMITS.logEveryMs - 1);
    assert.equal(lines.length, 0, 'nothing logged per failure');
    await clock.advance(1);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(String(lines[0]), /^5 failed auths \(wrong token or proof\) in the last minute from 192\.0\.2\.7:40001, 192\.0\.2\.8:40002;/);
    await clock.advance(5 * GUESS_LIMITS.logEveryMs);
    assert.equal(lines.length, 1, 'a quiet minute writes nothing');
    b.send({ action: 'auth', token: TOKEN }, wrong(6));
    await clock.advance(1000);
    dispatcher.close();
    assert.equal(lines.length, 2, 'what is still counted is written when the board closes');
    assert.match(String(lines[1]), /^1 failed auth \(wrong token or proof\) in the last minute from 192\.0\.2\.8:40002;/);
  });
});
