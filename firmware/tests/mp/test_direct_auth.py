# Direct mode's challenge and response and sealed connections (docs/protocol.md §8.1) under both
# interpreters: the dispatcher's rules, then whole conversations through a Session over
# in-memory streams with the nonces of test/vectors/crypto.json ("direct"), so the client's side
# is known in advance and every sealed line can be checked byte for byte. Also `auth: none`.
import asyncio
import json
import simhw
from fake_connection import FakeConnection
from scripted_session import run_session
from manual_clock import ManualClock
from tether import auth, config
from tether.board import Board
from tether.boards import pico_w
from tether.dispatcher import ACTIONS, Dispatcher
from tether.start import start_board

# test/vectors/crypto.json, "direct".
TOKEN = 'admin-token-for-the-shed-0001'
NC = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'
NB = 'ffeeddccbbaa99887766554433221100'
CLIENT_PROOF = 'd4200eb6a4ee866c1bdd4c53065dd5b5bff3b5b9c2ce7bbdadbcc8bf61449681'
BOARD_PROOF = 'd560264a1df06cb872efb9d4951071681c1e6c03e6b80e21d3aec7ea8059c36a'
SEALED_WRITE = b'{"mac":"51c1ef22176a15d88808aefa385c944e","action":"write_pin","pin":2,"value":1,"timeout":5}\n'
SEALED_READ = b'{"mac":"9d5fc53dc5adc1edfc541a44b0bd1e1f","action":"read_pin","pin":2,"id":7}\n'
# A near miss of the token: same length, one character different.
NEAR_MISS = 'admin-token-for-the-shed-0002'
READ_TOKEN = 'read-token-for-the-shed-0001'


def _line(m):
    return json.dumps(m, separators=(',', ':')).encode() + b'\n'


CHALLENGE = _line({'action': 'challenge', 'nonce': NC})
AUTH_SEAL = _line({'action': 'auth', 'proof': CLIENT_PROOF, 'seal': True})


def board_cfg():
    return config.normalize({'pins': [{'pin': 2, 'mode': 'output', 'value': 0}],
                             'auth': {'tokens': [{'token': READ_TOKEN, 'scope': 'read'}, {'token': TOKEN, 'scope': 'admin'}]}}, pico_w)


async def dispatcher():
    simhw.reset()
    b = Board(board_cfg(), ManualClock(), pico_w)
    await start_board(b)
    return Dispatcher(b)


def _fixed_nonce(test):
    # The board's nonce of the vectors, for the length of one test.
    async def run():
        real = auth.nonce
        auth.nonce = lambda: NB
        try:
            return await test()
        finally:
            auth.nonce = real
    return run


# --- the dispatcher ---------------------------------------------------------------------

def test_challenge_is_listed_and_needs_no_scope():
    assert 'challenge' in ACTIONS and ACTIONS.index('challenge') == ACTIONS.index('auth') + 1, ACTIONS


async def test_a_challenge_gives_a_fresh_nonce_and_checks_the_clients():
    d = await dispatcher()
    c = FakeConnection(d)
    r = await d.handle({'action': 'challenge', 'nonce': NC, 'id': 1}, c)
    assert r['ok'] and auth.is_nonce(r['nonce']) and r['nonce'] != NC and r['id'] == 1, r
    assert c.pair == (NC, r['nonce'])
    r2 = await d.handle({'action': 'challenge', 'nonce': NC}, c)
    assert r2['nonce'] != r['nonce'] and c.pair == (NC, r2['nonce']), 'a new challenge replaces the pair'
    for bad in (NC.upper(), NC[:31], NC + '0', 12, None):
        r = await d.handle({'action': 'challenge', 'nonce': bad}, c)
        assert r['error']['code'] == 'bad_field' and r['error']['message'].startswith('nonce:'), r
    r = await d.handle({'action': 'challenge'}, c)
    assert r['error']['code'] == 'missing_field', r


@_fixed_nonce
async def test_security_a_proof_gives_the_tokens_scope_and_the_board_proves_it_knows_the_token():
    d = await dispatcher()
    c = FakeConnection(d)
    await d.handle({'action': 'challenge', 'nonce': NC}, c)
    r = await d.handle({'action': 'auth', 'proof': CLIENT_PROOF, 'id': 'a'}, c)
    assert r == {'action': 'auth', 'proof': '***', 'id': 'a', 'scope': 'admin', 'board_proof': BOARD_PROOF, 'ok': True}, r
    assert c.scope == 'admin' and c.seal_key is None, 'no seal asked'


