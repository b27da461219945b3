# Following other boards without a hub (docs/firmware.md, Following other boards): this board is
# a protocol-v1 client of each peer in direct mode, and drives its own outputs from what the peer
# reports. Every local write is a lease renewed only while the peer keeps answering, so a peer
# that dies, or a network that drops, leaves the output at its safe value within lease_s.
# Imported only when the board config has peers.
import asyncio
import sys
import time
from micropython import const
from tether import auth
from tether.codec import decode, encode
from tether.dial import Address, Sockets, connect, jitter
from tether.errors import ProtoError
from tether.framing import LineBuffer
from tether.pipe import Pipe
from tether.session import readinto

DIAL_MS = const(3000)
BACKOFF_FIRST = const(200)
BACKOFF_MAX = const(30000)
# A reply echoes its request, and a reading carries every quantity: small on a peer with few sensors.
MAX_FRAME = const(1024)


def mapped(rule, value, last):
    # The local output's value for a reported value; last: what the rule gave before (or None).
    if rule['kind'] != 'sensor':
        return 1 - value if rule['invert'] else value
    g = rule['range']
    if g is not None:
        f = (value - g[0]) / (g[1] - g[0])
        f = 0 if f < 0 else 1 if f > 1 else f
        d = rule['duty']
        return round(d[0] + (d[1] - d[0]) * f, 4)
    on = rule['threshold']['on']
    off = rule['threshold']['off']
    # Between the two thresholds the output keeps what it had (off until a threshold is crossed).
    if (value >= on) if on > off else (value <= on):
        return 1
    if (value <= off) if on > off else (value >= off):
        return 0
    return last or 0


