# The board's monotonic clock and its timers. Leases end on these timers, on the board, whatever
# happens to the network (docs/protocol.md §4). Tests swap in a clock they move by hand.
import time
import asyncio

# MicroPython's ticks_add (which asyncio.sleep_ms uses) refuses 2**29 ms (6.2 days) or more, and
# ticks_diff can tell apart only gaps shorter than that: waits go in pieces of 2**28 ms, and
# run() reads the clock every hour so that no gap between two reads comes near it.
_PIECE_MS = 1 << 28
_READ_EVERY_MS = 3600 * 1000


class Clock:
    def __init__(self):
        self._last = time.ticks_ms()
        self._ms = 0

    def now(self):
        # ticks_ms wraps (2**30 ms on most ports); accumulating differences never does, as long
        # as the clock is read at least every 2**29 ms (run()).
        t = time.ticks_ms()
        self._ms += time.ticks_diff(t, self._last)
        self._last = t
        return self._ms

    async def run(self):
        while True:
            await asyncio.sleep_ms(_READ_EVERY_MS)
            self.now()

    def call_later(self, ms, fn):
        # One small task per timer, cancelled outright when the timer is: a lease renewed every
        # second for an hour leaves nothing behind.
        timer = [None, fn]
        timer[0] = asyncio.create_task(self._fire(int(ms + 0.5), timer))
        return timer

    def cancel(self, timer):
        if timer[1] is not None:
            timer[1] = None
            timer[0].cancel()

    async def sleep(self, ms):
        end = self.now() + ms
        left = ms
        while True:
            await asyncio.sleep_ms(left if left < _PIECE_MS else _PIECE_MS)
            left = end - self.now()
            if left <= 0:
                return

    async def _fire(self, ms, timer):
        await self.sleep(ms)
        fn = timer[1]
        if fn is not None:
            timer[1] = None
            fn()
