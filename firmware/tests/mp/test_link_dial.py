# Dialling the hub on a board's lwIP (shims/lwip_sim.py: 5 TCP PCBs, shared with direct-mode
# clients): a dial that times out or fails closes its socket, so an unreachable hub never takes
# the slots direct clients need; the reconnect backoff of protocol.md §10.3.
import asyncio
import time
import simhw
import lwip_sim
from fake_hub import Hub
from manual_clock import ManualClock
from tether import config
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.start import start_board
from tether.dial import LOOKUP_MS
from tether.link import BACKOFF_FIRST, BACKOFF_MAX, QUICK_TIMEOUTS, TLS_HANDSHAKE_MS, HubLink

TOKEN = 'pico-hub-token-0123456789abcdef'
TEST_TIMEOUT_MS = 15000


def _link(stack, host, **hub):
    simhw.reset()
    cfg = config.normalize({'pins': [{'pin': 15, 'name': 'relay', 'mode': 'output', 'value': 0}], 'auth': 'none'}, pico_w)
    b = Board(cfg, ManualClock(), pico_w)
    hub.update({'host': host, 'port': 7341, 'device_id': 'pico', 'token': TOKEN})
    link = HubLink(b, Dispatcher(b), hub)
    link.net = stack
    link.handshake_ms = 20  # the dial timer; 750 ms on a board
    return link


async def _dials(stack, n, within_ms=6000):
    start = time.ticks_ms()
    while stack.dials < n and time.ticks_diff(time.ticks_ms(), start) < within_ms:
        await asyncio.sleep_ms(10)


class _OnThisStack:
    # The asyncio.open_connection a dial without the fix would reach, over the same PCB pool.
    def __init__(self, stack):
        self.stack = stack

    # The WebAssembly port's asyncio has no open_connection (it has no sockets).
    def __enter__(self):
        self.saved = getattr(asyncio, 'open_connection', None)
        asyncio.open_connection = self.stack.open_connection

    def __exit__(self, *exc):
        if self.saved is None:
            delattr(asyncio, 'open_connection')
        else:
            asyncio.open_connection = self.saved


async def test_timed_out_dials_to_a_black_hole_close_their_sockets():
    stack = lwip_sim.Stack()
    link = _link(stack, '10.9.9.9')
    with _OnThisStack(stack):
        link.start()
        await _dials(stack, 8)
        link.stop()
    assert stack.dials >= 8, 'the link stopped dialling: %d dials, %s' % (stack.dials, link.last_error)
    assert stack.exhausted == 0, 'a dial found no free PCB: %s' % link.last_error
    assert len(stack.open) <= 1, '%d PCBs held by %d dials' % (len(stack.open), stack.dials)
    assert link.last_error.startswith('no connection to the hub within 20 ms'), link.last_error
    assert link.ceiling >= BACKOFF_FIRST << 4, 'past the first few, timeouts back off (protocol.md §10.3): %d' % link.ceiling


async def test_a_direct_client_still_connects_while_the_hub_is_unreachable():
    stack = lwip_sim.Stack()
    link = _link(stack, '10.9.9.9')
    clients = [stack.accept() for _ in range(3)]
    with _OnThisStack(stack):
        link.start()
        await _dials(stack, 8)
        late = stack.accept()
        link.stop()
    assert None not in clients and late is not None, 'a direct client found no PCB after %d dials' % stack.dials


async def test_a_dial_that_fails_at_once_closes_its_socket_and_backs_off():
    stack = lwip_sim.Stack()
    stack.hosts['10.9.9.9'] = 'unroutable'
    link = _link(stack, '10.9.9.9')
    with _OnThisStack(stack):
        link.start()
        # A sixth dial comes only after the fifth failure's backoff has doubled the ceiling.
        await _dials(stack, 6)
        link.stop()
    assert stack.dials >= 5 and not stack.open, '%d PCBs held after %d dials' % (len(stack.open), stack.dials)
    assert 'EHOSTUNREACH' in link.last_error or '113' in link.last_error, link.last_error
    assert link.ceiling >= BACKOFF_FIRST << 5, 'the ceiling doubles after each failed dial: %d' % link.ceiling


async def test_a_link_that_closes_frees_its_pcb():
    stack = lwip_sim.Stack()
    hub = Hub(TOKEN)
    stack.hosts['10.0.0.2'] = hub
    link = _link(stack, '10.0.0.2')
    link.handshake_ms = 2000
    with _OnThisStack(stack):
        link.start()
        conn = await hub.accept()
        await conn.handshake()
        state = await conn.frame()
        assert state['body']['event'] == 'state' and len(stack.open) == 1, (state, stack.open)
        link.stop()
        assert await conn.frame() == {'link': 'close', 'reason': 'shutdown'}
        for _ in range(5):
            await asyncio.sleep_ms(1)
    assert not stack.open, 'the closed link still holds its PCB'


def test_backoff_is_full_jitter_under_a_doubling_ceiling_capped_at_30_s():
    link = _link(lwip_sim.Stack(), '10.9.9.9')
    ceilings = []
    for _ in range(12):
        before = link.ceiling
        wait = link.backoff(False)
        assert 0 <= wait < before, (wait, before)
        ceilings.append(link.ceiling)
    assert ceilings[:3] == [200, 400, 800] and ceilings[-1] == BACKOFF_MAX == 30000, ceilings
    for _ in range(20):
        link.backoff(True)
    assert link.ceiling == BACKOFF_MAX, 'timeouts in a row keep to the ceiling'


