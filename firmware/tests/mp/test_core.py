# The firmware core under both interpreters: framing, decoding, argument checks, the
# dispatcher with the board on the machine shims, leases on a hand-moved clock.
import asyncio
import json
import simhw
from manual_clock import ManualClock
from tether import config
from tether.board import Board
from tether.start import start_board
from tether.boards import pico_w
from tether.codec import decode, encode
from tether.dispatcher import Dispatcher, Subscriptions
from tether.errors import ProtoError, text
from tether.framing import LineBuffer


def frames(buf, data):
    # Feeds data as reads of at most the free space, as a socket would; returns the frames as
    # bytes (None for an oversize frame).
    out = []
    while data:
        space = buf.space()
        n = min(len(space), len(data))
        space[:n] = data[:n]
        data = data[n:]
        out.extend(None if f is None else bytes(f) for f in buf.feed(n))
    return out


def test_framing_splits_on_newline_and_keeps_partial_frames():
    b = LineBuffer(64)
    assert frames(b, b'{"a":1}\n{"b"') == [b'{"a":1}'], 'one whole frame, the rest held'
    assert frames(b, b':2}\r\n\n  \t\n') == [b'{"b":2}'], 'CRLF stripped, blank lines ignored'


def test_framing_utf8_split_across_reads():
    b = LineBuffer(64)
    data = '{"n":"\u00e9"}\n'.encode()
    assert frames(b, data[:7]) == []
    assert frames(b, data[7:]) == [data[:-1]]


def test_framing_oversize_is_refused_once_and_skipped_to_newline():
    b = LineBuffer(8)
    assert frames(b, b'0123456789') == [None], 'refused as soon as the limit is passed'
    assert frames(b, b'abc\n{"x":1}\n') == [b'{"x":1}'], 'the rest of the long line is skipped'
    assert frames(b, b'12345678\r\n') == [b'12345678'], 'exactly the limit is accepted'
    assert frames(b, b'123456789\n') == [None], 'one byte more is not'


def test_decode_errors_have_their_codes():
    for raw, code in ((b'\xff\n', 'bad_utf8'), (b'{"a":', 'bad_json'), (b'[1]', 'not_an_object'),
                      (b'42', 'not_an_object'), (b'[' * 40 + b']' * 40, 'bad_json')):
        try:
            decode(memoryview(raw))
            assert False, 'no error for %r' % raw
        except ProtoError as err:
            assert err.code == code, '%r gave %s, not %s' % (raw, err.code, code)


def test_messages_are_read_from_the_catalog_on_flash_when_reported():
    err = ProtoError('bad_field', 'no_such_pin', 40, 29)
    assert err.code == 'bad_field'
    assert err.wire() == {'code': 'bad_field', 'message': 'pin: 40 does not exist on this board (pins 0-29)'}, err.wire()
    # Quotes come back unescaped; a text with a space is the message itself.
    assert text('pin_is_actuator', (5, 'fan')) == 'pin 5 is the actuator "fan" from the board config; write to it with write_pin or pwm'
    assert ProtoError('internal', 'staging failed: %s', 'disk full').message == 'staging failed: disk full'
    # A key the catalog lacks (a partial update) still says what happened.
    assert text('no_such_key', (1, 'x')) == "no_such_key 1 'x'", text('no_such_key', (1, 'x'))


def test_decode_keeps_brackets_in_strings_and_echoes_inf_as_null():
    m = decode(memoryview(('{"s":"' + '[' * 50 + '","n":1e400}').encode()))
    assert m['s'] == '[' * 50
    assert m['n'] is None
    line = encode({'a': 1})
    assert line == b'{"a":1}\n', line


def board_and_dispatcher(raw=None):
    simhw.reset()
    raw = raw or {'max_lease_s': 60, 'pins': [{'pin': 20, 'name': 'led', 'mode': 'output', 'value': 0}]}
    raw.setdefault('auth', 'none')
    cfg = config.normalize(raw, pico_w)
    clock = ManualClock()
    b = Board(cfg, clock, pico_w)
    return b, Dispatcher(b), clock


class Client:
    def __init__(self, d):
        self.scope = d.initial_scope()
        self.subs = Subscriptions()
        self.events = []

    def emit(self, ev):
        self.events.append(ev)


