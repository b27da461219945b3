# Recomputes test/vectors/crypto.json with the firmware's tether/auth.py, from the inputs alone,
# and prints the results as one JSON line in the file's shape; test/firmware/crypto-vectors.test.ts
# runs this under CPython and MicroPython and compares every value with the file.
import json
from binascii import hexlify
from tether import auth


def _hex(b):
    return hexlify(b).decode()


def _seal_all(key, direction, items):
    s = auth.Sealer(key, direction)
    return [bytes(s.line((item['frame'].encode(), b'\n'))).decode() for item in items]


def _open_all(key, direction, items):
    o = auth.Opener(key, direction)
    return [bytes(o.open(memoryview(bytearray(item['sealed'].encode())))).decode() for item in items]


def _refused(key, line):
    try:
        auth.Opener(key, 'b2h').open(memoryview(bytearray(line.encode())))
    except auth.SealError:
        return True
    return False


def compute(v):
    out = {'hmac_sha256': [_hex(auth.Hmac(c['key_text'].encode()).digest(c['data_text'].encode())) for c in v['hmac_sha256']]}
    ln = v['link']
    k = auth.key_of(ln['token'])
    th = auth.digest_hex(ln['hello'].encode())
    nb = ln['board_nonce']
    nh = ln['hub_nonce']
    ks = auth.session_key(k, auth.LINK_SESSION, nb, nh)
    out['link'] = {
        'key': _hex(k),
        'hello_digest': th,
        'hub_proof': auth.proof(k, auth.LINK_HUB, nb, nh, th),
        'board_proof': auth.proof(k, auth.LINK_BOARD, nb, nh, th),
        'session_key': _hex(ks),
        'hub_to_board': _seal_all(ks, 'h2b', ln['hub_to_board']),
        'board_to_hub': _seal_all(ks, 'b2h', ln['board_to_hub']),
        'hub_to_board_opened': _open_all(ks, 'h2b', ln['hub_to_board']),
        'board_to_hub_opened': _open_all(ks, 'b2h', ln['board_to_hub']),
    }
    d = v['direct']
    k = auth.key_of(d['token'])
    nc = d['client_nonce']
    nb = d['board_nonce']
    kd = auth.session_key(k, auth.DIRECT_SESSION, nc, nb)
    out['direct'] = {
        'key': _hex(k),
        'client_proof': auth.proof(k, auth.DIRECT_CLIENT, nc, nb),
        'board_proof': auth.proof(k, auth.DIRECT_BOARD, nc, nb),
        'session_key': _hex(kd),
        'client_to_board': _seal_all(kd, 'c2b', d['client_to_board']),
        'board_to_client': _seal_all(kd, 'b2c', d['board_to_client']),
        'client_to_board_opened': _open_all(kd, 'c2b', d['client_to_board']),
        'board_to_client_opened': _open_all(kd, 'b2c', d['board_to_client']),
    }
    out['refused'] = [_refused(ks, r['line']) for r in v['refused']['lines']]
    return out


def main(path):
    with open(path) as fh:
        v = json.load(fh)
    print(json.dumps(compute(v)))