@_fixed_nonce
async def test_security_each_challenge_serves_one_auth_accepted_or_not():
    d = await dispatcher()
    c = FakeConnection(d)
    r = await d.handle({'action': 'auth', 'proof': CLIENT_PROOF}, c)
    assert r['error']['code'] == 'unauthorized' and 'challenge' in r['error']['message'] and r['proof'] == '***', r
    await d.handle({'action': 'challenge', 'nonce': NC}, c)
    r = await d.handle({'action': 'auth', 'proof': auth.proof(auth.key_of(NEAR_MISS), auth.DIRECT_CLIENT, NC, NB)}, c)
    assert r['error']['code'] == 'unauthorized' and c.scope is None, r
    r = await d.handle({'action': 'auth', 'proof': CLIENT_PROOF}, c)
    assert r['error']['code'] == 'unauthorized' and 'challenge' in r['error']['message'], 'the pair was used up: %r' % (r,)
    await d.handle({'action': 'challenge', 'nonce': NC}, c)
    await d.handle({'action': 'auth', 'proof': 'x'}, c)
    r = await d.handle({'action': 'auth', 'proof': CLIENT_PROOF}, c)
    assert r['error']['code'] == 'unauthorized', 'even a malformed auth uses the pair up'
    assert c.scope is None


@_fixed_nonce
async def test_security_a_wrong_proof_leaves_the_scope_as_it_was():
    d = await dispatcher()
    c = FakeConnection(d)
    r = await d.handle({'action': 'auth', 'token': READ_TOKEN}, c)
    assert r['scope'] == 'read'
    await d.handle({'action': 'challenge', 'nonce': NC}, c)
    r = await d.handle({'action': 'auth', 'proof': '0' * 64}, c)
    assert r['error']['code'] == 'unauthorized' and c.scope == 'read', (r, c.scope)


async def test_auth_takes_a_token_or_a_proof_and_only_a_proof_can_seal():
    d = await dispatcher()
    c = FakeConnection(d)
    await d.handle({'action': 'challenge', 'nonce': NC}, c)
    r = await d.handle({'action': 'auth', 'token': TOKEN, 'proof': CLIENT_PROOF}, c)
    assert r['error']['code'] == 'bad_field' and r['token'] == '***' and r['proof'] == '***', r
    r = await d.handle({'action': 'auth'}, c)
    assert r['error']['code'] == 'missing_field', r
    for proof in (CLIENT_PROOF.upper(), CLIENT_PROOF[:63], 7):
        r = await d.handle({'action': 'auth', 'proof': proof}, c)
        assert r['error']['code'] == 'bad_field' and r['error']['message'].startswith('proof:'), r
    r = await d.handle({'action': 'auth', 'proof': CLIENT_PROOF, 'seal': 'yes'}, c)
    assert r['error']['code'] == 'bad_field' and r['error']['message'].startswith('seal:'), r
    assert not c.close_after, 'failed auths without seal keep the connection'
    r = await d.handle({'action': 'auth', 'token': TOKEN, 'seal': True}, c)
    assert r['error']['code'] == 'bad_field' and c.close_after and c.scope is None, r


async def test_a_board_with_auth_none_cannot_prove_a_token():
    simhw.reset()
    b = Board(config.normalize({'auth': 'none'}, pico_w), ManualClock(), pico_w)
    d = Dispatcher(b)
    c = FakeConnection(d)
    assert c.scope == 'admin'
    await d.handle({'action': 'challenge', 'nonce': NC}, c)
    r = await d.handle({'action': 'auth', 'proof': CLIENT_PROOF}, c)
    assert r['error']['code'] == 'unauthorized' and '"none"' in r['error']['message'], r


# --- whole connections ------------------------------------------------------------------

async def conversation(chunks):
    _, reader, writer = await run_session(board_cfg(), chunks)
    return writer.data.split(b'\n')[:-1], writer, reader


def _board_opener():
    return auth.Opener(auth.session_key(auth.key_of(TOKEN), auth.DIRECT_SESSION, NC, NB), 'b2c')


def _client_sealer():
    return auth.Sealer(auth.session_key(auth.key_of(TOKEN), auth.DIRECT_SESSION, NC, NB), 'c2b')


