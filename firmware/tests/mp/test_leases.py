# tether.leases: one timer for every lease, so a write makes nothing that outlives its request
# (a timer task per write stayed in RAM for the whole lease and split the heap over time).
from manual_clock import ManualClock
from tether.leases import Leases


class CountingClock(ManualClock):
    def __init__(self):
        super().__init__()
        self.armed = 0

    def call_later(self, ms, fn):
        self.armed += 1
        return super().call_later(ms, fn)


def _leases():
    clock = CountingClock()
    ended = []
    leases = Leases(clock, lambda pin, value: ended.append((clock.now(), pin, value)))
    return clock, leases, ended


def test_renewals_update_the_lease_in_place_and_arm_a_timer_per_lease_period_not_per_write():
    clock, leases, ended = _leases()
    first = leases.grant(20, 1, 5000)
    for _ in range(1000):
        clock.advance(1000)
        assert leases.grant(20, 1, 5000) is first, 'a renewal updates the lease in place'
    assert ended == []
    clock.advance(4999)
    assert ended == [], ended
    clock.advance(1)
    assert ended == [(1005000, 20, 1)], ended
    # The timer fires at the deadline it was armed for, finds the lease renewed and is armed for
    # the new deadline, at least 4 s ahead: one timer every 4 s or more, not one per write.
    assert clock.armed <= 1 + 1005000 // 4000, '%d timers for 1001 writes' % clock.armed


def test_each_lease_ends_at_its_own_deadline_and_an_earlier_one_rearms_the_timer():
    clock, leases, ended = _leases()
    leases.grant(20, 1, 10000)
    leases.grant(16, 0.5, 1000)
    leases.grant(17, 1, 3000)
    leases.grant(18, 1, 3000)
    clock.advance(20000)
    assert ended == [(1000, 16, 0.5), (3000, 17, 1), (3000, 18, 1), (10000, 20, 1)], ended
    assert leases.pins() == []


def test_an_ended_lease_does_not_expire_and_clear_disarms_the_timer():
    clock, leases, ended = _leases()
    leases.grant(20, 1, 1000)
    assert leases.end(20) is True and leases.end(20) is False
    clock.advance(2000)
    assert ended == [], ended
    leases.grant(20, 1, 1000)
    leases.clear()
    assert [t for t in clock.timers if t[2] is not None] == [], clock.timers
    clock.advance(2000)
    assert ended == [], ended


def test_an_expiry_that_fails_leaves_the_other_leases_ending():
    clock = CountingClock()
    ended = []

    def on_expire(pin, value):
        if pin == 16:
            raise RuntimeError('a listener failed')
        ended.append((clock.now(), pin))
    leases = Leases(clock, on_expire)
    leases.grant(16, 1, 1000)
    leases.grant(20, 1, 1000)
    leases.grant(21, 1, 3000)
    clock.advance(5000)
    assert ended == [(1000, 20), (3000, 21)], ended
    assert leases.pins() == []


def test_a_lease_granted_during_an_expiry_gets_its_own_deadline_and_hides_no_earlier_one():
    clock = CountingClock()
    ended = []

    def on_expire(pin, value):
        ended.append((clock.now(), pin))
        if pin == 20:
            leases.grant(21, 1, 10000)
    leases = Leases(clock, on_expire)
    leases.grant(20, 1, 1000)
    leases.grant(16, 1, 3000)
    clock.advance(20000)
    assert ended == [(1000, 20), (3000, 16), (11000, 21)], ended


def test_deadlines_are_whole_milliseconds():
    # A board's floats are 32-bit: a float deadline days into the uptime ends leases early or
    # late, and one a fraction of a millisecond ahead re-arms the timer again and again.
    clock = CountingClock()
    clock.t = 50 * 86400 * 1000
    ended = []
    leases = Leases(clock, lambda pin, value: ended.append((clock.now(), pin)))
    lease = leases.grant(20, 1, 0.2 * 1000)
    assert lease[1] == clock.t + 200 and isinstance(lease[1], int), lease
    leases.grant(16, 1, 30.4)
    assert leases.get(16)[1] == clock.t + 30, leases.get(16)
    clock.advance(1000)
    assert ended == [(clock.t - 1000 + 30, 16), (clock.t - 1000 + 200, 20)], ended
    assert clock.armed <= 3, clock.armed


class FailingClock(CountingClock):
    fail_next = False

    def call_later(self, ms, fn):
        if self.fail_next:
            self.fail_next = False
            raise MemoryError('memory allocation failed')
        return super().call_later(ms, fn)


def test_a_timer_the_clock_cannot_make_leaves_the_armed_one():
    clock = FailingClock()
    ended = []
    leases = Leases(clock, lambda pin, value: ended.append((clock.now(), pin)))
    leases.grant(20, 1, 10000)
    clock.fail_next = True
    try:
        leases.grant(16, 1, 1000)
    except MemoryError:
        pass
    leases.grant(17, 1, 5000)
    clock.advance(60000)
    assert [p for _, p in ended] == [16, 17, 20] and ended[-1] == (10000, 20), ended


def test_an_expiry_whose_report_fails_too_still_leaves_the_timer_armed():
    import tether.leases as module
    clock = CountingClock()
    ended = []

    def on_expire(pin, value):
        if pin == 16:
            raise MemoryError()
        ended.append((clock.now(), pin))

    def say(*args):
        raise MemoryError()  # reading messages.json right after a MemoryError
    real = module.say
    module.say = say
    try:
        leases = Leases(clock, on_expire)
        leases.grant(16, 1, 1000)
        leases.grant(20, 1, 3000)
        try:
            clock.advance(1000)
        except MemoryError:
            pass
        clock.advance(60000)
    finally:
        module.say = real
    assert ended == [(3000, 20)], ended
