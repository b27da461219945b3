# One runner for the firmware's unit tests (firmware/tests/mp/test_*.py) under both interpreters:
#   CPython:     python3 firmware/tests/runner.py [-v] [test_framing ...]   (none = every module)
#   MicroPython: test/support/micropython.ts awaits run([...]) in the WebAssembly port.
# A test is a module-level function named test_*, plain or async def, run in name order; it
# fails by raising (usually a plain assert with a message). Output, one line per test:
#   PASS module.test_name
#   FAIL module.test_name: ExceptionType: message
#     | traceback lines
#   DONE pass=N fail=M
# A module that cannot be imported (or has no tests) is one FAIL line naming the module.
# With announce (-v), "RUN module.test_name" comes first, so a test's own output sits between.
import sys

MICROPYTHON = sys.implementation.name == 'micropython'
# An async test that takes longer is cancelled and fails; a module may set TEST_TIMEOUT_MS.
DEFAULT_TIMEOUT_MS = 10000


def _out(line):
    print(line)
    if not MICROPYTHON:
        # Flushed per line: if the process is killed, the lines so far say where it was.
        sys.stdout.flush()


def _traceback(e):
    if MICROPYTHON:
        import io
        buf = io.StringIO()
        sys.print_exception(e, buf)
        text = buf.getvalue()
    else:
        import traceback
        text = ''.join(traceback.format_exception(e))
    return [line for line in text.split('\n') if line]


def _report_fail(name, e):
    kind = type(e).__name__
    try:
        msg = str(e)
    except Exception:
        msg = '(message unprintable)'
    # One line per result; the full message is in the traceback below it.
    msg = msg.replace('\n', '\\n')
    _out('FAIL ' + name + ': ' + (kind + ': ' + msg if msg else kind))
    for line in _traceback(e):
        _out('  | ' + line)


class _Tasks:
    # Tasks a test started and left running must not run on into the next test (CPython's
    # asyncio.run cancels them; MicroPython has no such end). Under MicroPython, asyncio has no
    # all_tasks(), so create_task is wrapped to remember them.
    def __init__(self):
        self.started = []
        self.original = None

    def track(self):
        import asyncio
        if not MICROPYTHON or self.original is not None:
            return
        self.original = asyncio.create_task
        original = self.original
        started = self.started

        def create_task(coro):
            t = original(coro)
            started.append(t)
            return t

        asyncio.create_task = create_task

    def untrack(self):
        import asyncio
        if self.original is not None:
            asyncio.create_task = self.original
            self.original = None

    async def cancel_leftovers(self):
        import asyncio
        if MICROPYTHON:
            left = [t for t in self.started if not t.done()]
            self.started.clear()
            for t in left:
                t.cancel()
            # Let the cancelled tasks run their finally blocks, then drop anything else still
            # queued. The pause also returns to JavaScript: the WebAssembly port's GC only
            # collects there, never in the middle of Python code.
            await asyncio.sleep_ms(0)
            asyncio.new_event_loop()
            await asyncio.sleep_ms(0)
        else:
            me = asyncio.current_task()
            left = [t for t in asyncio.all_tasks() if t is not me]
            for t in left:
                t.cancel()
            if left:
                await asyncio.wait(left, timeout=1)


def _ticks_ms():
    import time
    return time.ticks_ms()


async def _call(fn, timeout_ms):
    import asyncio
    import time
    result = fn()
    if result is None or not hasattr(result, 'send'):
        return
    # An async def test (a generator object under MicroPython): await it, with a time limit.
    start = _ticks_ms()
    try:
        if MICROPYTHON:
            await asyncio.wait_for_ms(result, timeout_ms)
        else:
            await asyncio.wait_for(result, timeout_ms / 1000)
    except asyncio.TimeoutError:
        if time.ticks_diff(_ticks_ms(), start) < timeout_ms:
            raise  # the test's own timeout, not the runner's
        raise AssertionError('async test did not finish within %d ms (TEST_TIMEOUT_MS)' % timeout_ms) from None


def _test_names(mod):
    names = [n for n in dir(mod) if n.startswith('test_') and callable(getattr(mod, n))]
    names.sort()
    return names


async def run(module_names, announce=False):
    passed = 0
    failed = 0
    tasks = _Tasks()
    tasks.track()
    try:
        for modname in module_names:
            try:
                mod = __import__(modname)
            except KeyboardInterrupt:
                raise
            except BaseException as e:
                failed += 1
                _report_fail(modname, e)
                continue
            names = _test_names(mod)
            if not names:
                failed += 1
                _out('FAIL ' + modname + ': no test_* functions found')
                continue
            timeout_ms = getattr(mod, 'TEST_TIMEOUT_MS', DEFAULT_TIMEOUT_MS)
            for name in names:
                full = modname + '.' + name
                if announce:
                    _out('RUN ' + full)
                try:
                    await _call(getattr(mod, name), timeout_ms)
                except KeyboardInterrupt:
                    raise
                except BaseException as e:
                    # BaseException: a CancelledError or SystemExit fails the test, not the run.
                    failed += 1
                    _report_fail(full, e)
                else:
                    passed += 1
                    _out('PASS ' + full)
                await tasks.cancel_leftovers()
    finally:
        tasks.untrack()
    _out('DONE pass=%d fail=%d' % (passed, failed))
    return passed, failed


def _main(argv):
    import os
    import asyncio
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, 'host'))
    import cpython_compat
    sys.path.pop(0)
    cpython_compat.install()
    mp_dir = os.path.join(here, 'mp')
    sys.path.insert(0, mp_dir)
    announce = '-v' in argv
    names = [os.path.basename(a)[:-3] if a.endswith('.py') else a for a in argv if a != '-v']
    if not names:
        names = sorted(f[:-3] for f in os.listdir(mp_dir) if f.startswith('test_') and f.endswith('.py'))
    passed, failed = asyncio.run(run(names, announce))
    return 1 if failed else 0


if __name__ == '__main__' and not MICROPYTHON:
    sys.exit(_main(sys.argv[1:]))