class Peer:
    def __init__(self, board, cfg):
        self.board = board
        self.cfg = cfg
        self.subs = {}  # the peer's subscription id -> the rules that follow it
        self.last = {}  # local pin -> the value last written
        self.up = False
        self.stopped = False
        self.connections = 0
        self.last_error = None
        self.said = []  # what this connection has printed
        self.ceiling = BACKOFF_FIRST
        self.pipe = None
        self.heard = 0
        self.dial_ms = DIAL_MS
        self.addr = None  # the peer's Address, at the first dial
        # CPython's open_connection closes its own socket on every failure (host tests only).
        self.net = Sockets() if sys.implementation.name == 'micropython' else None

    def start(self):
        self.task = asyncio.create_task(self.run())

    def stop(self):
        self.stopped = True
        if self.pipe is not None:
            self.pipe.close()

    async def run(self):
        while not self.stopped:
            before = self.last_error
            try:
                await self._once()
                self.last_error = 'the connection closed'
            except Exception as err:
                self.last_error = str(err) or repr(err)
            if self.last_error != before:
                # Once per kind of failure, not at every retry.
                print('tether: peer %s (%s:%d): %s; retrying' % (self.cfg['name'], self.cfg['host'], self.cfg['port'], self.last_error))
            if self.up:
                self.ceiling = BACKOFF_FIRST
            self.up = False
            if self.stopped:
                break
            await asyncio.sleep_ms(jitter(self.ceiling))
            self.ceiling = min(BACKOFF_MAX, self.ceiling * 2)

    async def _dial(self):
        c = self.cfg
        try:
            if self.net is None:
                return await asyncio.wait_for(asyncio.open_connection(c['host'], c['port']), self.dial_ms / 1000)
            if self.addr is None:
                self.addr = Address(self.net, self.board, c['host'], c['port'], 'peer ' + c['name'])
            # The lookup (for a name) is outside the dial's timer.
            ai = await self.addr.get()
            return await asyncio.wait_for(connect(self.net, ai, c['host']), self.dial_ms / 1000)
        except asyncio.TimeoutError:
            raise OSError('no connection to %s:%d within %d ms' % (c['host'], c['port'], self.dial_ms))

    async def _once(self):
        r, w = await self._dial()
        self.pipe = pipe = Pipe(w)
        lines = LineBuffer(MAX_FRAME)
        ticker = None
        try:
            opener = await self._auth(r, pipe, lines) if self.cfg['token'] else None
            self.subs = {}
            asked = []
            for rule in self.cfg['follow']:
                # One subscription per input pin or sensor, however many rules follow it.
                k = rule['kind']
                what = rule['pin'] if k == 'input' else rule['sensor']
                if k == 'output' or (k, what) in asked:
                    continue
                asked.append((k, what))
                if k == 'input':
                    pipe.send(encode({'action': 'subscribe', 'pin': what, 'edge': 'both'}))
                else:
                    pipe.send(encode({'action': 'subscribe', 'sensor': what, 'interval_ms': self.cfg['every_ms']}))
            self.up = True
            self.connections += 1
            self.said = []
            self.heard = time.ticks_ms()
            ticker = asyncio.create_task(self._poll(pipe))
            while not pipe.closing:
                n = await readinto(r, lines.space())
                if n == 0:
                    return
                self.heard = time.ticks_ms()
                for frame in lines.feed(n):
                    if frame is None:
                        raise ValueError('a line longer than %d bytes' % MAX_FRAME)
                    self._on(decode(opener.open(frame) if opener else frame))
        finally:
            if ticker is not None:
                ticker.cancel()
            self.pipe = None
            pipe.close()

    async def _reply(self, r, lines):
        # The next reply during authentication. The peer sends nothing unasked before the
        # subscriptions, so no frame can follow this one in the same read.
        while True:
            n = await readinto(r, lines.space())
            if n == 0:
                raise OSError('the board closed the connection during authentication')
            for frame in lines.feed(n):
                if frame is not None:
                    return decode(frame)

    async def _auth(self, r, pipe, lines):
        # Challenge and response (protocol.md §8.1): the token never crosses the network, the
        # peer proves it knows it too, and every later frame is sealed both ways.
        key = auth.key_of(self.cfg['token'])
        nc = auth.nonce()
        pipe.send(encode({'action': 'challenge', 'nonce': nc}))
        m = await asyncio.wait_for(self._reply(r, lines), DIAL_MS / 1000)
        nb = m.get('nonce')
        if not m.get('ok') or not auth.is_nonce(nb):
            raise ValueError('the board refused the challenge: %s' % _why(m))
        pipe.send(encode({'action': 'auth', 'proof': auth.proof(key, auth.DIRECT_CLIENT, nc, nb), 'seal': True}))
        ks = auth.session_key(key, auth.DIRECT_SESSION, nc, nb)
        pipe.sealer = auth.Sealer(ks, 'c2b')
        m = await asyncio.wait_for(self._reply(r, lines), DIAL_MS / 1000)
        if not m.get('ok'):
            raise ValueError('the board refused the token: %s' % _why(m))
        if not auth.proof_ok(m.get('board_proof'), auth.proof(key, auth.DIRECT_BOARD, nc, nb)):
            raise ValueError('the board could not prove it knows the token: another device answers at that address')
        return auth.Opener(ks, 'b2c')

    async def _poll(self, pipe):
        # Pins are asked every every_ms (an input's edges come at once besides); a peer silent
        # for two lease lengths is gone without a FIN (power cut), so the connection is dropped.
        c = self.cfg
        # The requests are the same at every tick: made once per connection.
        pins = []
        for rule in c['follow']:
            if rule['kind'] != 'sensor' and rule['pin'] not in pins:
                pins.append(rule['pin'])
        asks = [encode({'action': 'read_pin', 'pin': pin}) for pin in pins] or [b'{"action":"ping"}\n']
        while not pipe.closing:
            for line in asks:
                pipe.send(line)
            await asyncio.sleep_ms(c['every_ms'])
            if time.ticks_diff(time.ticks_ms(), self.heard) > 2000 * c['lease_s'] + c['every_ms']:
                self.last_error = 'no answer for %d s' % (2 * c['lease_s'])
                pipe.close()

    def _on(self, m):
        if 'event' in m and 'ok' not in m:
            kind = m['event']
            for rule in self.subs.get(m.get('sub'), ()):
                if kind == 'edge':
                    self._apply(rule, m.get('value'))
                elif kind == 'reading':
                    self._apply(rule, (m.get('values') or {}).get(rule['quantity']))
            # A sensor_error renews nothing: a faulty sensor lets the output go to safe.
            return
        action = m.get('action')
        if not m.get('ok'):
            # A rule the peer refuses (a sensor it lacks, a pin that is not an input) renews
            # nothing; the others go on. Said once, not at every poll.
            self._say('the board refused %s: %s' % (action, _why(m)))
            return
        if action == 'subscribe':
            self.subs[m['sub']] = [r for r in self.cfg['follow'] if r['kind'] == 'sensor' and m.get('sensor') == r['sensor']
                                   or r['kind'] == 'input' and m.get('pin') == r['pin']]
        elif action == 'read_pin':
            for rule in self.cfg['follow']:
                if rule['kind'] != 'sensor' and rule['pin'] == m.get('pin'):
                    self._apply(rule, m.get('value'))

    def _apply(self, rule, value):
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        b = self.board
        pin = rule['to']
        v = mapped(rule, value, self.last.get(pin))
        self.last[pin] = v
        try:
            if rule['pwm']:
                b.pwm(pin, b.pins[pin].act.frequency(), v, self.cfg['lease_s'])
            else:
                b.write_pin(pin, 1 if v else 0, self.cfg['lease_s'])
        except ProtoError as err:
            self._say('cannot drive pin %d: %s: %s' % (pin, err.code, err.message))

    def _say(self, why):
        # A rule's problem, printed once per connection however often it recurs (several rules'
        # problems may alternate at every poll).
        if why not in self.said:
            self.said.append(why)
            print('tether: peer %s: %s' % (self.cfg['name'], why))
        self.last_error = why


def _why(m):
    e = m.get('error')
    return '%s: %s' % (e.get('code'), e.get('message')) if isinstance(e, dict) else 'no reply'


def start(board, cfgs):
    # One client per peer, each with its own reconnect backoff.
    peers = [Peer(board, c) for c in cfgs]
    for p in peers:
        p.start()
    return peers
