# Actuator leases (docs/protocol.md §4): every write away from the safe value ends by itself.
#
# One timer serves every lease: it is armed for the earliest deadline, and a renewal that ends
# later leaves it as it is (when it fires with nothing due, it is armed for what comes next). A
# pin's lease is one list, made once and updated in place. A request then makes nothing that
# outlives it: a timer task made per write would stay in RAM for the whole lease, placed among
# that request's garbage, and over days such objects split the block a TLS handshake needs
# (docs/benchmarks.md, the soak).
from tether.errors import say


class Leases:
    def __init__(self, clock, on_expire):
        self.clock = clock
        self.on_expire = on_expire
        self.held = {}  # pin -> [value, deadline, order granted]
        self._lists = {}  # pin -> its lease list, kept once made and used again by every later lease
        self._n = 0
        self._timer = None  # the clock's timer, armed for self._at
        self._at = 0

    def grant(self, pin, value, ms):
        # A write replaces the pin's lease: its value and deadline are set anew. Whole
        # milliseconds: a board's floats are 32-bit, too coarse for a deadline days into uptime.
        at = self.clock.now() + int(ms + 0.5)
        self._n += 1
        lease = self._lists.get(pin)
        if lease is None:
            lease = self._lists[pin] = [0, 0, 0]
        lease[0] = value
        lease[1] = at
        lease[2] = self._n
        self.held[pin] = lease
        if self._timer is None or at < self._at:
            self._arm(at)
        return lease

    def _arm(self, at):
        # The new timer first: a clock that cannot make one (MemoryError) leaves the armed one.
        timer = self.clock.call_later(at - self.clock.now(), self._fire)
        if self._timer is not None:
            self.clock.cancel(self._timer)
        self._timer = timer
        self._at = at

    def _fire(self):
        # Every lease due ends, earliest first (same deadline: first granted first); an
        # on_expire that grants or ends a lease is seen by the next turn of the loop. One that
        # fails does not keep the other outputs on, nor the timer from being armed again.
        self._timer = None
        try:
            while True:
                now = self.clock.now()
                due = None
                first = None
                for pin in self.held:
                    lease = self.held[pin]
                    if lease[1] <= now and (first is None or lease[1] < first[1] or (lease[1] == first[1] and lease[2] < first[2])):
                        due = pin
                        first = lease
                if due is None:
                    break
                try:
                    self.on_expire(due, self.held.pop(due)[0])
                except Exception as err:
                    say('lease_end_failed', (due, err))
        finally:
            # Armed again whatever failed above, for the earliest lease left: one granted
            # during an expiry may have armed it for a later deadline.
            if self.held:
                at = min(lease[1] for lease in self.held.values())
                if self._timer is None or at < self._at:
                    self._arm(at)

    def end(self, pin):
        # The timer stays armed: it finds nothing due when it fires.
        return self.held.pop(pin, None) is not None

    def get(self, pin):
        return self.held.get(pin)

    def left_s(self, lease):
        # Seconds left, to the millisecond.
        ms = round(lease[1] - self.clock.now())
        return (ms if ms > 0 else 0) / 1000

    def ends_within(self, ms):
        # Whether a lease ends in the next ms: the link starts nothing that holds the event loop
        # that long (a name lookup, a TLS handshake) while one does.
        soon = self.clock.now() + ms
        for pin in self.held:
            if self.held[pin][1] <= soon:
                return True
        return False

    def pins(self):
        return sorted(self.held)

    def clear(self):
        self.held.clear()
        if self._timer is not None:
            self.clock.cancel(self._timer)
            self._timer = None
