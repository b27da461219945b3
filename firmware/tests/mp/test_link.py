# Hub-mode link logic under both interpreters: the handshake where the hub proves itself first
# and every later frame is sealed (docs/protocol.md §10.1, §10.5, §10.6), against a hub scripted
# by the test (fake_hub.py); the bounded outbox, serial-number arithmetic, delivering hub
# messages once and in order, and acknowledgements (§10.4).
import asyncio
import json
import simhw
from fake_hub import Hub
from manual_clock import ManualClock
from tether import auth, config
from tether.board import Board
from tether.start import start_board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.link import HubLink, Outbox, seq_delta

TOKEN = 'pico-hub-token-0123456789abcdef'
# A near miss: as long as the token, one character different.
NEAR_MISS = 'pico-hub-token-0123456789abcdeF'


def test_seq_delta_wraps_at_2_to_the_32():
    assert seq_delta(5, 7) == 2
    assert seq_delta(7, 5) == -2
    assert seq_delta(0xFFFFFFFF, 0) == 1, 'the number after 2^32 - 1 is 0'
    assert seq_delta(0, 0xFFFFFFFF) == -1


def test_outbox_drops_the_oldest_queued_reading_never_a_reply():
    ob = Outbox(3, 10000)
    ob.push(b'r1', True)
    ob.push(b'reply', False)
    ob.push(b'r2', True)
    ob.push(b'r3', True)
    assert [m[0] for m in ob.queued] == [b'reply', b'r2', b'r3'], ob.queued
    assert ob.dropped == 1
    ob.push(b'expiry', False)
    assert [m[0] for m in ob.queued] == [b'reply', b'r3', b'expiry'], ob.queued


def test_outbox_numbers_on_send_and_frees_on_ack():
    ob = Outbox(100, 10000)
    ob.last = 0xFFFFFFFE
    for i in range(3):
        ob.push(('m%d' % i).encode(), False)
    sent = list(ob.sendable())
    assert [n for n, _ in sent] == [0xFFFFFFFF, 0, 1], sent
    assert ob.ack(0) == 2, 'a cumulative ack across the wrap'
    assert [m[0] for m in ob.inflight] == [1]
    assert ob.ack(0) == 0, 'an old ack frees nothing'


def test_outbox_byte_budget_makes_readings_give_way():
    ob = Outbox(100, 20)
    ob.push(b'0123456789', True)
    ob.push(b'abcdefghij', True)
    ob.push(b'XYZ', False)
    assert [m[0] for m in ob.queued] == [b'abcdefghij', b'XYZ'] and ob.dropped == 1


class Pipe:
    def __init__(self):
        self.sent = []
        self.closing = False

    def send(self, data, *more):
        self.sent.append(json.loads(b''.join((data,) + more)))


def linked(hub=None, **extra):
    simhw.reset()
    cfg = config.normalize({'pins': [{'pin': 15, 'name': 'relay', 'mode': 'output', 'value': 0}], 'auth': 'none'}, pico_w)
    b = Board(cfg, ManualClock(), pico_w)
    hub_cfg = {'host': '127.0.0.1', 'port': 7341, 'device_id': 'pico', 'token': TOKEN}
    hub_cfg.update(extra)
    link = HubLink(b, Dispatcher(b), hub_cfg)
    if hub is not None:
        link._dial = hub.dial
    return b, link


async def test_hub_messages_run_once_in_order_and_are_acknowledged():
    b, link = linked()
    await start_board(b)
    link.worker = asyncio.create_task(link._worker())
    pipe = Pipe()
    link.pipe = pipe
    link.up = True
    msg = lambda n, body: {'link': 'msg', 'seq': n, 'ack': 0, 'body': body}
    assert link._on_frame(msg(1, {'action': 'ping', 'id': 'a'}), pipe)
    assert link._on_frame(msg(1, {'action': 'ping', 'id': 'dup'}), pipe), 'a duplicate is acknowledged again'
    assert link._on_frame(msg(2, {'action': 'write_pin', 'pin': 15, 'value': 1, 'timeout': 5, 'id': 'b'}), pipe)
    assert not link._on_frame(msg(4, {'action': 'ping'}), pipe), 'a gap closes the connection'
    for _ in range(5):
        await asyncio.sleep_ms(0)
    replies = [m['body'] for m in pipe.sent if m['link'] == 'msg']
    assert [r['id'] for r in replies] == ['a', 'b'], replies
    assert all(r['ok'] for r in replies)
    assert simhw.level(15) == 1
    assert pipe.sent[0] == {'link': 'ack', 'ack': 0}, 'the duplicate arrived before anything completed'
    assert replies and pipe.sent[-1]['ack'] == 2, pipe.sent[-1]
    link.worker.cancel()