@_fixed_nonce
async def test_security_after_auth_with_seal_every_frame_is_sealed_both_ways():
    # One read holds them all: the auth's reply must switch the seal on between two frames.
    lines, writer, _ = await conversation([CHALLENGE + AUTH_SEAL + SEALED_WRITE, SEALED_READ])
    assert json.loads(lines[0]) == {'action': 'challenge', 'nonce': NB, 'ok': True}, lines[0]
    assert json.loads(lines[1]) == {'action': 'auth', 'proof': '***', 'seal': True, 'scope': 'admin', 'board_proof': BOARD_PROOF, 'ok': True}
    o = _board_opener()
    replies = [json.loads(bytes(o.open(memoryview(bytearray(line))))) for line in lines[2:]]
    assert replies == [
        {'action': 'write_pin', 'pin': 2, 'value': 1, 'timeout': 5, 'lease': {'value': 1, 'safe_value': 0, 'expires_in_s': 5}, 'ok': True},
        {'action': 'read_pin', 'pin': 2, 'id': 7, 'value': 1, 'ok': True},
    ], replies
    assert simhw.level(2) == 1


@_fixed_nonce
async def test_security_an_unsealed_or_altered_frame_on_a_sealed_connection_closes_it_with_nothing_run():
    plain = b'{"action":"write_pin","pin":2,"value":1,"timeout":5}\n'
    altered = SEALED_WRITE.replace(b'"timeout":5', b'"timeout":6')
    replayed = SEALED_READ  # number 1 presented as number 0
    for bad in (plain, altered, replayed):
        lines, writer, reader = await conversation([CHALLENGE + AUTH_SEAL, bad, b'{"action":"ping"}\n'])
        assert len(lines) == 2 and writer.closed, (bad, lines)
        assert simhw.level(2) == 0, 'the refused frame ran: %r' % bad
        assert reader.chunks, 'the board stopped reading at the refused frame'


@_fixed_nonce
async def test_security_a_failed_auth_with_seal_is_answered_then_the_connection_closes():
    wrong = _line({'action': 'auth', 'proof': '0' * 64, 'seal': True})
    lines, writer, reader = await conversation([CHALLENGE + wrong + b'{"action":"ping"}\n'])
    assert len(lines) == 2 and writer.closed, lines
    r = json.loads(lines[1])
    assert r['error']['code'] == 'unauthorized' and r['proof'] == '***', r


@_fixed_nonce
async def test_security_challenge_and_auth_on_a_sealed_connection_are_unsupported_and_the_seal_stays():
    s = _client_sealer()
    again = [bytes(s.line((_line(m)[:-1], b'\n'))) for m in (
        {'action': 'challenge', 'nonce': NC}, {'action': 'auth', 'token': TOKEN}, {'action': 'ping'})]
    lines, writer, _ = await conversation([CHALLENGE + AUTH_SEAL] + again)
    o = _board_opener()
    replies = [json.loads(bytes(o.open(memoryview(bytearray(line))))) for line in lines[2:]]
    assert [r['error']['code'] for r in replies[:2]] == ['unsupported', 'unsupported'], replies
    assert replies[1]['token'] == '***'
    assert replies[2] == {'action': 'ping', 'ok': True}, 'still sealed, still authenticated'


@_fixed_nonce
async def test_an_oversize_line_on_a_sealed_connection_is_answered_then_closes_it():
    lines, writer, _ = await conversation([CHALLENGE + AUTH_SEAL, b'{' + b'x' * 2000 + b'}\n', SEALED_WRITE])
    assert len(lines) == 3 and writer.closed, lines
    r = json.loads(bytes(_board_opener().open(memoryview(bytearray(lines[2])))))
    assert r['error']['code'] == 'frame_too_large', r
    assert simhw.level(2) == 0


# --- auth in the board config ----------------------------------------------------------

def test_a_config_without_tokens_or_auth_none_is_refused_naming_auth():
    for raw in ({}, {'auth': {}}, {'auth': {'tokens': []}}, {'auth': 'None'}, {'auth': False}):
        try:
            config.normalize(raw, pico_w, 'config/device.json')
            assert False, 'accepted %r' % (raw,)
        except config.ConfigError as err:
            message = str(err)
            assert message.startswith('config/device.json: ') and '\n  - auth' in message and '"auth": "none"' in message, message
    assert config.normalize({'auth': 'none'}, pico_w)['auth'] is None


async def test_auth_none_warns_at_start_that_anyone_may_drive_the_board():
    from tether import start
    printed = []
    real = start.__dict__.get('print')
    start.print = lambda *a: printed.append(' '.join(str(x) for x in a))
    try:
        simhw.reset()
        await start.build(config.normalize({'auth': 'none'}, pico_w), ManualClock(), pico_w, listen=False)
        simhw.reset()
        await start.build(board_cfg(), ManualClock(), pico_w, listen=False)
    finally:
        if real is None:
            del start.print
        else:
            start.print = real
    warned = [p for p in printed if 'any client on the network may drive this board' in p]
    assert len(warned) == 1 and '"auth": "none"' in warned[0], printed
    await asyncio.sleep_ms(0)
