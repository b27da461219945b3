# Checks the test harness itself, under both interpreters: the MicroPython APIs the firmware
# relies on behave like MicroPython's (CPython gets them from tests/host/cpython_compat.py),
# async tests are really awaited, and runner.py reports failures in its documented format.
import asyncio
import gc
import sys
import time
from micropython import const

import runner

PERIOD = const(1 << 30)  # ticks wrap here on 32-bit boards (RP2040, ESP32)
_state = {'awaited': False, 'ticks': 0, 'cancelled': False}


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError('expected %s from %s%r' % (exc.__name__, fn.__name__, args))


def test_const_is_the_value():
    assert const(7) == 7 and PERIOD == 1073741824, 'const() returns its argument'


def test_ticks_wrap_at_2_to_the_30():
    before_wrap = time.ticks_add(0, -10)
    assert before_wrap == PERIOD - 10, 'ticks_add(0, -10) wraps below zero to %d' % before_wrap
    after_wrap = time.ticks_add(before_wrap, 25)
    assert after_wrap == 15, 'ticks_add wraps past the period: %d' % after_wrap
    assert time.ticks_diff(after_wrap, before_wrap) == 25, 'ticks_diff across the wrap'
    assert time.ticks_diff(before_wrap, after_wrap) == -25, 'ticks_diff is signed'
    # Half a period apart is the most ticks_diff can tell; beyond it the sign flips.
    assert time.ticks_diff(PERIOD // 2 - 1, 0) == PERIOD // 2 - 1
    assert time.ticks_diff(PERIOD // 2, 0) == -(PERIOD // 2), 'exactly half a period reads as the past'
    assert 0 <= time.ticks_ms() < PERIOD


def test_ticks_add_refuses_half_a_period_or_more():
    assert time.ticks_add(0, PERIOD // 2 - 1) == PERIOD // 2 - 1
    assert time.ticks_add(0, -(PERIOD // 2) + 1) == PERIOD // 2 + 1
    _raises(OverflowError, time.ticks_add, 0, PERIOD // 2)
    _raises(OverflowError, time.ticks_add, 0, -(PERIOD // 2))


def test_ticks_advance_with_sleep_ms():
    t0, u0 = time.ticks_ms(), time.ticks_us()
    time.sleep_ms(5)
    elapsed = time.ticks_diff(time.ticks_ms(), t0)
    assert 5 <= elapsed < 1000, 'sleep_ms(5) took %d ms' % elapsed
    elapsed_us = time.ticks_diff(time.ticks_us(), u0)
    assert 4000 <= elapsed_us < 1000000, 'sleep_ms(5) took %d us' % elapsed_us


def test_gc_reports_memory():
    alloc, free = gc.mem_alloc(), gc.mem_free()
    assert isinstance(alloc, int) and isinstance(free, int) and alloc > 0 and free > 0, (alloc, free)


async def test_x1_async_test_is_awaited():
    t0 = time.ticks_ms()
    await asyncio.sleep_ms(20)
    _state['awaited'] = True
    elapsed = time.ticks_diff(time.ticks_ms(), t0)
    assert elapsed >= 15, 'asyncio.sleep_ms(20) returned after %d ms' % elapsed


def test_x2_previous_async_test_ran_to_its_end():
    assert _state['awaited'], 'the async test before this one was not run to completion'


async def test_x3_leaves_a_task_running():
    async def forever():
        try:
            while True:
                _state['ticks'] += 1
                await asyncio.sleep_ms(1)
        finally:
            _state['cancelled'] = True

    asyncio.create_task(forever())
    await asyncio.sleep_ms(10)
    assert _state['ticks'] > 0, 'the background task did not start'


async def test_x4_leftover_tasks_were_cancelled():
    assert _state['cancelled'], 'a task the previous test left running was not cancelled'
    seen = _state['ticks']
    await asyncio.sleep_ms(10)
    assert _state['ticks'] == seen, 'a leftover task still runs'


def test_failure_lines_have_the_documented_format():
    lines = []
    saved = runner._out
    runner._out = lines.append
    try:
        try:
            assert 1 + 1 == 3, 'arithmetic\nis broken'
        except AssertionError as e:
            runner._report_fail('mod.test_x', e)
    finally:
        runner._out = saved
    assert lines[0] == 'FAIL mod.test_x: AssertionError: arithmetic\\nis broken', lines[0]
    assert len(lines) > 1 and all(x.startswith('  | ') for x in lines[1:]), lines
    assert any('test_failure_lines_have_the_documented_format' in x for x in lines[1:]), \
        'the traceback names the failing function: %r' % lines


async def test_runner_awaits_async_tests_and_enforces_the_time_limit():
    async def boom():
        await asyncio.sleep_ms(1)
        raise ValueError('from the coroutine')

    async def slow():
        await asyncio.sleep_ms(5000)

    try:
        await runner._call(boom, 1000)
    except ValueError as e:
        assert str(e) == 'from the coroutine'
    else:
        raise AssertionError('an exception from an async test was lost')
    try:
        await runner._call(slow, 30)
    except AssertionError as e:
        assert 'did not finish within 30 ms' in str(e), str(e)
    else:
        raise AssertionError('a slow async test was not stopped')


def test_interpreter_is_micropython_or_has_the_compat_layer():
    if sys.implementation.name == 'micropython':
        assert sys.maxsize == (1 << 31) - 1, 'the WebAssembly port is 32-bit like the RP2040'
    else:
        assert hasattr(asyncio, 'sleep_ms') and hasattr(time, 'ticks_ms'), 'cpython_compat.install() ran'
