# A board clock that moves only when the test says so (the vectors' "advance_ms", protocol.md
# Appendix A). Same interface as tether.clock.Clock; runs under CPython and MicroPython.
import asyncio
import time


class ManualClock:
    def __init__(self):
        self.t = 0
        self.seq = 0
        self.timers = []  # [deadline, seq, fn]; fn None once cancelled

    def now(self):
        return self.t

    def call_later(self, ms, fn):
        self.seq += 1
        timer = [self.t + ms, self.seq, fn]
        self.timers.append(timer)
        return timer

    def cancel(self, timer):
        timer[2] = None
        if timer in self.timers:
            self.timers.remove(timer)

    async def sleep(self, ms):
        ev = asyncio.Event()
        self.call_later(ms, ev.set)
        await ev.wait()

    def advance(self, ms):
        # Fires due timers in deadline order, each at its own time, as the TypeScript clock does.
        target = self.t + ms
        while True:
            due = [x for x in self.timers if x[0] <= target]
            if not due:
                break
            first = min(due, key=lambda x: (x[0], x[1]))
            self.timers.remove(first)
            if first[0] > self.t:
                self.t = first[0]
            fn = first[2]
            if fn is not None:
                first[2] = None
                fn()
        self.t = target


class VirtualTicks:
    # MicroPython's own timing over a clock the test moves, for code that uses time.ticks_ms and
    # asyncio.sleep_ms itself (tether.clock.Clock): ticks wrap at 2**30 and a wait goes through
    # time.ticks_add, which refuses 2**29 ms or more, as on the board; days pass at once.
    # patch(module) puts it in place of the module's `time` and `asyncio`.
    PERIOD = 1 << 30

    def __init__(self, start_ms=0):
        self.t = start_ms  # ms since the test began; never wraps, unlike ticks_ms()
        self.seq = 0
        self.waits = []  # [due, seq, event]
        self._saved = None

    def ticks_ms(self):
        return self.t & (self.PERIOD - 1)

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, t, delta):
        return time.ticks_add(t, delta)

    def create_task(self, coro):
        return asyncio.create_task(coro)

    def sleep_ms(self, ms):
        # Not async: like asyncio.sleep_ms, the OverflowError comes at the call.
        ms = max(0, ms)
        time.ticks_add(self.ticks_ms(), ms)
        self.seq += 1
        wait = [self.t + ms, self.seq, asyncio.Event()]
        self.waits.append(wait)
        return wait[2].wait()

    async def advance(self, ms):
        # Wakes the waits due within ms in order, each at its own time, letting the woken tasks run.
        target = self.t + ms
        while True:
            await _settle()
            due = [w for w in self.waits if w[0] <= target]
            if not due:
                break
            first = min(due, key=lambda w: (w[0], w[1]))
            self.waits.remove(first)
            if first[0] > self.t:
                self.t = first[0]
            first[2].set()
        self.t = target
        await _settle()

    def patch(self, module):
        self._saved = (module, module.time, module.asyncio)
        module.time = self
        module.asyncio = self
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        module, t, a = self._saved
        module.time = t
        module.asyncio = a


async def _settle():
    for _ in range(4):
        await asyncio.sleep_ms(0)
