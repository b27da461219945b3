# The outgoing side of a stream: frames queue here and one task writes them, so two drains
# never overlap (MicroPython's asyncio allows one writer per socket) and a timer may send too.
import asyncio


class Pipe:
    def __init__(self, writer):
        self.w = writer
        self.out = []
        self.pending = 0  # bytes queued or being written
        self.closing = False
        self._wake = asyncio.Event()
        self.room = asyncio.Event()  # set whenever pending went down
        self.task = asyncio.create_task(self._run())
        self.on_sent = None  # called after each write, e.g. to note the time for keepalives
        # Once a connection is authenticated with a seal (docs/protocol.md §8.1, §10.6), every
        # line is sealed here, in the order sent, which is the order of the frame numbers.
        self.sealer = None

    def send(self, data, *more):
        # data and more: one line, in parts so that a large body is not copied to join them.
        if self.closing:
            return
        if self.sealer is not None:
            data = self.sealer.line((data,) + more)
        elif more:
            data = b''.join((data,) + more)
        self.out.append(data)
        self.pending += len(data)
        self._wake.set()

    async def _run(self):
        try:
            while True:
                while self.out:
                    chunk = self.out[0] if len(self.out) == 1 else b''.join(self.out)
                    self.out = []
                    n = len(chunk)
                    self.w.write(chunk)
                    # Not kept while this task waits: a suspended coroutine keeps what its locals
                    # and stack slots last held (test/firmware/held-replies.test.ts).
                    chunk = None
                    await self.w.drain()
                    self.pending -= n
                    self.room.set()
                    if self.on_sent is not None:
                        self.on_sent()
                if self.closing:
                    break
                self._wake.clear()
                await self._wake.wait()
        except Exception:
            # OSError on a dead socket; CPython may also raise ConnectionError subclasses.
            pass
        self.closing = True
        self.room.set()
        try:
            self.w.close()
            await self.w.wait_closed()
        except Exception:
            pass

    def close(self):
        # Whatever was queued is still sent; then the stream closes.
        self.closing = True
        self._wake.set()
        self.room.set()
