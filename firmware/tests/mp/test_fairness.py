# Idle or silent clients never lock the owner out (docs/protocol.md §1, fairness): the Server of
# tether/server.py over in-memory streams, on a manual clock. A connection that has not proven
# itself (no scope with tokens, no request without) is closed after 10 s, and gives way to a
# newcomer when the board is full; proven connections stay, and a newcomer is then refused.
import asyncio
import simhw
from manual_clock import ManualClock
from tether import config
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.server import Server
from tether.start import start_board

TOKEN = 'owner-token-0123456789'


class Peer:
    # One client: its reader waits for what the test sends, its writer collects the replies.
    # Closing the writer (the board ending the connection) ends the reader too, as a socket does.
    def __init__(self):
        self.inbox = []
        self.data = b''
        self.closed = False
        self.ready = asyncio.Event()

    def send(self, line):
        self.inbox.append(line)
        self.ready.set()

    async def readinto(self, mv):
        while not self.inbox and not self.closed:
            self.ready.clear()
            await self.ready.wait()
        if self.closed:
            return 0
        data = self.inbox.pop(0)
        mv[:len(data)] = data
        return len(data)

    def write(self, data):
        self.data += data

    async def drain(self):
        pass

    def close(self):
        self.closed = True
        self.ready.set()

    async def wait_closed(self):
        pass


async def settle():
    for _ in range(10):
        await asyncio.sleep(0)


async def board_with(raw):
    simhw.reset()
    clock = ManualClock()
    cfg = config.normalize(raw, pico_w)
    board = Board(cfg, clock, pico_w)
    await start_board(board)
    return Server(board, Dispatcher(board), cfg), clock


async def connect(server):
    peer = Peer()
    asyncio.create_task(server._accept(peer, peer))
    await settle()
    return peer


async def connect_many(server, n):
    # A loop: MicroPython has no await inside a comprehension.
    peers = []
    for _ in range(n):
        peers.append(await connect(server))
    return peers


async def test_security_the_owner_gets_in_with_every_slot_held_by_idle_clients():
    server, clock = await board_with({'auth': {'tokens': [{'token': TOKEN, 'scope': 'admin'}]},
                                      'pins': [{'pin': 15, 'mode': 'output', 'value': 0}]})
    idle = await connect_many(server, 4)
    assert len(server.sessions) == 4
    owner = await connect(server)
    assert idle[0].closed, 'the oldest idle connection gave way'
    assert not any(p.closed for p in idle[1:]), 'only one gave way'
    owner.send(b'{"action":"auth","token":"%s"}\n' % TOKEN.encode())
    owner.send(b'{"action":"write_pin","pin":15,"value":1,"timeout":5}\n')
    await settle()
    assert b'"scope":"admin"' in owner.data and owner.data.count(b'"ok":true') == 2, owner.data
    assert simhw.level(15) == 1
    # More idle clients push out the other idle ones, never the owner.
    later = await connect_many(server, 4)
    assert all(p.closed for p in idle) and not owner.closed
    assert sum(p.closed for p in later) == 1, 'the oldest of the newcomers gave way to the last'
    assert server.dropped == 4, 'five closed, one console line: the rest wait to be counted in the next'
    server.close()
    await settle()


async def test_security_an_unauthenticated_connection_is_closed_after_10_s_and_an_authenticated_one_stays():
    server, clock = await board_with({'auth': {'tokens': [{'token': TOKEN, 'scope': 'read'}]}})
    idle = await connect(server)
    pinger = await connect(server)
    owner = await connect(server)
    pinger.send(b'{"action":"ping"}\n')  # a request, but no scope: still to be closed
    owner.send(b'{"action":"auth","token":"%s"}\n' % TOKEN.encode())
    await settle()
    clock.advance(9999)
    await settle()
    assert not idle.closed and not pinger.closed
    clock.advance(1)
    await settle()
    assert idle.closed and pinger.closed and not owner.closed
    assert server.sessions and len(server.sessions) == 1
    clock.advance(3600000)
    await settle()
    assert not owner.closed, 'an authenticated client may stay silent for hours'
    server.close()
    await settle()


async def test_security_without_tokens_a_client_that_sent_a_request_stays_and_full_means_refused():
    server, clock = await board_with({'auth': 'none', 'max_connections': 2})
    talker = await connect(server)
    silent = await connect(server)
    talker.send(b'{"action":"ping"}\n')
    await settle()
    newcomer = await connect(server)
    assert silent.closed and not talker.closed and not newcomer.closed
    newcomer.send(b'{"action":"ping"}\n')
    await settle()
    refused = await connect(server)
    assert refused.closed and refused.data == b'', 'both slots proven: the newcomer is closed unanswered'
    assert not talker.closed and not newcomer.closed
    clock.advance(20000)
    await settle()
    assert not talker.closed and not newcomer.closed
    server.close()
    await settle()