async def test_events_in_hub_mode_carry_boot_id_and_no_seq():
    b, link = linked()
    await start_board(b)
    pipe = Pipe()
    link.pipe = pipe
    link.up = True
    b.emit({'event': 'lease_expired', 'pin': 15, 'value': 0, 'held': 1})
    body = pipe.sent[-1]['body']
    assert body['boot_id'] == b.boot_id and 'seq' not in body and body['ts'] == 0, body


def test_while_down_readings_queue_and_overflow_is_reported():
    b, link = linked()
    link.outbox = Outbox(4, 10000)
    for i in range(6):
        link.emit({'event': 'reading', 'sub': 1, 'sensor': 'air', 'values': {'t': i}, 'units': {'t': 'C'}})
    bodies = [json.loads(m[0]) for m in link.outbox.queued]
    reports = [x for x in bodies if x['event'] == 'events_dropped']
    readings = [x['values']['t'] for x in bodies if x['event'] == 'reading']
    assert len(reports) == 1, 'one report, counting up while it waits: %s' % bodies
    assert reports[0]['count'] + len(readings) == 6, bodies
    assert readings == sorted(readings) and readings[-1] == 5, 'the newest readings are kept, in order'


# --- the handshake and sealed frames, against the scripted hub ------------------------------

async def started(hub, **extra):
    b, link = linked(hub, **extra)
    await start_board(b)
    link.start()
    return b, link, await hub.accept()


def command(seq, **body):
    body.setdefault('action', 'write_pin')
    return {'link': 'msg', 'seq': seq, 'ack': 1, 'body': body}


WRITE = {'pin': 15, 'value': 1, 'timeout': 5, 'id': 'h1'}


async def test_the_hello_carries_a_fresh_nonce_and_max_frame_and_never_the_token():
    hub = Hub(TOKEN)
    b, link, conn = await started(hub, max_frame_bytes=2048)
    hello = await conn.read_hello()
    assert hello['link'] == 'hello' and hello['protocol'] == 2 and hello['device_id'] == 'pico', hello
    assert auth.is_nonce(hello['nonce']), hello['nonce']
    assert hello['max_frame'] == 2048 == link.cfg['max_frame_bytes'], 'the LineBuffer limit the board reads with'
    assert hello['rx'] == {'stream': None, 'last': 0} and hello['boot_id'] == b.boot_id, hello
    assert 'token' not in hello and TOKEN.encode() not in conn.hello, conn.hello
    link.stop()


async def test_after_the_hubs_proof_the_board_proves_itself_and_seals_every_frame():
    hub = Hub(TOKEN)
    b, link, conn = await started(hub)
    # check_auth: the board's proof covers both nonces and the hello's exact bytes.
    await conn.handshake()
    state = await conn.frame()
    assert state['link'] == 'msg' and state['seq'] == 1 and state['body']['event'] == 'state', state
    assert link.up and not link.bad_hub and link.connections == 1
    conn.send(command(1, **WRITE))
    reply = await conn.frame()
    assert reply['seq'] == 2 and reply['ack'] == 1 and reply['body']['id'] == 'h1' and reply['body']['ok'], reply
    assert simhw.level(15) == 1
    link.stop()
    assert await conn.frame() == {'link': 'close', 'reason': 'shutdown'}, 'the close is sealed too'


async def _refuses(hub_step, token=TOKEN):
    # The board must leave the hub at once, send it nothing more and obey nothing it sent.
    hub = Hub(token)
    b, link, conn = await started(hub)
    await conn.read_hello()
    hub_step(conn)
    conn.send_json(command(1, **WRITE))
    assert await conn.closed(), 'the board sent something after the hub failed to prove itself'
    assert simhw.level(15) == 0, 'a command from a hub that did not prove itself ran'
    assert link.bad_hub and not link.up
    assert link.last_error.startswith("hub 127.0.0.1:7341 did not prove it knows this board's key ("), link.last_error
    assert link.ceiling == 200, 'the backoff ceiling is raised: %d' % link.ceiling
    return hub, link, conn


