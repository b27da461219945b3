# One client connection in direct mode: framing, replies in order, events, subscriptions and
# backpressure (docs/protocol.md §2, §3.4, §7). This task reads and answers; a Pipe writes.
import asyncio
from micropython import const
from tether import auth
from tether.codec import decode, encode, error_reply
from tether.errors import ProtoError, say
from tether.framing import LineBuffer, looks_like_http
from tether.dispatcher import Subscriptions
from tether.pipe import Pipe

# RAM, not a desktop's buffers: past EVENT_HIGH unsent bytes, edge/reading events are dropped and
# counted; past EVENT_LIMIT the peer has stopped reading and is disconnected; past READ_PAUSE the
# board stops reading requests until the peer reads its replies.
EVENT_HIGH = const(4096)
EVENT_LIMIT = const(16384)
READ_PAUSE = const(8192)
# Events a board may drop, counting them, for a client that does not keep up (§7, §10.4).
DROPPABLE = ('edge', 'reading', 'sensor_error')


async def readinto(reader, mv):
    # The number of bytes read, 0 only at end of stream. MicroPython streams read into a buffer;
    # CPython's StreamReader has no readinto. On a TLS socket MicroPython's readinto gives None
    # while mbedTLS waits for more bytes (every handshake, a record split across TCP segments, a
    # TLS 1.3 session ticket): that is not the end, so wait again (the stream waits for readable).
    if hasattr(reader, 'readinto'):
        while True:
            n = await reader.readinto(mv)
            if n is not None:
                return n
    data = await reader.read(len(mv))
    n = len(data)
    mv[:n] = data
    return n


class Session:
    def __init__(self, board, dispatcher, reader, writer, max_frame, tls=False):
        self.board = board
        self.dispatcher = dispatcher
        self.r = reader
        self.w = writer
        self.tls = tls
        self.lines = LineBuffer(max_frame)
        self.scope = dispatcher.initial_scope()
        self.subs = Subscriptions()
        self.seq = 0
        self.dropped = 0
        self.pipe = None
        self.closing = False
        # Until a frame decodes as a JSON object, an HTTP line closes the connection (§2 rule 7).
        self.accepted = False
        # Challenge and response (§8.1), set by the dispatcher: the nonces of the last challenge,
        # the session key of an accepted auth with seal until its reply is out, then the opener
        # of the client's sealed frames (the pipe seals the board's); close once replied.
        self.pair = None
        self.seal_key = None
        self.opener = None
        self.close_after = False
        # The key of the token the last accepted auth matched: update's manifest_mac is made with it.
        self.token_key = None

    def unproven(self):
        # Fairness (§1): no scope yet on a board with tokens, no request yet on one without.
        return self.scope is None or not self.accepted

    async def run(self):
        self.pipe = Pipe(self.w)
        self.board.listeners.append(self)
        first = True
        try:
            while not self.closing:
                space = self.lines.space()
                n = await readinto(self.r, space)
                if n == 0:
                    break
                if first and not self.tls and n >= 2 and space[0] == 0x16 and space[1] == 0x03:
                    # A TLS ClientHello on a plain port: close at once so the client fails fast.
                    break
                first = False
                for frame in self.lines.feed(n):
                    if self.opener is not None:
                        frame = self._open(frame)
                        if self.closing:
                            break
                    if frame is None:
                        reply = error_reply(None, ProtoError('frame_too_large', 'frame_too_large', self.lines.max))
                    elif not self.accepted and looks_like_http(frame):
                        # A web page made a browser send this; its body's JSON lines must not run.
                        say('http_closed')
                        self.close()
                        break
                    else:
                        try:
                            msg = decode(frame)
                        except ProtoError as err:
                            reply = error_reply(None, err)
                        else:
                            self.accepted = True
                            reply = await self.dispatcher.handle(msg, self)
                    # The request and reply go before the next read: a suspended coroutine keeps
                    # whatever its locals and stack slots last held, and a reply kept for as long
                    # as the client stays quiet would sit wherever it was made, often in the
                    # middle of the largest free block (docs/benchmarks.md, the soak).
                    out = encode(reply)
                    msg = reply = None
                    self.pipe.send(out)
                    self._replied()
                    if self.closing:
                        break
                frame = out = None
                while self.pipe.pending > READ_PAUSE and not self.closing:
                    self.pipe.room.clear()
                    await self.pipe.room.wait()
        except OSError:
            pass
        finally:
            self.close()
            await self.pipe.task

    def _open(self, frame):
        # A sealed connection: a frame that fails its seal closes it with nothing in it run. An
        # oversize line cannot be checked: it gets its reply, then the connection closes.
        if frame is None:
            self.close_after = True
            return None
        try:
            return self.opener.open(frame)
        except auth.SealError as err:
            say('sealed_closed', (err,))
            self.close()
            return None

    def _replied(self):
        if self.seal_key is not None:
            # The auth reply went out unsealed; everything after it, both ways, is sealed.
            self.pipe.sealer = auth.Sealer(self.seal_key, 'b2c')
            self.opener = auth.Opener(self.seal_key, 'c2b')
            self.seal_key = None
        if self.close_after:
            self.close()

    def emit(self, event):
        if self.closing:
            return
        if self.pipe.pending > EVENT_LIMIT:
            self.close()
            return
        if event['event'] in DROPPABLE and self.pipe.pending > EVENT_HIGH:
            self.dropped += 1
            return
        if self.dropped:
            self.pipe.send(encode(self._stamp({'event': 'events_dropped', 'count': self.dropped})))
            self.dropped = 0
        self.pipe.send(encode(self._stamp(event)))

    def _stamp(self, event):
        ev = dict(event)
        self.seq += 1
        ev['seq'] = self.seq
        ev['ts'] = self.board.uptime_ms()
        return ev

    def close(self):
        # Ends this connection's subscriptions; its leases stay, since the board owns them.
        if self in self.board.listeners:
            self.board.listeners.remove(self)
        if not self.closing:
            self.closing = True
            self.subs.clear()
        if self.pipe is not None:
            self.pipe.close()
