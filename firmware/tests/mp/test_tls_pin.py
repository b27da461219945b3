# Pinning the hub's TLS certificate (docs/protocol.md §10.5): config/hub.json's fingerprint as
# people paste it, and the comparison the link makes. The TLS dial itself runs under CPython
# against the real hub (test/firmware/hub-tls.test.ts): MicroPython's WebAssembly port has no sockets.
from tether import auth, config
from tether.link_open import pin_matches

DER = b'\x30\x82\x01\x0a not a real certificate, only bytes to hash'
HEX = auth.digest_hex(DER)


def _openssl(h):
    # As `openssl x509 -fingerprint -sha256` prints it: upper case, a colon between bytes.
    return ':'.join(h[i:i + 2] for i in range(0, 64, 2)).upper()


def test_fingerprint_accepts_plain_hex_and_the_openssl_form():
    assert config.fingerprint(HEX) == HEX
    assert config.fingerprint(_openssl(HEX)) == HEX
    assert config.fingerprint('  ' + HEX.upper() + '\n') == HEX


def test_fingerprint_refuses_what_is_not_a_sha256():
    for bad in (HEX[:-1], HEX + '0', HEX[:-1] + 'g', '', 42, None, ['ab']):
        assert config.fingerprint(bad) is None, bad


def test_hub_json_keeps_the_normalised_pin_and_names_a_bad_one():
    hub = config.hub({'host': 'h', 'port': 1, 'fingerprint': _openssl(HEX)})
    assert hub['fingerprint'] == HEX
    assert 'fingerprint' not in config.hub({'host': 'h', 'port': 1})
    assert config.hub(None) is None
    try:
        config.hub({'host': 'h', 'port': 1, 'fingerprint': 'AB:CD'})
        raise AssertionError('a short fingerprint was accepted')
    except config.ConfigError as err:
        assert str(err).startswith('config/hub.json: fingerprint: expected the SHA-256'), str(err)


def test_only_the_pinned_certificate_matches():
    assert pin_matches(HEX, HEX)
    other = HEX[:-1] + ('1' if HEX.endswith('0') else '0')
    assert not pin_matches(HEX, other)
    assert not pin_matches(auth.digest_hex(DER + b'x'), HEX)
