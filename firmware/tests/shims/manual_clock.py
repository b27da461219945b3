# A board clock that moves only when the test says so (the vectors' "advance_ms", protocol.md
# Appendix A). Same interface as tether.clock.Clock; runs under CPython and MicroPython.
import asyncio


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
