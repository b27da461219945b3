# What keeps a real board running: a sensor that is not ready at start, edges shorter than the
# soft-IRQ latency and callbacks that fail, the watchdog, an honest mem_free. Runs under CPython
# (with the compat layer) and MicroPython.
import asyncio
import gc
import sys
import time
import machine
import simhw
import simchips
from manual_clock import ManualClock
from tether import app, config
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.led import Led
from tether.start import start_board
from test_core import Client

MICROPYTHON = sys.implementation.name == 'micropython'


def _board(raw):
    simhw.reset()
    raw.setdefault('auth', 'none')
    clock = ManualClock()
    b = Board(config.normalize(raw, pico_w), clock, pico_w)
    return b, Dispatcher(b), clock


_AIR = {'i2c': [{'bus': 0, 'sda': 4, 'scl': 5}], 'pins': [{'pin': 15, 'mode': 'output'}],
        'sensors': [{'name': 'air', 'driver': 'aht10'}, {'name': 'chip', 'driver': 'chip_temp'}]}


async def _settle(clock, ms):
    # Lets the board's tasks reach their next wait, moves the board clock, and lets the retry
    # task run its init (which sleeps 71 ms for real).
    await asyncio.sleep_ms(0)
    clock.advance(ms)
    for _ in range(20):
        await asyncio.sleep_ms(10)


def _count_inits(b, name):
    e = b.sensors[name]
    tries = []
    init = e.sensor.init

    async def counted():
        tries.append(1)
        await init()
    e.sensor.init = counted
    return tries


# --- a sensor that is not ready at start ---------------------------------------------------------

async def test_a_sensor_that_does_not_start_leaves_the_board_serving_and_is_reported():
    b, d, clock = _board(dict(_AIR))
    await start_board(b)  # no AHT10 on the bus: before, this raised and the board never served
    c = Client(d)
    b.listeners.append(c)
    r = await d.handle({'action': 'write_pin', 'pin': 15, 'value': 0}, c)
    assert r['ok'] is True, 'the rest of the board works: %r' % r
    r = await d.handle({'action': 'read_sensor', 'name': 'chip'}, c)
    assert r['ok'] is True, r
    r = await d.handle({'action': 'read_sensor', 'name': 'air'}, c)
    assert r['error']['code'] == 'sensor_error', r
    assert r['error']['message'].startswith('air: did not start: aht10: no device answers at 0x38 on I2C bus 0'), r
    r = await d.handle({'action': 'list_sensors'}, c)
    air, chip = r['sensors']
    assert air['fault']['code'] == 'sensor_error' and 'fault' not in chip, r
    r = await d.handle({'action': 'get_state'}, c)
    assert r['sensors'] == ['air', 'chip'] and list(r['sensor_faults']) == ['air'], r
    assert b.sensors_down == 1


async def test_a_sensor_that_did_not_start_is_tried_again_with_backoff_until_it_starts():
    b, d, clock = _board(dict(_AIR))
    await start_board(b)
    c = Client(d)
    b.listeners.append(c)
    tries = _count_inits(b, 'air')
    seen = []
    for ms in (999, 1, 1999, 1, 3999, 1):
        await _settle(clock, ms)
        seen.append(len(tries))
    assert seen == [0, 1, 1, 2, 2, 3], 'tries 1, 2 and 4 s apart: %r' % seen
    chip = simhw.attach(0, simchips.Aht10(temperature=19.5, humidity=40))
    assert c.events == [], 'no event while it stays down: %r' % c.events
    await _settle(clock, 7999)
    assert not chip.calibrated and len(tries) == 3, 'the fourth try comes 8 s after the third'
    await _settle(clock, 1)
    assert chip.calibrated, 'the fourth try started it'
    assert c.events == [{'event': 'sensor_state', 'sensor': 'air', 'fault': None}], c.events
    r = await d.handle({'action': 'read_sensor', 'name': 'air'}, c)
    assert r['ok'] is True and r['values']['temperature'] == 19.5, r
    r = await d.handle({'action': 'get_state'}, c)
    assert 'sensor_faults' not in r and b.sensors_down == 0 and b._retry is None, r


async def test_the_backoff_stops_at_a_minute():
    b, d, clock = _board({'sensors': [{'name': 'air', 'driver': 'dht22', 'options': {'pin': 3}}]})
    await start_board(b)
    assert b.sensors_down == 1, 'no DHT22 answers on pin 3'
    tries = _count_inits(b, 'air')
    for n, wait in enumerate((1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000)):
        await _settle(clock, wait - 1)
        assert len(tries) == n, 'try %d not before %d ms' % (n + 1, wait)
        if n == 7:
            simhw.set_dht22(3, 21.0, 50.0)
        await _settle(clock, 1)
        assert len(tries) == n + 1, 'try %d after %d ms' % (n + 1, wait)
    assert b.sensors_down == 0, 'the last try found it'



