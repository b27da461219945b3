# Hub-mode link logic (docs/protocol.md §10.4) under both interpreters: the bounded outbox,
# serial-number arithmetic, delivering hub messages once and in order, and acknowledgements.
import asyncio
import json
import simhw
from manual_clock import ManualClock
from tether import config
from tether.board import Board
from tether.start import start_board
from tether.boards import pico_w
from tether.dispatcher import Dispatcher
from tether.link import HubLink, Outbox, seq_delta


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

    def send(self, data):
        self.sent.append(json.loads(data))


def linked():
    simhw.reset()
    cfg = config.normalize({'pins': [{'pin': 15, 'name': 'relay', 'mode': 'output', 'value': 0}]}, pico_w)
    b = Board(cfg, ManualClock(), pico_w)
    link = HubLink(b, Dispatcher(b), {'host': '127.0.0.1', 'port': 1, 'device_id': 'pico', 'token': 't'})
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
