# TLS streams as MicroPython gives them (shims/tls_sim.py): readinto answers None while mbedTLS
# waits for the rest of a handshake flight or of a record, and only 0 is the end of the stream.
# A direct-mode client over TLS gets its replies, and the hub link comes up over TLS.
import asyncio
import simhw
from fake_hub import Hub
from manual_clock import ManualClock
from scripted_session import ChunkReader, CollectingWriter
from tls_sim import TlsStream
from tether import config
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.link import HubLink
from tether.session import Session, readinto
from tether.start import start_board

TOKEN = 'pico-hub-token-0123456789abcdef'


def _board():
    simhw.reset()
    cfg = config.normalize({'pins': [{'pin': 15, 'name': 'relay', 'mode': 'output', 'value': 0}], 'auth': 'none'}, pico_w)
    return Board(cfg, ManualClock(), pico_w)


async def test_the_shim_answers_none_while_a_record_is_incomplete_and_0_only_at_the_end():
    s = TlsStream(ChunkReader([b'abc']), handshake=2)
    buf = bytearray(8)
    got = []
    for _ in range(5):
        got.append(await s.readinto(memoryview(buf)))
    assert got == [None, None, None, 3, None], got
    assert await s.readinto(memoryview(buf)) == 0, 'close_notify ends the stream'


async def test_readinto_waits_through_want_read_and_gives_0_only_at_the_end():
    s = TlsStream(ChunkReader([b'hello\n', b'world\n']), handshake=2)
    buf = bytearray(4)
    got = []
    while True:
        n = await readinto(s, memoryview(buf))
        assert n is not None, 'want-read leaked out of readinto'
        if n == 0:
            break
        got.append(bytes(buf[:n]))
    assert b''.join(got) == b'hello\nworld\n', got
    assert s.nones >= 4, 'the stream said want-read during the handshake and between records: %d' % s.nones


async def test_a_tls_client_gets_replies_after_the_handshake_and_across_split_records():
    b = _board()
    await start_board(b)
    reader = TlsStream(ChunkReader([b'{"action":"ping","id":"p1"}\n{"action":"ping",', b'"id":"p2"}\n']), handshake=2)
    writer = CollectingWriter()
    await Session(b, Dispatcher(b), reader, writer, 1024, tls=True).run()
    lines = [x for x in writer.data.split(b'\n') if x]
    assert len(lines) == 2 and b'"p1"' in lines[0] and b'"p2"' in lines[1], writer.data
    assert writer.closed, 'the end of the stream closes the connection'


async def test_the_hub_link_comes_up_over_tls_with_want_read_between_records():
    hub = Hub(TOKEN)
    b = _board()
    link = HubLink(b, Dispatcher(b), {'host': '127.0.0.1', 'port': 7341, 'device_id': 'pico', 'token': TOKEN})

    async def dial():
        r, w = await hub.dial()
        # The handshake itself ran in the pin check; a TLS 1.3 hub then sends session tickets.
        return TlsStream(r, handshake=2), w
    link._dial = dial
    await start_board(b)
    link.start()
    conn = await hub.accept()
    await conn.handshake()
    state = await conn.frame()
    assert state is not None and state['body']['event'] == 'state', 'the link never came up over TLS: %s' % link.last_error
    conn.send({'link': 'msg', 'seq': 1, 'ack': 1, 'body': {'action': 'write_pin', 'pin': 15, 'value': 1, 'timeout': 5, 'id': 'h1'}})
    reply = await conn.frame()
    assert reply['body']['id'] == 'h1' and reply['body']['ok'], reply
    assert simhw.level(15) == 1
    link.stop()
    await asyncio.sleep_ms(0)