async def test_config_errors_still_stop_the_start():
    for raw, part in (({'sensors': [{'name': 'air', 'driver': 'bme280'}]}, 'aht10'),
                      ({'sensors': [{'name': 'air', 'driver': 'aht10', 'bus': 1}]}, 'I2C bus 1 is not declared'),
                      ({'sensors': [{'name': 'air', 'driver': 'dht22'}]}, 'options.pin')):
        b, d, clock = _board(raw)
        try:
            await start_board(b)
        except ValueError as err:
            assert part in str(err), err
        else:
            raise AssertionError('%r started' % (raw,))


async def test_the_led_shows_a_sensor_that_is_down():
    b, d, clock = _board(dict(_AIR))
    await start_board(b)

    class Server:
        srv = object()
        sessions = []
    led = Led(None)
    watch = asyncio.create_task(app.watch(b, None, Server(), None, led, clock))
    await asyncio.sleep_ms(20)
    assert led.name == 'sensor_down', led.name
    simhw.attach(0, simchips.Aht10())
    await _settle(clock, 1000)
    await asyncio.sleep_ms(600)
    assert led.name == 'idle', led.name
    watch.cancel()


# --- edges ----------------------------------------------------------------------------------

async def _watched(edge='both'):
    b, d, clock = _board({})
    await start_board(b)
    c = Client(d)
    await d.handle({'action': 'setup_pin', 'pin': 6, 'mode': 'input', 'pull': 'down'}, c)
    r = await d.handle({'action': 'subscribe', 'pin': 6, 'edge': edge}, c)
    assert r['ok'] is True, r
    return b, d, c


async def _turns():
    for _ in range(6):
        await asyncio.sleep_ms(0)


def _levels(c):
    return [e['value'] for e in c.events if e['event'] == 'edge']


async def test_a_pulse_over_before_the_soft_irq_runs_still_makes_both_edges():
    b, d, c = await _watched()
    simhw.drive(6, 1)
    simhw.drive(6, 0)  # both interrupts come before either handler runs; both read level 0
    await _turns()
    assert _levels(c) == [1, 0], c.events
    simhw.glitch(6)  # shorter than the interrupt latency: one interrupt, both edges latched
    await _turns()
    assert _levels(c) == [1, 0, 1, 0], c.events
    for _ in range(3):
        simhw.drive(6, 1)
        simhw.drive(6, 0)
    simhw.drive(6, 1)
    await _turns()
    assert _levels(c) == [1, 0, 1, 0] + [1, 0] * 3 + [1], c.events
    assert simhw.level(6) == 1
    simhw.drive(6, 0)
    await _turns()
    assert _levels(c)[-1] == 0 and len(_levels(c)) == 12, c.events


async def test_lost_interrupts_leave_the_reported_level_right():
    b, d, c = await _watched()
    for _ in range(10):  # 20 edges: the scheduler keeps 8 handler calls, the rest are lost
        simhw.drive(6, 1)
        simhw.drive(6, 0)
    await _turns()
    levels = _levels(c)
    assert levels and levels[-1] == 0, 'the last event says the level the pin ended at: %r' % levels
    simhw.drive(6, 1)
    await _turns()
    assert _levels(c)[-1] == 1, c.events


async def test_a_failing_edge_callback_does_not_stop_the_others():
    b, d, c = await _watched('rising')
    calls = []

    def bad(level):
        calls.append(level)
        raise ValueError('subscriber broke')
    b.watch_pin(6, 'both', bad)
    for _ in range(3):
        simhw.drive(6, 1)
        await _turns()
        simhw.drive(6, 0)
        await _turns()
    assert _levels(c) == [1, 1, 1], 'the edge task went on past the failing callback: %r' % c.events
    assert calls == [1, 0] * 3, 'the failing callback still gets its edges: %r' % calls


# --- watchdog -------------------------------------------------------------------------------

class _Server:
    srv = object()
    sessions = []


class _Done(Exception):
    pass


class _LedFor(Led):
    # Ends the watch loop (which otherwise runs for ever) once ms have passed.
    def __init__(self, ms):
        super().__init__(None)
        self.end = time.ticks_add(time.ticks_ms(), ms)

    def show(self, name):
        if time.ticks_diff(time.ticks_ms(), self.end) > 0:
            raise _Done()


async def _run_watch(block_ms, ms=600):
    # The watch loop feeding a 200 ms watchdog every 50 ms, beside a task that blocks the event
    # loop for block_ms (a driver stuck in a busy wait). Awaited here, not in a task of its own:
    # the simulated reset (SystemExit) would stop the whole event loop.
    simhw.reset()
    b, d, clock = _board({})
    app._WATCH_MS = 50
    wdt = machine.WDT(timeout=200)

    async def stuck():
        await asyncio.sleep_ms(100)
        time.sleep_ms(block_ms)
    asyncio.create_task(stuck())
    try:
        await app.watch(b, None, _Server(), None, _LedFor(ms), clock, wdt)
    except _Done:
        return None
    except SystemExit as e:
        return e
    finally:
        app._WATCH_MS = 500


