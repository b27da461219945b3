# A hub scripted by the test, over in-memory connections, that follows docs/protocol.md §10.1,
# §10.5 and §10.6 with its own proofs and seals from tether/auth.py. HubLink dials it through
# link._dial (neither interpreter's tests open sockets for this, and the WebAssembly port has
# none). The test reads the board's lines and answers them one step at a time.
import asyncio
import json
from tether import auth


class _Flow:
    # Bytes one way, with an event for the reader.
    def __init__(self):
        self.data = bytearray()
        self.closed = False
        self.event = asyncio.Event()

    def put(self, b):
        if not self.closed:
            self.data.extend(b)
            self.event.set()

    def close(self):
        self.closed = True
        self.event.set()

    async def wait(self):
        while not self.data and not self.closed:
            self.event.clear()
            await self.event.wait()


class _Reader:
    def __init__(self, flow):
        self.flow = flow

    async def readinto(self, mv):
        f = self.flow
        await f.wait()
        n = min(len(mv), len(f.data))
        mv[:n] = f.data[:n]
        f.data = f.data[n:]
        return n


class _Writer:
    def __init__(self, flow, back):
        self.flow = flow
        self.back = back

    def write(self, b):
        self.flow.put(bytes(b))

    async def drain(self):
        pass

    def close(self):
        # Closing a socket ends both directions.
        self.flow.close()
        self.back.close()

    async def wait_closed(self):
        pass


class Conn:
    # The hub's end of one connection from the board.
    def __init__(self, hub):
        self.hub = hub
        self.up = _Flow()  # board -> hub
        self.down = _Flow()  # hub -> board
        self.hello = None  # the hello line's bytes, as the board sent them
        self.sealer = None
        self.opener = None

    async def line(self):
        # The board's next line without its '\n', or None once the board closed the connection.
        f = self.up
        while True:
            i = f.data.find(b'\n')
            if i >= 0:
                line = bytes(f.data[:i])
                f.data = f.data[i + 1:]
                return line
            if f.closed:
                return None
            f.event.clear()
            await f.event.wait()

    async def closed(self):
        # True when the board closed the connection without sending anything more.
        return await self.line() is None

    def send_raw(self, data):
        self.down.put(data)

    def close(self):
        self.down.close()
        self.up.close()

    def send_json(self, m):
        self.send_raw(json.dumps(m, separators=(',', ':')).encode() + b'\n')

    async def read_hello(self):
        self.hello = await self.line()
        m = json.loads(self.hello)
        self.nb = m['nonce']
        self.th = auth.digest_hex(self.hello)
        return m

    def challenge(self, proof=True, key=None):
        # proof: True for the right proof, None for none, or a proof to send as given.
        self.nh = auth.nonce()
        m = {'link': 'challenge', 'nonce': self.nh}
        if proof is True:
            proof = auth.proof(key or self.hub.key, auth.LINK_HUB, self.nb, self.nh, self.th)
        if proof is not None:
            m['proof'] = proof
        self.send_json(m)

    async def check_auth(self):
        # Reads the board's auth and checks its proof; from here on, both sides seal.
        m = json.loads(await self.line())
        want = auth.proof(self.hub.key, auth.LINK_BOARD, self.nb, self.nh, self.th)
        assert m == {'link': 'auth', 'proof': want}, m
        ks = auth.session_key(self.hub.key, auth.LINK_SESSION, self.nb, self.nh)
        self.sealer = auth.Sealer(ks, 'h2b')
        self.opener = auth.Opener(ks, 'b2h')

    def send(self, m):
        self.send_raw(bytes(self.sealer.line((json.dumps(m, separators=(',', ':')).encode(), b'\n'))))

    def welcome(self, stream='s1', ack=0, keepalive_ms=1000):
        self.send({'link': 'welcome', 'protocol': 2, 'session': 'x', 'keepalive_ms': keepalive_ms,
                   'outage_ms': keepalive_ms * 7 // 2, 'stream': stream, 'ack': ack})

    async def frame(self):
        # The board's next frame, opened (it must be sealed), or None once it closed.
        line = await self.line()
        if line is None:
            return None
        return json.loads(bytes(self.opener.open(memoryview(bytearray(line)))))

    async def handshake(self, **welcome):
        hello = await self.read_hello()
        self.challenge()
        await self.check_auth()
        self.welcome(**welcome)
        return hello


class Hub:
    def __init__(self, token):
        self.key = auth.key_of(token)
        self.conns = []
        self.taken = 0
        self._new = asyncio.Event()

    def dial(self):
        # What HubLink._dial returns: a coroutine giving the board its reader and writer.
        async def connect():
            c = Conn(self)
            self.conns.append(c)
            self._new.set()
            return _Reader(c.down), _Writer(c.up, c.down)
        return connect()

    async def accept(self):
        # The board's next connection, once it dialled.
        while len(self.conns) <= self.taken:
            self._new.clear()
            await self._new.wait()
        self.taken += 1
        return self.conns[self.taken - 1]