async def test_security_a_hub_that_cannot_prove_the_key_is_left_before_the_board_proves_anything():
    await _refuses(lambda c: c.challenge(key=auth.key_of(NEAR_MISS)))
    await _refuses(lambda c: c.challenge(proof=None))
    await _refuses(lambda c: c.challenge(proof='0' * 64))

    def over_another_hello(c):
        # A hello altered on the way (here its uptime): the hub's proof covers what it received.
        c.th = auth.digest_hex(c.hello.replace(b'"uptime_ms":', b'"uptime_ms":1'))
        c.challenge()
    await _refuses(over_another_hello)

    def bad_nonce(c):
        c.nh = 'F' * 32
        c.send_json({'link': 'challenge', 'nonce': c.nh, 'proof': auth.proof(c.hub.key, auth.LINK_HUB, c.nb, c.nh, c.th)})
    await _refuses(bad_nonce)
    # No challenge at all: a welcome straight away, as a fake hub that skips the proof would.
    await _refuses(lambda c: c.send_json({'link': 'welcome', 'protocol': 2, 'session': 'x', 'keepalive_ms': 1000,
                                           'outage_ms': 3500, 'stream': 's1', 'ack': 0}))


async def test_after_a_bad_hub_the_board_dials_again_with_a_new_nonce_and_clears_the_pattern():
    hub, link, first = await _refuses(lambda c: c.challenge(key=auth.key_of(NEAR_MISS)))
    conn = await hub.accept()
    await conn.handshake()
    assert conn.nb != first.nb, 'a new nonce at every hello'
    await conn.frame()
    assert link.up and not link.bad_hub
    link.stop()


async def test_a_reject_is_not_a_bad_hub():
    hub = Hub(TOKEN)
    b, link, conn = await started(hub)
    await conn.read_hello()
    conn.send_json({'link': 'reject', 'error': {'code': 'rate_limited', 'message': 'too many hellos'}})
    assert await conn.closed()
    assert not link.bad_hub and 'rate_limited' in link.last_error, link.last_error
    link.stop()


async def _tampered(tamper, why):
    hub = Hub(TOKEN)
    b, link, conn = await started(hub)
    await conn.handshake()
    await conn.frame()
    tamper(conn, command(1, **WRITE))
    assert await conn.frame() is None, 'the board closed the connection'
    assert simhw.level(15) == 0, 'the %s command ran' % why
    assert why in link.last_error, link.last_error
    # The streams resume on the next connection: the command, sent again sealed, runs once.
    conn = await hub.accept()
    hello = await conn.handshake(ack=1)
    assert hello['rx'] == {'stream': 's1', 'last': 0}, 'nothing of the refused frame was delivered: %r' % (hello['rx'],)
    assert (await conn.frame())['body']['event'] == 'state'
    conn.send(command(1, **WRITE))
    reply = await conn.frame()
    assert reply['body']['id'] == 'h1' and reply['body']['ok'] and simhw.level(15) == 1, reply
    conn.send(command(1, **WRITE))
    assert await conn.frame() == {'link': 'ack', 'ack': 1}, 'a duplicate is acknowledged, not run again'
    link.stop()


def _altered(conn, m):
    line = bytes(conn.sealer.line((json.dumps(m, separators=(',', ':')).encode(), b'\n')))
    conn.send_raw(line.replace(b'"timeout":5', b'"timeout":9'))


async def test_security_an_unsealed_frame_after_the_welcome_closes_the_link_and_runs_nothing():
    await _tampered(lambda conn, m: conn.send_json(m), 'not sealed')


async def test_security_an_altered_frame_closes_the_link_and_runs_nothing():
    await _tampered(_altered, 'failed its MAC')


async def test_security_a_replayed_frame_closes_the_link():
    hub = Hub(TOKEN)
    b, link, conn = await started(hub)
    await conn.handshake()
    await conn.frame()
    line = bytes(conn.sealer.line((json.dumps({'link': 'ping'}, separators=(',', ':')).encode(), b'\n')))
    conn.send_raw(line)
    conn.send_raw(line)
    assert await conn.frame() is None and 'failed its MAC' in link.last_error, link.last_error
    link.stop()


