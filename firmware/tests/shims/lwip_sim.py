# lwIP's TCP sockets as MicroPython's rp2 port has them (extmod/modlwip.c): a fixed pool of TCP
# PCBs, MEMP_NUM_TCP_PCB, which the rp2 lwipopts leave at lwIP's default of 5, shared by the hub
# link and direct-mode clients. socket() on an empty pool raises OSError(ENOMEM) (tcp_new()
# gave NULL), and a client that connects then is dropped (_lwip_tcp_accept gets ERR_MEM). A
# non-blocking connect raises EINPROGRESS; a host with no route raises EHOSTUNREACH from
# tcp_connect (ERR_RTE). A PCB is freed only by close().
# Two ways to dial: the link's Sockets interface (getaddrinfo, socket, writable, streams), and
# open_connection, which does what MicroPython's asyncio.open_connection does on this stack,
# leaving the socket open when the connect raises or the dial is cancelled.
import asyncio
import simhw

# MicroPython's errno values (py/mperrno.h), the same on rp2 and esp32.
ENOMEM = 12
EHOSTUNREACH = 113
EINPROGRESS = 115
MEMP_NUM_TCP_PCB = 5
AF_INET = 2
SOCK_STREAM = 1


def _error(code):
    # MicroPython's OSError(code) has .errno; CPython's needs a message for it.
    return OSError(code, 'errno %d' % code)


class Socket:
    def __init__(self, stack):
        self.stack = stack
        self.closed = False
        self.host = None

    def setblocking(self, flag):
        pass

    def connect(self, addr):
        self.host = addr[0]
        if self.stack.hosts.get(self.host) == 'unroutable':
            raise _error(EHOSTUNREACH)
        raise _error(EINPROGRESS)

    def close(self):
        if not self.closed:
            self.closed = True
            self.stack.open.remove(self)


class _Writer:
    # A Stream's writer over a socket of this stack: wait_closed closes the socket, as in
    # MicroPython (its Stream.close does nothing).
    def __init__(self, s, inner):
        self.s = s
        self.inner = inner

    def write(self, b):
        self.inner.write(b)

    async def drain(self):
        await self.inner.drain()

    def close(self):
        self.inner.close()

    async def wait_closed(self):
        self.s.close()


class Stack:
    def __init__(self, pcbs=MEMP_NUM_TCP_PCB):
        self.pcbs = pcbs
        self.open = []  # sockets holding a PCB
        self.hosts = {}  # host -> 'blackhole' (SYNs unanswered), 'unroutable', or a fake_hub.Hub
        self.dials = 0
        self.exhausted = 0  # socket() calls and accepts refused for want of a PCB
        # Names DNS knows. A lookup of a name holds the whole event loop in C until DNS answers
        # (modlwip.c's getaddrinfo polls lwIP, never the asyncio loop); on_lookup(host) runs at
        # that moment, so a test can see what the board was in the middle of.
        self.names = {}
        self.on_lookup = None
        self.lookup_ms = 0  # how long a lookup holds the loop, on simhw's manual clock

    def _pcb(self):
        if len(self.open) >= self.pcbs:
            self.exhausted += 1
            return None
        s = Socket(self)
        self.open.append(s)
        return s

    def getaddrinfo(self, host, port):
        if not all(ch in '0123456789.' for ch in host):
            if self.on_lookup is not None:
                self.on_lookup(host)
            simhw.advance(self.lookup_ms)
            if host not in self.names:
                raise _error(-2)  # lwIP's "not found", passed on as OSError(-2)
            host = self.names[host]
        return (AF_INET, SOCK_STREAM, 0, '', (host, port))

    def socket(self, ai):
        self.dials += 1
        s = self._pcb()
        if s is None:
            raise _error(ENOMEM)
        return s

    def accept(self):
        # A direct-mode client connecting: its socket, or None when lwIP had no PCB for it.
        return self._pcb()

    async def writable(self, s):
        peer = self.hosts.get(s.host, 'blackhole')
        if peer == 'blackhole':
            # No SYN-ACK ever comes: only a timeout ends this wait.
            await asyncio.Event().wait()
        s.peer = await peer.dial()

    def streams(self, s):
        r, w = s.peer
        return r, _Writer(s, w)

    async def open_connection(self, host, port, ssl=None, server_hostname=None):
        ai = self.getaddrinfo(host, port)
        s = self.socket(ai)
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError as er:
            if er.errno != EINPROGRESS:
                raise er
        await self.writable(s)
        return self.streams(s)
