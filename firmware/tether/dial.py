# Dialling out over a board's lwIP: the hub link (tether/link.py) and the boards it follows
# (tether/peers.py) share it. A Pico W's lwIP has 5 TCP PCBs in all, shared with direct clients,
# so every dial that fails or times out closes its socket.
import asyncio
import random
from errno import EINPROGRESS


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


def jitter(ceiling):
    # Full jitter: a wait from 0 up to the ceiling, in ms (protocol.md §10.3).
    return random.getrandbits(16) * ceiling // 65536
