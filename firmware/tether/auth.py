# Challenge-response and sealed frames (docs/protocol.md §8.1 direct mode, §10.5 and §10.6 the
# hub link), byte for byte as src/protocol/auth.ts; test/vectors/crypto.json holds both to it.
# MicroPython's hashlib has sha256 with update and digest only (no hmac module, no copy), so
# HMAC-SHA256 (RFC 2104) is built here from two hashes with the key's pads kept per key.
import hashlib
from binascii import hexlify
from micropython import const
from tether.fields import lower_hex
from tether.errors import text

try:
    from os import urandom
except ImportError:
    # rp2 and esp32 have os.urandom (their hardware RNG); the WebAssembly port the unit tests
    # run under does not, and its random module is the nearest it has.
    from random import getrandbits

    def urandom(n):
        return bytes(getrandbits(8) for _ in range(n))

LINK_HUB = 'tether-link-1 hub'
LINK_BOARD = 'tether-link-1 board'
LINK_SESSION = 'tether-link-1 session'
DIRECT_CLIENT = 'tether-auth-1 client'
DIRECT_BOARD = 'tether-auth-1 board'
DIRECT_SESSION = 'tether-auth-1 session'

_BLOCK = const(64)
MAC_HEX = const(32)
# A sealed line: {"mac":"<32 hex>", then the frame after its own `{`.
_HEAD = b'{"mac":"'
_REST = const(42)  # where the frame's fields start in a sealed line: len(_HEAD) + MAC_HEX + 2


def key_of(token):
    # The key both sides hold for a token: SHA-256 of its UTF-8 bytes.
    return hashlib.sha256(token.encode()).digest()


def digest_hex(data):
    return hexlify(hashlib.sha256(data).digest()).decode()


def nonce():
    return hexlify(urandom(16)).decode()


def is_nonce(value):
    return isinstance(value, str) and len(value) == 32 and lower_hex(value)


def same(a, b):
    # Constant time for equal lengths: timing must not tell how much of a secret matched.
    diff = len(a) ^ len(b)
    for i in range(min(len(a), len(b))):
        diff |= a[i] ^ b[i]
    return diff == 0


def proof_ok(given, expected):
    # given: whatever the peer sent; expected: the proof as text.
    return isinstance(given, str) and same(given.encode(), expected.encode())


class Hmac:
    # HMAC-SHA256 under one key; the two padded keys are made once, not per message.
    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        inner = bytearray(_BLOCK)
        outer = bytearray(_BLOCK)
        for i in range(_BLOCK):
            k = key[i] if i < len(key) else 0
            inner[i] = k ^ 0x36
            outer[i] = k ^ 0x5C
        self.inner = bytes(inner)
        self.outer = bytes(outer)

    def start(self):
        # The inner hash, keyed: the caller updates it with the message, then calls finish.
        return hashlib.sha256(self.inner)

    def finish(self, h):
        o = hashlib.sha256(self.outer)
        o.update(h.digest())
        return o.digest()

    def digest(self, data):
        h = self.start()
        h.update(data)
        return self.finish(h)


def proof(key, label, *parts):
    # hex(HMAC(key, label + " " + parts joined by spaces)), as text.
    return hexlify(Hmac(key).digest(' '.join((label,) + parts).encode())).decode()


def session_key(key, label, first, second):
    return Hmac(key).digest(('%s %s %s' % (label, first, second)).encode())


class SealError(Exception):
    # The line is not sealed, or its MAC is wrong: its connection closes, nothing in it runs.
    pass


class Sealer:
    # Seals the frames one side sends, numbered from 0 (§10.6).
    def __init__(self, key, direction):
        self.mac = Hmac(key)
        self.direction = direction
        self.n = 0

    def line(self, parts):
        # parts: bytes-likes that together are one frame (a JSON object with at least one field)
        # and its '\n'. Returns the sealed line, '\n' included, built in one buffer.
        size = 0
        for p in parts:
            size += len(p)
        out = bytearray(size + _REST - 1)
        mv = memoryview(out)
        h = self.mac.start()
        h.update(('%s %d ' % (self.direction, self.n)).encode())
        at = _REST
        last = len(parts) - 1
        for i, p in enumerate(parts):
            pv = memoryview(p)
            h.update(pv[:-1] if i == last else pv)
            if i == 0:
                pv = pv[1:]
            mv[at:at + len(pv)] = pv
            at += len(pv)
        self.n += 1
        mv[0:8] = _HEAD
        mv[8:_REST - 2] = hexlify(self.mac.finish(h))[:MAC_HEX]
        mv[_REST - 2:_REST] = b'",'
        return out


class Opener:
    # Checks the frames one side receives, in order, and gives back each frame without its seal.
    def __init__(self, key, direction):
        self.mac = Hmac(key)
        self.direction = direction
        self.n = 0

    def open(self, line):
        # line: a writable memoryview of one line without its line ending (a LineBuffer frame).
        # The frame is rebuilt in place, over the seal's last byte: no copy of the frame is made.
        # Returns the frame as a memoryview of the same buffer; raises SealError.
        if len(line) < _REST + 1 or bytes(line[0:8]) != _HEAD or line[_REST - 2] != 0x22 or line[_REST - 1] != 0x2C:
            raise SealError(text('frame_unsealed', (self.n,)))
        given = bytes(line[8:_REST - 2])
        line[_REST - 1] = 0x7B  # '{'
        frame = line[_REST - 1:]
        h = self.mac.start()
        h.update(('%s %d ' % (self.direction, self.n)).encode())
        h.update(frame)
        if not same(given, hexlify(self.mac.finish(h))[:MAC_HEX]):
            raise SealError(text('frame_bad_mac', (self.n,)))
        self.n += 1
        return frame


def sealed(line):
    # Whether a line claims a seal; the link uses it to tell a sealed welcome from a reject.
    return bytes(line[0:8]) == _HEAD
