# Lets the firmware (pure MicroPython) and its unit tests run on CPython 3.11 for fast host
# testing. install() adds the few MicroPython APIs the firmware uses and nothing more, so code
# that strays outside MicroPython still fails on the host. Does nothing under MicroPython.
import sys

_installed = False
_t0 = 0

# MicroPython's ticks are small ints: on 32-bit boards (RP2040, ESP32) they wrap every 2**30.
# The same period and formulas as extmod/modtime.c, so code that compares ticks with < or
# subtracts them directly is as wrong here as on the board.
TICKS_PERIOD = 1 << 30
_TICKS_MAX = TICKS_PERIOD - 1
_TICKS_HALF = TICKS_PERIOD // 2

# A heap the size of a Pico W's free heap. CPython's own memory use says nothing about the
# board's, so the numbers are fixed: reports stay deterministic and plausible.
_HEAP_TOTAL = 192 * 1024
_HEAP_USED = 48 * 1024


def install():
    global _installed
    if _installed or sys.implementation.name == 'micropython':
        return
    _installed = True
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    fw_root = os.path.dirname(os.path.dirname(here))
    # In front of the standard library: the stand-in `micropython` and the hardware shims
    # (machine, network, ...) must be what the firmware imports.
    for p in reversed([os.path.join(here, 'cpython'), os.path.join(fw_root, 'tests', 'shims'), fw_root]):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    _patch_time()
    _patch_sys()
    _patch_asyncio()
    _patch_gc()
    _patch_ssl()


def _patch_time():
    global _t0
    import time
    # Counted from install, like a board counting from boot.
    t0 = _t0 = time.monotonic_ns()

    def ticks_ms():
        return ((time.monotonic_ns() - t0) // 1000000) & _TICKS_MAX

    def ticks_us():
        return ((time.monotonic_ns() - t0) // 1000) & _TICKS_MAX

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF

    def ticks_add(ticks, delta):
        # MicroPython refuses a delta that ticks_diff could not give back.
        if not -_TICKS_HALF < delta < _TICKS_HALF:
            raise OverflowError('ticks interval overflow')
        return (ticks + delta) & _TICKS_MAX

    def sleep_ms(ms):
        time.sleep(max(0, ms) / 1000)

    def sleep_us(us):
        time.sleep(max(0, us) / 1000000)

    time.ticks_ms = ticks_ms
    time.ticks_us = ticks_us
    time.ticks_cpu = ticks_us
    time.ticks_diff = ticks_diff
    time.ticks_add = ticks_add
    time.sleep_ms = sleep_ms
    time.sleep_us = sleep_us


def _patch_sys():
    # main.py prints a crash with MicroPython's sys.print_exception.
    import traceback

    def print_exception(exc, file=None):
        traceback.print_exception(exc, file=file or sys.stdout)

    sys.print_exception = print_exception


def _patch_asyncio():
    import asyncio
    import time

    def sleep_ms(ms):
        # As extmod/asyncio/core.py: the wake-up time is ticks_add(ticks_ms(), ms), so a wait of
        # 2**29 ms or more raises OverflowError at the call, as on the board, and the task resumes
        # once ticks_ms() reaches it: up to 1 ms early, by the part of the current tick already
        # gone when the wait began (a sleep_ms(20) may last 19.1 ms).
        ms = max(0, ms)
        time.ticks_add(time.ticks_ms(), ms)
        gone = (time.monotonic_ns() - _t0) % 1000000 / 1e9
        return asyncio.sleep(max(0, ms / 1000 - gone))

    asyncio.sleep_ms = sleep_ms


def _patch_gc():
    # mem_free leaves out what the board's allocations since the last collection left behind,
    # as MicroPython's does: a figure read without gc.collect() first depends on when it is read.
    # CPython frees by reference counting, so nothing here makes garbage by itself; a test says
    # how much there is with gc.leave_garbage(n) (host only).
    import gc
    real_collect = gc.collect
    garbage = [0]

    def collect(*args):
        garbage[0] = 0
        return real_collect(*args)

    def leave_garbage(n):
        garbage[0] = min(garbage[0] + n, _HEAP_TOTAL - _HEAP_USED)

    def threshold(*amount):
        # MicroPython's: -1 until set; CPython has no such call.
        if amount:
            limit[0] = amount[0]
        return limit[0]

    limit = [-1]
    gc.collect = collect
    gc.leave_garbage = leave_garbage
    gc.threshold = threshold
    gc.mem_alloc = lambda: _HEAP_USED + garbage[0]
    gc.mem_free = lambda: _HEAP_TOTAL - _HEAP_USED - garbage[0]


def _patch_ssl():
    # MicroPython's SSLContext.load_cert_chain takes the certificate and key themselves (DER
    # bytes, as tether/start.py reads them from config/*.der); CPython's takes file names.
    import os
    import ssl
    import tempfile
    import base64
    original = ssl.SSLContext.load_cert_chain

    def pem_file(der, label):
        body = base64.encodebytes(der).decode()
        fh = tempfile.NamedTemporaryFile('w', suffix='.pem', delete=False)
        fh.write('-----BEGIN %s-----\n%s-----END %s-----\n' % (label, body, label))
        fh.close()
        return fh.name

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        if not isinstance(certfile, bytes):
            return original(self, certfile, keyfile, password)
        files = [pem_file(certfile, 'CERTIFICATE'), pem_file(keyfile, 'PRIVATE KEY')]  # key: PKCS#8
        try:
            return original(self, files[0], files[1], password)
        finally:
            for name in files:
                os.unlink(name)
    ssl.SSLContext.load_cert_chain = load_cert_chain
