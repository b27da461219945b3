# Durations past what MicroPython's 30-bit ticks hold in one go (2**29 ms, 6.2 days): leases, the
# uptime, deep sleep and resets, on the real tether.clock.Clock over virtual ticks, so days pass at
# once. Under MicroPython the refusals come from the port's own time.ticks_add.
import asyncio
import machine
import simhw
from manual_clock import ManualClock, VirtualTicks
from tether import app, config
from tether import clock as clock_mod
from tether.board import Board
from tether.boards import pico_w
from tether.clock import Clock
from tether.dispatcher import Dispatcher
from tether.start import start_board
from test_core import Client
from test_drivers import _raises

DAY_MS = 24 * 3600 * 1000
TICKS_HALF = 1 << 29  # the first wait ticks_add refuses
RP2_DEEP_SLEEP_REFUSED_MS = (1 << 32) // 1000


async def _board(clock, raw=None):
    simhw.reset()
    raw = raw or {}
    raw.setdefault('auth', 'none')
    raw.setdefault('max_lease_s', 30 * 86400)
    raw.setdefault('pins', [{'pin': 20, 'name': 'led', 'mode': 'output', 'value': 0}])
    b = Board(config.normalize(raw, pico_w), clock, pico_w)
    await start_board(b)
    d = Dispatcher(b)
    c = Client(d)
    b.listeners.append(c)
    return b, d, c


def test_waits_of_2_to_the_29_ms_are_refused_as_on_the_board():
    _raises(OverflowError, asyncio.sleep_ms, TICKS_HALF)
    ok = asyncio.sleep_ms(TICKS_HALF - 1)
    if hasattr(ok, 'close'):
        ok.close()
    vt = VirtualTicks()
    _raises(OverflowError, vt.sleep_ms, TICKS_HALF)
    e = _raises(ValueError, machine.deepsleep, RP2_DEEP_SLEEP_REFUSED_MS)
    assert 'sleep too long' in str(e), e
    machine.deepsleep(RP2_DEEP_SLEEP_REFUSED_MS - 1)
    assert simhw.calls[-1] == ('deepsleep', RP2_DEEP_SLEEP_REFUSED_MS - 1), simhw.calls


async def test_a_seven_day_lease_ends_on_time():
    with VirtualTicks().patch(clock_mod) as vt:
        b, d, c = await _board(Clock())
        r = await d.handle({'action': 'write_pin', 'pin': 20, 'value': 1, 'timeout': 7 * 86400}, c)
        assert r['ok'] is True and r['lease']['expires_in_s'] == 7 * 86400, r
        await vt.advance(7 * DAY_MS - 1)
        assert simhw.level(20) == 1, 'the output is held until the lease ends'
        assert b.leases.left_s(b.leases.get(20)) == 0.001, b.state()['leases']
        await vt.advance(1)
        assert simhw.level(20) == 0, 'the 7-day lease did not end: the output stays on'
        assert [e['event'] for e in c.events] == ['lease_expired'], c.events


async def test_a_timer_of_several_ticks_half_periods_fires_to_the_millisecond():
    with VirtualTicks(5).patch(clock_mod) as vt:
        clock = Clock()
        fired = []
        clock.call_later(3 * TICKS_HALF + 7, lambda: fired.append(clock.now()))
        await vt.advance(3 * TICKS_HALF + 6)
        assert fired == [], fired
        await vt.advance(1)
        assert fired == [3 * TICKS_HALF + 7], fired
        # A cancelled long timer never fires.
        t = clock.call_later(2 * TICKS_HALF, lambda: fired.append('late'))
        await vt.advance(TICKS_HALF)
        clock.cancel(t)
        await vt.advance(2 * TICKS_HALF)
        assert fired == [3 * TICKS_HALF + 7], fired


async def test_uptime_keeps_counting_through_13_days_nobody_reads_it():
    with VirtualTicks().patch(clock_mod) as vt:
        clock = Clock()
        asyncio.create_task(clock.run())
        b, d, c = await _board(clock)
        await vt.advance(13 * DAY_MS)
        assert b.uptime_ms() == 13 * DAY_MS, 'uptime after 13 days: %d ms' % b.uptime_ms()
        r = await d.handle({'action': 'get_state'}, c)
        assert r['uptime_s'] == 13 * 86400, r['uptime_s']


async def test_a_deep_sleep_past_the_rp2_timer_is_refused_with_bad_field():
    clock = ManualClock()
    b, d, c = await _board(clock, {'deep_sleep': True})
    restarts = []
    b.restart = lambda how, arg: restarts.append((how, arg))
    r = await d.handle({'action': 'sleep', 'time_ms': RP2_DEEP_SLEEP_REFUSED_MS, 'deep': True}, c)
    assert r['ok'] is False and r['error']['code'] == 'bad_field', r
    assert r['error']['message'].startswith('time_ms: expected at most %d' % (RP2_DEEP_SLEEP_REFUSED_MS - 1)), r
    assert b.reset_timer is None, 'nothing scheduled'
    r = await d.handle({'action': 'sleep', 'time_ms': RP2_DEEP_SLEEP_REFUSED_MS - 1, 'deep': True}, c)
    assert r['ok'] is True, r
    clock.advance(1000)
    assert restarts == [('deepsleep', RP2_DEEP_SLEEP_REFUSED_MS - 1)], restarts


def test_a_failed_deep_sleep_resets_the_board_instead():
    simhw.reset()
    e = _raises(SystemExit, app.restart, 'deepsleep', RP2_DEEP_SLEEP_REFUSED_MS)
    assert 'machine.reset' in str(e), e
    assert simhw.calls == [('reset',)], simhw.calls


async def test_a_reset_that_did_not_restart_the_board_does_not_block_the_next():
    clock = ManualClock()
    b, d, c = await _board(clock)
    restarts = []

    def restart(how, arg):
        restarts.append(how)
        if len(restarts) == 2:
            raise OSError('restart failed')

    b.restart = restart
    for i in range(3):
        r = await d.handle({'action': 'reset'}, c)
        assert r['ok'] is True, r
        try:
            clock.advance(r['reset_in_ms'])
        except OSError:
            pass
        assert restarts == ['reset'] * (i + 1), 'reset %d: %r' % (i + 1, restarts)
        assert b.reset_timer is None, 'the reset timer stays set after it fired: later resets are ignored'


def test_max_lease_s_is_at_most_30_days():
    assert config.normalize({'auth': 'none', 'max_lease_s': 30 * 86400})['max_lease_s'] == 30 * 86400
    e = _raises(config.ConfigError, config.normalize, {'auth': 'none', 'max_lease_s': 30 * 86400 + 1})
    assert 'max_lease_s: expected a number of seconds > 0 and at most 2592000' in str(e), e
    _raises(config.ConfigError, config.normalize, {'auth': 'none', 'max_lease_s': 1e12})