async def test_dispatcher_checks_arguments_in_order_and_coerces_strings():
    b, d, clock = board_and_dispatcher()
    await start_board(b)
    c = Client(d)
    b.listeners.append(c)
    r = await d.handle({'action': 'setup_pin', 'pin': '2', 'mode': 'output', 'value': 'false'}, c)
    assert r['ok'] is True and r['pin'] == '2', r
    r = await d.handle({'action': 'write_pin', 'pin': 2.0, 'value': 1}, c)
    assert r['error']['code'] == 'missing_field', r
    r = await d.handle({'action': 'write_pin', 'pin': 'x', 'value': 7}, c)
    assert r['error']['code'] == 'bad_field' and r['error']['message'].startswith('pin:'), r
    r = await d.handle({'action': 'write_pin', 'pin': 2, 'value': True, 'timeout': 61}, c)
    assert r['error']['code'] == 'lease_too_long', r
    r = await d.handle({'action': 'nope'}, c)
    assert r['error']['code'] == 'unknown_action', r
    r = await d.handle({'action': 'setup_pin', 'pin': True, 'mode': 'output'}, c)
    assert r['error']['code'] == 'bad_field', 'a boolean is not a pin number'


async def test_a_pins_own_max_lease_only_lowers_the_boards():
    b, d, clock = board_and_dispatcher({'max_lease_s': 60, 'pins': [
        {'pin': 14, 'name': 'heater', 'mode': 'output', 'value': 0, 'max_lease_s': 10},
        {'pin': 15, 'name': 'fan', 'mode': 'output', 'value': 0, 'max_lease_s': 600}]})
    await start_board(b)
    c = Client(d)
    r = await d.handle({'action': 'write_pin', 'pin': 14, 'value': 1, 'timeout': 11}, c)
    assert r['error']['code'] == 'lease_too_long', r
    r = await d.handle({'action': 'write_pin', 'pin': 15, 'value': 1, 'timeout': 61}, c)
    assert r['error']['code'] == 'lease_too_long', 'a pin cannot raise the board maximum: %r' % (r,)
    r = await d.handle({'action': 'write_pin', 'pin': 15, 'value': 1, 'timeout': 60}, c)
    assert r['ok'] is True and r['lease']['expires_in_s'] == 60, r


async def test_a_pwm_lease_ends_at_the_safe_duty_on_the_pin():
    b, d, clock = board_and_dispatcher()
    await start_board(b)
    c = Client(d)
    b.listeners.append(c)
    r = await d.handle({'action': 'pwm', 'pin': 7, 'freq': 1000, 'duty': 0.3, 'timeout': 1}, c)
    assert r['ok'] is True, r
    clock.advance(500)
    r = await d.handle({'action': 'pwm', 'pin': 7, 'freq': 1000, 'duty': 0.7, 'timeout': 1}, c)
    assert r['ok'] is True, r
    assert simhw.pwm(7) == (1000, 45875), simhw.pwm(7)  # 0.7 of 65535, rounded half up
    clock.advance(1000)
    assert c.events == [{'event': 'lease_expired', 'pin': 7, 'value': 0, 'held': 0.7}], c.events
    assert simhw.pwm(7) == (1000, 0), 'the pin itself at duty 0: %r' % (simhw.pwm(7),)
    state = b.state()
    pin7 = [p for p in state['pins'] if p['pin'] == 7][0]
    assert pin7['duty'] == 0 and pin7['lease'] is None, 'the safe duty, not the one before the renewal nor 1 - duty: %r' % (pin7,)


async def test_lease_expires_to_the_safe_value_on_the_board_clock():
    b, d, clock = board_and_dispatcher()
    await start_board(b)
    c = Client(d)
    b.listeners.append(c)
    await d.handle({'action': 'setup_pin', 'pin': 2, 'mode': 'output', 'safe_value': 1}, c)
    r = await d.handle({'action': 'write_pin', 'pin': 2, 'value': 0, 'timeout': 1.5}, c)
    assert r['lease'] == {'value': 0, 'safe_value': 1, 'expires_in_s': 1.5}, r
    assert simhw.level(2) == 0
    clock.advance(1499)
    assert simhw.level(2) == 0 and not c.events
    clock.advance(1)
    assert simhw.level(2) == 1, 'the safe value, never 1 - value'
    assert c.events == [{'event': 'lease_expired', 'pin': 2, 'value': 1, 'held': 0}], c.events


