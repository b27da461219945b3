# Following other boards (tether/peers.py, docs/firmware.md "Following other boards"): the
# peers section of the config, the mapping from what a peer reports to a local output, local
# writes held by leases that lapse to the safe value, and dials that never keep a PCB.
import asyncio
import os
import time
import simhw
import lwip_sim
from manual_clock import ManualClock
from tether import config, peers
from tether.board import Board
from tether.boards import pico_w
from tether.start import start_board

TEST_TIMEOUT_MS = 15000


def _cfg(follow, **peer):
    p = {'name': 'a', 'host': '127.0.0.1', 'follow': follow}
    p.update(peer)
    return {'auth': 'none', 'actuators': [{'name': 'red', 'driver': 'pwm', 'pin': 16}],
            'pins': [{'pin': 15, 'name': 'led', 'mode': 'output', 'value': 0}], 'peers': [p]}


def _problems(raw):
    try:
        config.normalize(raw, pico_w)
    except config.ConfigError as err:
        return str(err)
    raise AssertionError('the config was accepted')


def test_config_normalizes_a_peer_with_its_defaults_and_local_pins():
    c = config.normalize(_cfg([{'input': 14, 'to': 'led'}, {'sensor': 'chip', 'quantity': 'temperature', 'to': 16, 'range': [20, 40]}]), pico_w)
    p = c['peers'][0]
    assert (p['port'], p['lease_s'], p['every_ms'], p['token']) == (12345, 3, 1000, None), p
    assert [(r['kind'], r['to'], r['pwm']) for r in p['follow']] == [('input', 15, False), ('sensor', 16, True)], p['follow']
    assert 'peers' not in config.normalize({'auth': 'none'}, pico_w)


def test_config_names_the_field_path_of_each_problem():
    text = _problems(_cfg([{'input': 14}, {'sensor': 'chip', 'quantity': 'temperature', 'to': 'led', 'range': [20, 40]},
                           {'output': 2, 'input': 3, 'to': 'red'}, {'sensor': 'chip', 'to': 'red'},
                           {'input': 5, 'to': 'red', 'threshold': {'on': 1, 'off': 0}}], lease_s=1, colour='red'))
    for line in ('peers[0].colour: unknown key', 'peers[0].lease_s: expected at least two every_ms',
                 'peers[0].follow[0].to: expected an actuator name', 'peers[0].follow[1].to: a range gives a duty',
                 'peers[0].follow[2]: expected exactly one of input, output or sensor',
                 'peers[0].follow[3].quantity: expected the quantity', 'peers[0].follow[3]: expected range',
                 'peers[0].follow[4]: an input rule copies the level'):
        assert line in text, (line, text)


def test_config_refuses_an_output_driven_twice_and_a_lease_over_the_maximum():
    text = _problems(_cfg([{'input': 14, 'to': 'led'}, {'output': 2, 'to': 15}], lease_s=7200))
    assert 'peers[0].follow[1].to: pin 15 is already driven by peers[0].follow[0]' in text, text
    assert 'peers[0].lease_s: longer than max_lease_s (3600 s)' in text, text


def test_config_refuses_a_lease_longer_than_the_outputs_own_maximum():
    raw = _cfg([{'input': 14, 'to': 'red'}], lease_s=3)
    raw['actuators'][0]['max_lease_s'] = 1
    text = _problems(raw)
    assert "peers[0].follow[0].to: its max_lease_s is 1 s, shorter than lease_s (3 s)" in text, text


async def test_several_refused_rules_are_each_printed_once():
    simhw.reset()
    cfg = config.normalize(_cfg([{'input': 20, 'to': 'led'}, {'input': 21, 'to': 'red'}]), pico_w)
    b = Board(cfg, ManualClock(), pico_w)
    await start_board(b)
    p = peers.Peer(b, cfg['peers'][0])
    lines = []
    # The module's own print, ahead of the builtin (MicroPython cannot swap sys.stdout).
    peers.print = lambda *a: lines.append(' '.join(str(x) for x in a))
    try:
        for _ in range(5):
            for pin in (20, 21):
                p._on({'action': 'read_pin', 'pin': pin, 'ok': False, 'error': {'code': 'pin_not_setup', 'message': 'pin %d' % pin}})
    finally:
        del peers.print
    assert len(lines) == 2 and all('refused read_pin' in t for t in lines), lines


def test_config_reads_the_token_from_a_file_and_says_when_it_cannot():
    with open('peer-test.token', 'w') as fh:
        fh.write('a-read-token-0123456789\n')
    try:
        c = config.normalize(_cfg([{'input': 14, 'to': 'led'}], token_file='peer-test.token'), pico_w)
    finally:
        os.remove('peer-test.token')
    assert c['peers'][0]['token'] == 'a-read-token-0123456789'
    text = _problems(_cfg([{'input': 14, 'to': 'led'}], token_file='no/such.token'))
    assert 'peers[0].token_file: cannot read no/such.token' in text, text
    text = _problems(_cfg([{'input': 14, 'to': 'led'}], token='short', token_file='no/such.token'))
    assert 'peers[0].token: give token or token_file, not both' in text, text


