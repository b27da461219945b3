# The board's monotonic clock and its timers. Leases end on these timers, on the board, whatever
# happens to the network (docs/protocol.md §4). Tests swap in a clock they move by hand.
import time
import asyncio


class Clock:
    def __init__(self):
        self._last = time.ticks_ms()
        self._ms = 0

    def now(self):
        # ticks_ms wraps (2**30 ms on most ports); accumulating differences never does.
        t = time.ticks_ms()
        self._ms += time.ticks_diff(t, self._last)
        self._last = t
        return self._ms

    def call_later(self, ms, fn):
        # One small task per timer, cancelled outright when the timer is: a lease renewed every
        # second for an hour leaves nothing behind.
        timer = [None, fn]
        timer[0] = asyncio.create_task(_fire(int(ms + 0.5), timer))
        return timer

    def cancel(self, timer):
        if timer[1] is not None:
            timer[1] = None
            timer[0].cancel()

    async def sleep(self, ms):
        await asyncio.sleep_ms(ms)


async def _fire(ms, timer):
    await asyncio.sleep_ms(ms)
    fn = timer[1]
    if fn is not None:
        timer[1] = None
        fn()
