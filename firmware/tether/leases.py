# Actuator leases (docs/protocol.md §4): every write away from the safe value ends by itself.


class Leases:
    def __init__(self, clock, on_expire):
        self.clock = clock
        self.on_expire = on_expire
        self.held = {}  # pin -> [value, deadline, timer]

    def grant(self, pin, value, ms):
        # A write replaces the pin's lease: the old timer is cancelled, the deadline set anew.
        self.end(pin)
        lease = [value, self.clock.now() + ms, None]
        lease[2] = self.clock.call_later(ms, lambda: self._expire(pin, lease))
        self.held[pin] = lease
        return lease

    def _expire(self, pin, lease):
        if self.held.get(pin) is lease:
            del self.held[pin]
            self.on_expire(pin, lease[0])

    def end(self, pin):
        lease = self.held.pop(pin, None)
        if lease is None:
            return False
        self.clock.cancel(lease[2])
        return True

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
        for pin in list(self.held):
            self.end(pin)
