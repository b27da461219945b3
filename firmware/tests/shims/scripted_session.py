# A direct-mode session over scripted bytes instead of a socket: the reader hands out the given
# chunks one read at a time (a line cut anywhere) then end of stream; the writer collects what
# the board sends. For tests of what a whole connection does, from its first byte to its close.
import asyncio
import simhw
from manual_clock import ManualClock
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.session import Session
from tether.start import start_board


class ChunkReader:
    # stay_open: once the chunks are read, wait as a connected client that sends nothing more
    # does, instead of ending the stream.
    def __init__(self, chunks, stay_open=False):
        self.chunks = list(chunks)
        self.stay_open = stay_open

    async def readinto(self, mv):
        if not self.chunks:
            if self.stay_open:
                await asyncio.Event().wait()
            return 0
        data = self.chunks.pop(0)
        n = min(len(mv), len(data))
        mv[:n] = data[:n]
        if n < len(data):
            self.chunks.insert(0, data[n:])
        return n


class CollectingWriter:
    def __init__(self):
        self.data = b''
        self.closed = False

    def write(self, data):
        self.data += bytes(data)

    async def drain(self):
        pass

    def close(self):
        self.closed = True

    async def wait_closed(self):
        pass


async def run_session(cfg, chunks):
    # A fresh simulated Pico W with `cfg` (normalized), one session over `chunks` to its end.
    simhw.reset()
    board = Board(cfg, ManualClock(), pico_w)
    await start_board(board)
    reader = ChunkReader(chunks)
    writer = CollectingWriter()
    await Session(board, Dispatcher(board), reader, writer, 1024).run()
    return board, reader, writer
