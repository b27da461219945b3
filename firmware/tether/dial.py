# Dialling out over a board's lwIP: the hub link (tether/link.py) and the boards it follows
# (tether/peers.py) share it. A Pico W's lwIP has 5 TCP PCBs in all, shared with direct clients,
# so every dial that fails or times out closes its socket.
import asyncio
import random
from errno import EINPROGRESS
from micropython import const
from tether.errors import text

# How long a name lookup may hold the loop: lwIP's resolver waits in C, about 7 s for each DNS
# server that does not answer. Names are looked up again at most once a minute.
LOOKUP_MS = const(15000)
RELOOKUP_MS = const(60000)


class Sockets:
    # MicroPython's sockets, and its asyncio's wait until a connecting socket is writable
    # (extmod/asyncio/stream.py does the same). Tests put lwIP's stand-in here (shims/lwip_sim.py).
    def getaddrinfo(self, host, port):
        import socket
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]

    def socket(self, ai):
        import socket
        return socket.socket(ai[0], ai[1], ai[2])

    def writable(self, s):
        from asyncio import core
        yield core._io_queue.queue_write(s)

    def streams(self, s):
        st = asyncio.StreamReader(s)
        return st, st


async def connect(net, ai, host, ctx=None):
    # MicroPython's asyncio.open_connection leaves its socket open when the connect fails or the
    # dial is cancelled (a timeout), and a Pico W's lwIP has 5 TCP PCBs in all, shared with direct
    # clients. Here the socket stays ours until streams hold it, and every failure closes it.
    raw = s = net.socket(ai)
    try:
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError as err:
            if err.errno != EINPROGRESS:
                raise
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname=host, do_handshake_on_connect=False)
            s.setblocking(False)
        await net.writable(s)
        return net.streams(s)
    except BaseException:
        s.close()
        if raw is not s:
            raw.close()
        raise


def _literal(host):
    # An IPv4 or IPv6 address, which getaddrinfo turns into an address without asking DNS.
    return ':' in host or all(ch in '0123456789.' for ch in host)


async def quiet(board, ms, what, who):
    # Waits until no lease ends within ms, before something that holds the whole event loop that
    # long (a name lookup, a TLS handshake) and with it the timers that end leases.
    if board.leases.ends_within(ms):
        print(who + ':', text('quiet_wait', (ms, what)))
        while board.leases.ends_within(ms):
            await asyncio.sleep_ms(100)


class Address:
    # Where a dial goes. A name is looked up at the first dial, again at most once a minute (the
    # host may have moved), never while a lease is due to end within the lookup (the last address
    # serves, or the dial waits), and with the watchdog held (app.hold_watchdog), which a DNS
    # server that does not answer would outlast. An IP address needs no lookup.
    def __init__(self, net, board, host, port, who):
        self.net = net
        self.board = board
        self.host = host
        self.port = port
        self.who = who
        self.ai = None
        self.at = 0

    async def get(self):
        if _literal(self.host):
            return self.net.getaddrinfo(self.host, self.port)
        b = self.board
        if self.ai is None or (b.clock.now() - self.at >= RELOOKUP_MS and not b.leases.ends_within(LOOKUP_MS)):
            await quiet(b, LOOKUP_MS, 'looking up ' + self.host, self.who)
            self.at = b.clock.now()
            hold = getattr(b, 'hold_watchdog', None)
            if hold:
                hold(True)
            try:
                self.ai = self.net.getaddrinfo(self.host, self.port)
            finally:
                if hold:
                    hold(False)
        return self.ai


def jitter(ceiling):
    # Full jitter: a wait from 0 up to the ceiling, in ms (protocol.md §10.3).
    return random.getrandbits(16) * ceiling // 65536
