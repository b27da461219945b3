# tether/auth.py under both interpreters: HMAC-SHA256 beyond the vectors' short key, nonces,
# the constant-time compare, and sealed lines refused whatever part of them is wrong.
# (Every value of test/vectors/crypto.json: test/firmware/crypto-vectors.test.ts.)
from binascii import hexlify
from tether import auth


def _line(sealer, frame):
    return bytes(sealer.line((frame, b'\n')))


def test_hmac_with_a_key_longer_than_a_block_hashes_it_first():
    # RFC 4231 test case 6: a 131-byte key.
    key = b'\xaa' * 131
    data = b'Test Using Larger Than Block-Size Key - Hash Key First'
    assert hexlify(auth.Hmac(key).digest(data)) == b'60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'


def test_nonces_are_32_lowercase_hex_digits_and_fresh():
    a = auth.nonce()
    b = auth.nonce()
    assert auth.is_nonce(a) and auth.is_nonce(b) and a != b, (a, b)
    for bad in (a.upper(), a[:31], a + '0', 'g' * 32, None, 7, ''):
        assert not auth.is_nonce(bad), bad


def test_same_is_false_for_a_near_miss_and_for_another_length():
    assert auth.same(b'abcdef', b'abcdef')
    assert not auth.same(b'abcdef', b'abcdeg')
    assert not auth.same(b'abcdef', b'abcde')
    assert not auth.proof_ok(None, 'ab') and not auth.proof_ok('AB', 'ab') and auth.proof_ok('ab', 'ab')


def test_a_sealed_line_opens_in_order_and_only_in_its_direction():
    key = auth.key_of('a-token-of-sixteen-chars')
    s = auth.Sealer(key, 'b2h')
    first = _line(s, b'{"link":"ping"}')
    second = _line(s, b'{"link":"ack","ack":1}')
    assert first.startswith(b'{"mac":"') and first.endswith(b',"link":"ping"}\n'), first
    o = auth.Opener(key, 'b2h')
    assert bytes(o.open(memoryview(bytearray(first[:-1])))) == b'{"link":"ping"}'
    assert bytes(o.open(memoryview(bytearray(second[:-1])))) == b'{"link":"ack","ack":1}'
    for direction, line, why in (('h2b', first, 'reflected'), ('b2h', second, 'out of order')):
        try:
            auth.Opener(key, direction).open(memoryview(bytearray(line[:-1])))
            assert False, 'a %s line was accepted' % why
        except auth.SealError:
            pass


def test_a_frame_in_several_parts_seals_as_one():
    key = b'k' * 32
    whole = _line(auth.Sealer(key, 'h2b'), b'{"link":"msg","seq":1,"body":{"a":1}}')
    parts = bytes(auth.Sealer(key, 'h2b').line((b'{"link":"msg","seq":1,"body":', b'{"a":1}', b'}\n')))
    assert parts == whole, (parts, whole)


def test_every_malformed_seal_is_refused():
    key = b'k' * 32
    good = _line(auth.Sealer(key, 'c2b'), b'{"action":"ping"}')[:-1]
    cases = (
        good[:41] + b'}',                        # nothing after the seal but a brace
        b'{"mac":"' + good[8:40] + b'" ,' + good[42:],  # not `",` after the MAC
        b'{"MAC":"' + good[8:],                  # another field name
        good[:8] + good[8:40].upper() + good[40:],
        good[:-2] + b'1}',                       # the frame altered
        b'{"action":"ping"}',                    # not sealed
    )
    for line in cases:
        try:
            auth.Opener(key, 'c2b').open(memoryview(bytearray(line)))
            assert False, 'accepted %r' % line
        except auth.SealError:
            pass