async def test_a_stuck_event_loop_resets_the_board_and_a_running_one_does_not():
    assert await _run_watch(0) is None and simhw.calls == [], 'fed every 50 ms: no reset (%r)' % simhw.calls
    assert simhw.wdt['feeds'] >= 8, simhw.wdt
    e = await _run_watch(300)
    assert e is not None and 'machine.WDT' in str(e), 'the loop stood still 300 ms: the board reset'
    assert simhw.calls[0][0] == 'wdt_reset' and machine.reset_cause() == machine.WDT_RESET, simhw.calls


def test_watchdog_config_default_bound_and_off():
    assert config.normalize({'auth': 'none'}, pico_w)['watchdog_s'] == 8
    assert config.normalize({'auth': 'none', 'watchdog_s': 0}, pico_w)['watchdog_s'] == 0
    for bad in (1, 9, 2.5, True, '8'):
        try:
            config.normalize({'auth': 'none', 'watchdog_s': bad}, pico_w)
        except config.ConfigError as err:
            assert 'watchdog_s: expected 0 (off) or 2-8 seconds' in str(err), err
        else:
            raise AssertionError('watchdog_s %r accepted' % (bad,))
    simhw.reset()
    assert app.start_watchdog(0, pico_w) is None and simhw.wdt is None
    assert app.start_watchdog(8, pico_w) is not None and simhw.wdt['timeout'] == 8000


def test_deep_sleep_stops_the_watchdog_first():
    # rp2's deep sleep is a light sleep with the watchdog counting, then a reset: left running,
    # it would wake the board after 8 s whatever time_ms said.
    simhw.reset()
    app.start_watchdog(8, pico_w)
    try:
        app.restart('deepsleep', 60000)
    except SystemExit:
        pass
    assert simhw.wdt['enabled'] is False, 'stopped through its CTRL register'
    assert simhw.calls == [('deepsleep', 60000), ('reset',)], simhw.calls
    app.stop_watchdog()  # nothing left to stop


# --- get_info's mem_free ------------------------------------------------------------------------

class _Heap:
    # MicroPython's gc as the board sees it: garbage counts as allocated until a collection.
    def __init__(self, garbage):
        self.garbage = garbage

    def collect(self):
        self.garbage = 0

    def mem_free(self):
        return 100000 - self.garbage

    def mem_alloc(self):
        return 50000 + self.garbage


async def test_get_info_reports_mem_free_after_a_collection():
    b, d, clock = _board({})
    await start_board(b)
    if MICROPYTHON:
        # The WebAssembly port collects nothing inside a running Python call (its gc.collect()
        # returns the same mem_free), so the board's gc is a model of one that does.
        # get_info runs in tether/extras.py, imported for the request: the copy imported here is
        # the one the dispatcher finds (and drops afterwards).
        from tether import extras
        extras.gc = _Heap(30000)
        info = (await d.handle({'action': 'get_info'}, Client(d)))['info']
        assert 'tether.extras' not in sys.modules, 'extras stays out of RAM after the request'
        assert info['mem_free'] == 100000 and info['mem_alloc'] == 50000, info
        return
    gc.collect()
    clean = gc.mem_free()
    gc.leave_garbage(30000)
    info = (await d.handle({'action': 'get_info'}, Client(d)))['info']
    assert info['mem_free'] == clean, 'the 30 KB of garbage were collected first: %d, not %d' % (info['mem_free'], clean)


# --- the status LED's pin -------------------------------------------------------------------

async def test_a_pin_set_up_on_the_status_leds_gpio_stops_the_blinks():
    # An ESP32 DevKit blinks its state on GPIO2; a board that drives GPIO2 for its user must not
    # see the blinks mixed into its output.
    import simports
    from tether.boards import esp32
    simhw.reset()
    simports.use_port('esp32')
    try:
        b = Board(config.normalize({'auth': 'none'}, esp32), ManualClock(), esp32)
        led = Led(esp32.LED)
        b.led = led
        led.show('active')  # 20 ms on, 80 ms off
        task = asyncio.create_task(led.run())
        from tether import extras  # where setup_pin runs, imported for the request
        extras.setup_pin(b, 2, 'output', None, 1, 1)
        extras.setup_pin(b, 4, 'output', None, 0, 0)
        levels = set()
        for _ in range(15):
            await asyncio.sleep_ms(10)
            levels.add(simhw.level(2))
        task.cancel()
        assert led.pin is None and levels == {1}, 'GPIO2 is the user\'s: %r' % levels
    finally:
        simhw.reset()


def test_the_collector_runs_well_before_the_free_heap_is_used_up():
    # gc.threshold counts what was allocated since the last collection: a threshold at or past
    # the free heap never fires, and collections then come only when an allocation fails, after
    # garbage has spread over the whole heap (docs/benchmarks.md, the soak).
    for free in (20000, 90000, 160000):
        every = app.collect_every(free)
        assert 0 < every <= free // 2, (free, every)