async def _pipelined(n):
    # A linked board with a 4 KB outbox, sent n get_state commands at once (about 400 bytes a
    # reply: 64 of them are more than twice the budget), as the hub keeps up to 64 in flight.
    hub = Hub(TOKEN)
    b, link, conn = await started(hub, queue_bytes=4096)
    await conn.handshake()
    await conn.frame()
    _get_states(conn, 1, n)
    return hub, link, conn


def _get_states(conn, first, last, ack=1):
    for i in range(first, last + 1):
        conn.send({'link': 'msg', 'seq': i, 'ack': ack, 'body': {'action': 'get_state', 'id': i}})


async def _take_replies(conn, n):
    # As the hub does: each message acknowledged once it is taken. The replies' ids, in order.
    ids = []
    while len(set(ids)) < n:
        m = await asyncio.wait_for(conn.frame(), 2)
        if m is None:
            break
        if m['link'] == 'msg':
            if 'id' in m['body']:
                ids.append(m['body']['id'])
            conn.send({'link': 'ack', 'ack': m['seq']})
    return ids


async def test_a_hub_that_pipelines_commands_gets_every_reply_however_small_the_outbox():
    # Replies wait for room in the outbox as the hub acknowledges them, never lost past its
    # budget (protocol.md §10.4).
    hub, link, conn = await _pipelined(64)
    got = await _take_replies(conn, 64)
    assert got == list(range(1, 65)), 'replies %d of 64 (lost %d)' % (len(got), link.outbox.lost)
    assert link.outbox.lost == 0
    link.stop()


async def test_commands_waiting_for_room_when_the_link_drops_are_sent_again_not_run_into_the_void():
    # The hub took a few replies and acknowledged none when the connection dropped (a hub
    # restart, a WiFi glitch): the commands still waiting are not delivered, the hello says so
    # (rx.last), and once the hub sends them again every reply arrives, none lost, none twice.
    hub, link, conn = await _pipelined(64)
    got = []
    while len(got) < 5:
        m = await asyncio.wait_for(conn.frame(), 2)
        if m['link'] == 'msg':
            got.append(m['body']['id'])
    assert link.commands, 'commands wait for room in the outbox'
    conn.close()
    conn = await asyncio.wait_for(hub.accept(), 5)
    hello = await conn.handshake(ack=0)
    last = hello['rx']['last']
    assert 0 < last < 64, 'rx.last names only the commands that ran: %d' % last
    _get_states(conn, last + 1, 64, ack=0)
    ids = await _take_replies(conn, 64)
    assert sorted(ids) == list(range(1, 65)), 'each reply once: %r' % sorted(ids)
    assert link.outbox.lost == 0
    link.stop()


async def test_readings_waiting_in_the_outbox_do_not_hold_a_command_back():
    # Readings give way to a reply when the outbox is full, so a command never waits for them.
    hub = Hub(TOKEN)
    b, link, conn = await started(hub, queue=20)
    await conn.handshake()
    await conn.frame()
    for i in range(30):
        link.emit({'event': 'reading', 'sub': 1, 'sensor': 'air', 'values': {'t': i}, 'units': {'t': 'C'}})
    assert len(link.outbox.queued) + len(link.outbox.inflight) >= 20, 'the outbox is at its capacity'
    conn.send({'link': 'msg', 'seq': 1, 'ack': 0, 'body': {'action': 'ping', 'id': 'p'}})
    for _ in range(20):
        await asyncio.sleep_ms(5)
    assert not link.commands, 'the ping waited behind readings the outbox may drop'
    link.stop()


async def test_the_led_shows_bad_hub_while_the_last_hub_failed_its_proof():
    from tether import app
    from tether.led import Led

    class Server:
        srv = object()
        sessions = []

    class Link:
        bad_hub = True
        up = False

    class Board:
        sensors_down = 0
    led = Led(None)
    link = Link()
    watch = asyncio.create_task(app.watch(Board(), None, Server(), link, led, ManualClock()))
    await asyncio.sleep_ms(20)
    assert led.name == 'bad_hub', led.name
    link.bad_hub = False
    await asyncio.sleep_ms(600)
    assert led.name == 'idle', led.name
    watch.cancel()