def _rule(**k):
    r = {'kind': 'sensor', 'invert': False, 'range': None, 'duty': [0, 1], 'threshold': None}
    r.update(k)
    return r


def test_mapping_copies_inverts_scales_clamps_and_holds_between_thresholds():
    pin = _rule(kind='input')
    assert peers.mapped(pin, 1, None) == 1 and peers.mapped(_rule(kind='input', invert=True), 1, None) == 0
    lin = _rule(range=[20, 40], duty=[0.2, 1])
    assert [peers.mapped(lin, v, None) for v in (10, 20, 30, 40, 50)] == [0.2, 0.2, 0.6, 1, 1]
    fan = _rule(threshold={'on': 35, 'off': 30})
    assert [peers.mapped(fan, v, None) for v in (29, 33, 36)] == [0, 0, 1]
    assert peers.mapped(fan, 33, 1) == 1 and peers.mapped(fan, 30, 1) == 0
    heater = _rule(threshold={'on': 18, 'off': 20})
    assert [peers.mapped(heater, v, None) for v in (17, 19, 21)] == [1, 0, 0]
    assert peers.mapped(heater, 19, 1) == 1


async def test_reports_drive_local_outputs_with_leases_that_lapse_to_safe():
    simhw.reset()
    clock = ManualClock()
    cfg = config.normalize(_cfg([{'input': 14, 'to': 'led'}, {'sensor': 'chip', 'quantity': 'temperature', 'to': 'red', 'range': [20, 40]}],
                                lease_s=2, every_ms=500), pico_w)
    b = Board(cfg, clock, pico_w)
    await start_board(b)
    p = peers.Peer(b, cfg['peers'][0])
    p._on({'action': 'subscribe', 'pin': 14, 'edge': 'both', 'sub': 1, 'ok': True})
    p._on({'action': 'subscribe', 'sensor': 'chip', 'interval_ms': 500, 'sub': 2, 'ok': True})
    p._on({'event': 'edge', 'sub': 1, 'pin': 14, 'value': 1, 'seq': 1, 'ts': 0})
    p._on({'event': 'reading', 'sub': 2, 'sensor': 'chip', 'values': {'temperature': 30}, 'units': {}, 'seq': 2, 'ts': 0})
    assert simhw.level(15) == 1 and abs(simhw.pwm(16)[1] / 65535 - 0.5) < 0.01, (simhw.level(15), simhw.pwm(16))
    assert b.leases.get(15)[0] == 1 and b.leases.get(16)[0] == 0.5
    p._on({'action': 'read_pin', 'pin': 99, 'ok': False, 'error': {'code': 'bad_field', 'message': 'no pin 99'}})
    assert 'refused read_pin: bad_field: no pin 99' in p.last_error, p.last_error
    clock.advance(1500)
    p._on({'action': 'read_pin', 'pin': 14, 'value': 1, 'ok': True})  # the poll renews the led's lease
    p._on({'event': 'sensor_error', 'sub': 2, 'sensor': 'chip', 'error': {'code': 'sensor_error', 'message': 'x'}})
    clock.advance(1000)
    assert simhw.level(15) == 1, 'a renewed lease holds'
    assert simhw.pwm(16)[1] == 0, 'a sensor error renews nothing: red back at its safe duty after lease_s'
    clock.advance(1100)
    assert simhw.level(15) == 0, 'no news from the peer: the led is back at its safe value after lease_s'


async def test_dials_to_an_unreachable_peer_close_their_sockets_and_back_off():
    simhw.reset()
    stack = lwip_sim.Stack()
    stack.hosts['10.9.9.9'] = 'unroutable'
    stack.hosts['10.9.9.8'] = 'blackhole'
    cfg = config.normalize(_cfg([{'input': 14, 'to': 'led'}], host='10.9.9.9'), pico_w)
    b = Board(cfg, ManualClock(), pico_w)
    await start_board(b)
    dead = peers.Peer(b, cfg['peers'][0])
    silent = peers.Peer(b, dict(cfg['peers'][0], host='10.9.9.8'))
    for p in (dead, silent):
        p.net = stack
        p.dial_ms = 20
        p.start()
    start = time.ticks_ms()
    while stack.dials < 10 and time.ticks_diff(time.ticks_ms(), start) < 8000:
        await asyncio.sleep_ms(10)
    dead.stop()
    silent.stop()
    assert stack.dials >= 10, stack.dials
    assert stack.exhausted == 0 and len(stack.open) <= 1, '%d PCBs held after %d dials' % (len(stack.open), stack.dials)
    assert 'within 20 ms' in silent.last_error, silent.last_error
    assert dead.ceiling > peers.BACKOFF_FIRST, 'failed dials raise the backoff ceiling'