async def test_a_new_write_replaces_the_lease():
    b, d, clock = board_and_dispatcher()
    await start_board(b)
    c = Client(d)
    b.listeners.append(c)
    await d.handle({'action': 'write_pin', 'pin': 20, 'value': 1, 'timeout': 1}, c)
    await d.handle({'action': 'write_pin', 'pin': 20, 'value': 1, 'timeout': 3}, c)
    clock.advance(2000)
    assert simhw.level(20) == 1 and not c.events, 'the first deadline is gone'
    r = await d.handle({'action': 'get_state'}, c)
    assert r['leases'] == [{'pin': 20, 'value': 1, 'expires_in_s': 1.0}], r['leases']
    await d.handle({'action': 'write_pin', 'pin': 20, 'value': 0}, c)
    clock.advance(5000)
    assert simhw.level(20) == 0 and not c.events, 'the safe value ended the lease without an event'


async def test_auth_scopes_and_the_token_is_never_echoed():
    b, d, clock = board_and_dispatcher({'auth': {'tokens': [{'token': 'read-token-0123456789', 'scope': 'read'}]}})
    await start_board(b)
    c = Client(d)
    r = await d.handle({'action': 'get_state'}, c)
    assert r['error']['code'] == 'unauthorized'
    r = await d.handle({'action': 'auth', 'token': 'wrong-token-0123456789'}, c)
    assert r['error']['code'] == 'unauthorized' and r['token'] == '***', r
    # After a wrong token the next auth waits 100 ms on the board's clock (protocol.md §8).
    box = []

    async def right():
        box.append(await d.handle({'action': 'auth', 'token': 'read-token-0123456789'}, c))
    task = asyncio.create_task(right())
    await asyncio.sleep(0)
    clock.advance(100)
    await task
    r = box[0]
    assert r['scope'] == 'read' and r['token'] == '***', r
    r = await d.handle({'action': 'setup_pin', 'pin': 2, 'mode': 'input'}, c)
    assert r['error']['code'] == 'unauthorized'


async def test_update_needs_the_boards_own_token():
    b, d, clock = board_and_dispatcher()
    await start_board(b)
    r = await d.handle({'action': 'update', 'op': 'status'}, Client(d))
    assert r['error']['code'] == 'unauthorized', 'a board without tokens takes no updates in direct mode'


async def test_edges_reach_a_pin_subscription_through_the_irq_ring():
    b, d, clock = board_and_dispatcher()
    await start_board(b)
    c = Client(d)
    await d.handle({'action': 'setup_pin', 'pin': 6, 'mode': 'input', 'pull': 'down'}, c)
    r = await d.handle({'action': 'subscribe', 'pin': 6, 'edge': 'rising'}, c)
    assert r['sub'] == 1, r
    simhw.drive(6, 1)
    simhw.drive(6, 0)
    for _ in range(3):
        await asyncio.sleep_ms(0)
    assert c.events == [{'event': 'edge', 'sub': 1, 'pin': 6, 'value': 1}], c.events


def test_config_reports_every_problem_with_its_path():
    try:
        config.normalize({'pins': [{'pin': 99, 'mode': 'sideways'}], 'bogus': 1, 'tls': {'cert': 1}}, pico_w)
        assert False, 'accepted'
    except config.ConfigError as err:
        message = str(err)
        for part in ('bogus: unknown key', 'pins[0].mode', 'pin 99 does not exist', 'tls: expected true'):
            assert part in message, message
    for tls in (True, {'cert': 'c.der'}, {'cert': 'c.der', 'key': 'k.der'}):
        assert config.normalize({'tls': tls, 'auth': 'none'}, pico_w)['tls'] == tls


def test_json_round_trip_of_a_reply_is_compact():
    line = encode({'ok': True, 'lease': None})
    assert json.loads(line) == {'ok': True, 'lease': None}
    assert b' ' not in line