def test_a_few_timeouts_are_retried_at_once_then_back_off():
    link = _link(lwip_sim.Stack(), '10.9.9.9')
    link.backoff(False)
    link.backoff(False)
    for _ in range(QUICK_TIMEOUTS):
        assert 0 <= link.backoff(True) < BACKOFF_FIRST and link.ceiling == 400, 'a quick retry leaves the ceiling as it is'
    ceilings = []
    for _ in range(3):
        link.backoff(True)
        ceilings.append(link.ceiling)
    assert ceilings == [800, 1600, 3200], 'a hub black-holed for longer is dialled less and less often: %r' % ceilings
    link.backoff(False)
    assert link.timeouts == 0 and link.ceiling == 6400, 'a refused dial starts the count of timeouts over'
    assert link.backoff(True) < BACKOFF_FIRST and link.ceiling == 6400


async def _until(check, within_ms=3000):
    start = time.ticks_ms()
    while not check() and time.ticks_diff(time.ticks_ms(), start) < within_ms:
        await asyncio.sleep_ms(10)


async def test_a_name_is_looked_up_only_when_no_lease_ends_during_the_lookup():
    # A lookup holds the loop, and the timers that end leases, for as long as DNS takes.
    stack = lwip_sim.Stack()
    hub = Hub(TOKEN)
    stack.hosts['10.0.0.2'] = hub
    stack.names['hub.home.arpa'] = '10.0.0.2'
    link = _link(stack, 'hub.home.arpa')
    link.handshake_ms = 2000
    b = link.board
    await start_board(b)
    b.write_pin(15, 1, 5)
    during = []
    stack.on_lookup = lambda host: during.append(b.leases.ends_within(LOOKUP_MS))
    with _OnThisStack(stack):
        link.start()
        await asyncio.sleep_ms(300)
        assert during == [] and stack.dials == 0, 'looked up while the relay lease ends within the lookup: %r' % during
        b.clock.advance(5000)
        conn = await hub.accept()
        await conn.handshake()
        assert during == [False] and b.read_pin(15) == 0, during
        # The hub goes; the next dial, within the minute, uses the address already known.
        b.write_pin(15, 1, 5)
        conn.close()
        await _until(lambda: stack.dials >= 2)
        link.stop()
    assert stack.dials >= 2 and during == [False], 'a redial looked the name up again at once: %r' % during


async def test_a_tls_handshake_starts_only_when_no_lease_ends_during_it():
    # mbedTLS computes the handshake's keys without yielding to the loop.
    stack = lwip_sim.Stack()
    link = _link(stack, '10.0.0.2', fingerprint='ab' * 32)
    b = link.board
    during = []

    async def connect(addr):
        during.append(b.leases.ends_within(TLS_HANDSHAKE_MS))
        raise OSError(113, 'EHOSTUNREACH')

    link._connect = connect
    await start_board(b)
    b.write_pin(15, 1, 8)
    link.start()
    await asyncio.sleep_ms(300)
    assert during == [], 'a TLS dial began while the relay lease ends within it'
    b.clock.advance(8000)
    await _until(lambda: during)
    link.stop()
    assert during and not any(during), during


async def _lookup_outlasting_the_watchdog(port):
    # A name looked up while DNS does not answer: 12 s in lwIP's resolver, the loop held.
    import simports
    from tether import app
    from tether.boards import esp32
    from tether.dial import Address
    stack = lwip_sim.Stack()
    stack.names['hub.home.arpa'] = '10.0.0.2'
    stack.lookup_ms = 12000
    link = _link(stack, 'hub.home.arpa')
    b = link.board
    if port == 'esp32':
        simports.use_port('esp32')
    simhw.manual_clock(True)
    b.hold_watchdog = app.hold_watchdog
    app._wd[:] = [None, None, None, 0]
    wdt = app.start_watchdog(8, pico_w if port == 'rp2' else esp32)
    try:
        ai = await Address(stack, b, 'hub.home.arpa', 7341, 'hub link').get()
        assert ai[-1] == ('10.0.0.2', 7341), ai
        simhw.advance(100)
        wdt.feed()
        assert simhw.wdt['enabled'] and simhw.wdt['timeout'] == 8000, 'armed again as it was: %r' % simhw.wdt
        simhw.advance(8500)
        try:
            wdt.feed()
        except SystemExit:
            pass
        else:
            raise AssertionError('the watchdog no longer resets a stuck board')
    finally:
        app._wd[:] = [None, None, None, 0]
        simhw.reset()


async def test_a_lookup_that_outlasts_the_watchdog_holds_it_on_rp2():
    await _lookup_outlasting_the_watchdog('rp2')


async def test_a_lookup_that_outlasts_the_watchdog_holds_it_on_esp32():
    await _lookup_outlasting_the_watchdog('esp32')


async def test_a_peer_named_by_a_name_is_looked_up_once_a_minute_at_most():
    from tether.peers import Peer
    stack = lwip_sim.Stack()
    stack.names['rgb-a.home.arpa'] = '10.0.0.3'
    seen = []
    stack.on_lookup = seen.append
    link = _link(stack, '10.0.0.2')
    b = link.board
    await start_board(b)
    p = Peer(b, {'name': 'rgb-a', 'host': 'rgb-a.home.arpa', 'port': 12345, 'token': None, 'follow': [], 'every_ms': 1000, 'lease_s': 3})
    p.net = stack
    p.dial_ms = 20
    p.start()
    await _until(lambda: stack.dials >= 3)
    b.clock.advance(60000)
    await _until(lambda: len(seen) >= 2)
    p.stop()
    assert stack.dials >= 3 and seen == ['rgb-a.home.arpa'] * 2, 'lookups: %r over %d dials' % (seen, stack.dials)
