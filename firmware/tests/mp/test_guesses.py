# How the firmware slows token guessing (docs/protocol.md §8), under both interpreters with the
# hand-moved clock: each connection waits longer after every wrong token or proof, the board as a
# whole answers only so many wrong ones a second, the right token still works and resets the
# wait, and the failures are printed as one line a minute. Same rule as src/device/guesses.ts.
import asyncio
import simhw
from fake_connection import FakeConnection
from manual_clock import ManualClock
from tether import auth, config, errors, guesses
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.start import start_board

TEST_TIMEOUT_MS = 60000
TOKEN = 'admin-token-for-the-guess-tests'
NC = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'


class Client(FakeConnection):
    # A connection the board's log can name, as a session's writer does.
    def __init__(self, d, peer=None):
        FakeConnection.__init__(self, d)
        if peer is not None:
            self.w = Peer(peer)


class Peer:
    # Stands in for the stream writer, which tells the address of the other end.
    def __init__(self, addr):
        self.addr = addr

    def get_extra_info(self, what):
        return self.addr if what == 'peername' else None


async def board():
    simhw.reset()
    clock = ManualClock()
    b = Board(config.normalize({'auth': {'tokens': [{'token': TOKEN, 'scope': 'admin'}]}}, pico_w), clock, pico_w)
    await start_board(b)
    return Dispatcher(b), clock


def delay_after(n):
    return 0 if n == 0 else min(100 * 2 ** (n - 1), 5000)


def wrong(i):
    return {'action': 'auth', 'token': 'guess-%06d' % i, 'id': i}


async def conversation(d, c, requests, log):
    # Sends the requests one after another, as a session does, noting when each reply came.
    for req in requests:
        r = await d.handle(req, c)
        log.append((d.board.clock.now(), r))


async def run_until(clock, done, limit_ms, step_ms=None):
    # Moves the clock to the next timer (or by step_ms) until done() or the limit.
    while not done() and clock.now() < limit_ms:
        for _ in range(4):
            await asyncio.sleep(0)
        if done():
            break
        if step_ms is None:
            due = [t[0] for t in clock.timers if t[2] is not None]
            clock.advance(max(1, min(due) - clock.now()) if due else 1)
        else:
            clock.advance(step_ms)


async def test_security_1000_wrong_guesses_on_one_connection_take_the_sum_of_the_doubling_delays():
    d, clock = await board()
    c = Client(d)
    n = 1000
    log = []
    task = asyncio.create_task(conversation(d, c, [wrong(i) for i in range(n)], log))
    expected = []
    t = 0
    for i in range(n):
        t += delay_after(i)
        expected.append(t)
    assert t == 100 + 200 + 400 + 800 + 1600 + 3200 + 993 * 5000, t
    await run_until(clock, lambda: len(log) == n, t + 10000)
    await task
    times = [at for at, _ in log]
    assert times == expected, 'first differences: %r' % ([(i, a, e) for i, (a, e) in enumerate(zip(times, expected)) if a != e][:3],)
    assert all(r['error']['code'] == 'unauthorized' and r['id'] == i for i, (_, r) in enumerate(log))


async def test_security_guesses_over_10_connections_are_held_to_the_board_wide_rate():
    d, clock = await board()
    per = 4
    logs = [[] for _ in range(10)]
    tasks = [asyncio.create_task(conversation(d, Client(d), [wrong(k * 100 + i) for i in range(per)], logs[k])) for k in range(10)]
    answered = lambda: sum(len(x) for x in logs)
    # Alone each connection would be done at 700 ms; together: a burst of 5, then one every 50 ms.
    last = (10 * per - guesses.BURST) * guesses.INTERVAL_MS
    assert last > 700
    while clock.now() < last + 1000:
        for _ in range(4):
            await asyncio.sleep(0)
        assert answered() <= guesses.BURST + clock.now() // guesses.INTERVAL_MS, (answered(), clock.now())
        clock.advance(10)
    for t in tasks:
        await t
    assert answered() == 10 * per
    assert max(at for x in logs for at, _ in x) >= last


async def test_security_the_right_token_after_failures_works_after_the_wait_and_resets_it():
    d, clock = await board()
    c = Client(d)
    log = []
    reqs = [wrong(1), wrong(2), wrong(3), {'action': 'auth', 'token': TOKEN, 'id': 4}, wrong(5), wrong(6), {'action': 'get_state', 'id': 7}]
    task = asyncio.create_task(conversation(d, c, reqs, log))
    await run_until(clock, lambda: len(log) == len(reqs), 10000)
    await task
    got = [(r['id'], at, r['ok']) for at, r in log]
    assert got == [(1, 0, False), (2, 100, False), (3, 300, False), (4, 700, True), (5, 700, False), (6, 800, False), (7, 800, True)], got


async def test_security_wrong_proofs_are_slowed_and_an_auth_with_nothing_to_check_is_not():
    d, clock = await board()
    c = Client(d)
    real = auth.nonce
    nb = 'ffeeddccbbaa99887766554433221100'
    auth.nonce = lambda: nb
    try:
        right = auth.proof(auth.key_of(TOKEN), auth.DIRECT_CLIENT, NC, nb)
        ch = {'action': 'challenge', 'nonce': NC}
        reqs = [ch, {'action': 'auth', 'proof': 'ab' * 32, 'id': 1}, ch, {'action': 'auth', 'proof': 'ab' * 32, 'id': 2},
                ch, {'action': 'auth', 'proof': right, 'id': 3}, {'action': 'auth', 'proof': right, 'id': 4}]
        log = []
        task = asyncio.create_task(conversation(d, c, reqs, log))
        await run_until(clock, lambda: len(log) == len(reqs), 10000)
        await task
    finally:
        auth.nonce = real
    got = [(r['id'], at, r['ok']) for at, r in log if r['action'] == 'auth']
    assert got == [(1, 0, False), (2, 100, False), (3, 300, True), (4, 300, False)], got


async def test_security_failed_auths_are_printed_as_one_line_a_minute_with_the_count_and_peers():
    d, clock = await board()
    lines = []
    # The line goes out through tether.errors.say.
    errors.print = lambda *a: lines.append(' '.join(str(x) for x in a))
    try:
        a = Client(d, ('192.0.2.7', 40001))
        b = Client(d, ('192.0.2.8', 40002))
        log = []
        tasks = [asyncio.create_task(conversation(d, a, [wrong(1), wrong(2), wrong(3)], log)),
                 asyncio.create_task(conversation(d, b, [wrong(4), wrong(5)], log))]
        await run_until(clock, lambda: len(log) == 5, 1000, 10)
        for t in tasks:
            await t
        clock.advance(guesses.LOG_EVERY_MS - 1 - clock.now())
        assert lines == [], 'nothing printed per failure: %r' % lines
        clock.advance(1)
        assert len(lines) == 1, lines
        assert lines[0].startswith('tether: 5 failed auths (wrong token or proof) in the last minute from 192.0.2.7:40001, 192.0.2.8:40002;'), lines
        clock.advance(5 * guesses.LOG_EVERY_MS)
        assert len(lines) == 1, 'a quiet minute prints nothing'
    finally:
        del errors.print
