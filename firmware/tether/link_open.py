# Opening the hub link (docs/protocol.md §10.1, §10.5): the dial, with TLS and the pinned
# certificate when config/hub.json has a fingerprint, the hello, and the handshake in which the
# hub proves it knows the board's key before the board proves it in turn. tether/link.py loads
# this module for each connection it opens and drops it once the link is up or the attempt failed.
import asyncio
from tether import VERSION, auth
from tether.codec import decode, dumps
from tether.dial import Address, connect, quiet
from tether.errors import text
from tether.framing import LineBuffer
from tether.link import TLS_HANDSHAKE_MS, BadHub, Timeout
from tether.pipe import Pipe
from tether.session import readinto


def _refused(m):
    # A reject is not authenticated: it ends this attempt and changes nothing but the backoff.
    if m.get('link') == 'reject':
        err = m.get('error')
        err = err if isinstance(err, dict) else {}
        raise ValueError(text('hub_refused', (err.get('code'), err.get('message'))))


def pin_matches(got, pinned):
    # got, pinned: 64 lowercase hex digits each (config.fingerprint normalises the pin).
    return auth.same(got.encode(), pinned.encode())


async def _peer_der(w):
    # The DER bytes of the certificate the hub presented. CPython's stream has finished the
    # handshake and names its ssl object; MicroPython's keeps the TLS socket as .s and does the
    # handshake on its first read, so reads drive it (the hub says nothing before the hello).
    try:
        s = w.get_extra_info('ssl_object')
    except KeyError:
        s = w.s
    if not hasattr(s, 'getpeercert'):
        # Fail closed: a hub whose certificate cannot be checked is not talked to.
        raise BadHub(text('no_getpeercert'))
    buf = bytearray(1)
    while True:
        der = s.getpeercert(True)
        if der:
            return der
        if s.readinto(buf) is not None:
            raise ValueError(text('hub_spoke_in_tls'))
        await asyncio.sleep_ms(5)


async def open_link(link):
    # Dials the hub and proves the board to it: (reader, pipe, line buffer, opener of the hub's
    # sealed frames, [welcome, frames that came right behind it]), or raises.
    c = link.cfg
    r, w = await link._dial()
    pipe = Pipe(w)
    lines = LineBuffer(c.get('max_frame_bytes', 4096))
    try:
        # Commands still running finish first, so rx.last names only completed ones.
        await link._idle.wait()
        b = link.board
        nb = auth.nonce()
        hello = {'link': 'hello', 'protocol': 2, 'device_id': c['device_id'], 'nonce': nb,
                 'boot_id': b.boot_id, 'firmware': 'tether-mpy ' + VERSION, 'capabilities': b.capabilities(),
                 'rx': {'stream': link.stream, 'last': link.rx_done}, 'uptime_ms': b.uptime_ms(), 'max_frame': lines.max}
        if c.get('keepalive_ms'):
            hello['keepalive_ms'] = c['keepalive_ms']
        hello = dumps(hello)
        # Both proofs cover the hello's exact bytes: a hello altered on the way fails them.
        th = auth.digest_hex(hello)
        pipe.send(hello, b'\n')
        del hello
        try:
            opener, early = await asyncio.wait_for(handshake(link, r, lines, pipe, nb, th), link.handshake_ms / 1000)
        except asyncio.TimeoutError:
            raise Timeout(text('hub_no_welcome', (link.handshake_ms,)))
    except BaseException:
        pipe.close()
        raise
    return r, pipe, lines, opener, early


async def dial(link):
    # The hub's reader and writer, or Timeout (HubLink._dial, which tests replace).
    c = link.cfg
    tls = c.get('fingerprint')
    limit = TLS_HANDSHAKE_MS if tls else link.handshake_ms
    addr = None
    if link.net is not None:
        if link.addr is None:
            link.addr = Address(link.net, link.board, c['host'], c['port'], 'hub link')
        addr = await link.addr.get()
    if tls:
        # mbedTLS computes the handshake's keys without yielding, for seconds on a Pico W.
        await quiet(link.board, TLS_HANDSHAKE_MS, 'the TLS handshake', 'hub link')
    try:
        return await asyncio.wait_for(link._connect(addr), limit / 1000)
    except asyncio.TimeoutError:
        raise Timeout(text('hub_no_connection', (limit,)))


async def connect_tls(link, addr):
    # The reader and writer of a connection to the hub, through TLS with its certificate checked
    # against the pin when config/hub.json has one (HubLink._connect, which tests replace).
    c = link.cfg
    pin = c.get('fingerprint')
    if not pin:
        return await _open(link, addr, None)
    # The pin stands in for a certificate authority (protocol.md §10.5): a self-signed hub
    # certificate is fine, and only the one whose SHA-256 is pinned is talked to.
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if hasattr(ctx, 'check_hostname'):
        ctx.check_hostname = False  # CPython refuses CERT_NONE while this is on
    ctx.verify_mode = ssl.CERT_NONE
    r, w = await _open(link, addr, ctx)
    try:
        got = auth.digest_hex(await _peer_der(w))
        if not pin_matches(got, pin):
            raise BadHub(text('hub_cert_mismatch', (c['host'], c['port'], got, pin)))
    except BaseException:
        w.close()
        try:
            await w.wait_closed()
        except Exception:
            pass
        raise
    return r, w


async def _open(link, addr, ctx):
    c = link.cfg
    if link.net is None:
        return await asyncio.open_connection(c['host'], c['port'], ssl=ctx)
    return await connect(link.net, addr, c['host'], ctx)


async def handshake(link, r, lines, pipe, nb, th):
    # The challenge, the board's proof, then the sealed welcome (§10.1, §10.5). Returns the
    # opener of the hub's frames, and the welcome with whatever came right behind it in the
    # same read, opened and decoded.
    opener = None
    got = None
    while True:
        n = await readinto(r, lines.space())
        if n == 0:
            raise ValueError(text('hub_closed_handshake'))
        for frame in lines.feed(n):
            if got is not None:
                if frame is None:
                    raise ValueError(text('hub_oversize'))
                got.append(decode(opener.open(frame)))
            elif opener is None:
                # Until the hub has proved it knows K nothing may depend on K, and only a
                # challenge or a reject is expected.
                m = _challenge_or_reject(link, frame)
                nh = m['nonce']
                if not auth.proof_ok(m.get('proof'), auth.proof(link.key, auth.LINK_HUB, nb, nh, th)):
                    raise _bad_hub(link, text('hub_bad_proof') if 'proof' in m else text('hub_no_proof'))
                pipe.send(dumps({'link': 'auth', 'proof': auth.proof(link.key, auth.LINK_BOARD, nb, nh, th)}), b'\n')
                ks = auth.session_key(link.key, auth.LINK_SESSION, nb, nh)
                pipe.sealer = auth.Sealer(ks, 'b2h')
                opener = auth.Opener(ks, 'h2b')
            elif frame is not None and auth.sealed(frame):
                m = decode(opener.open(frame))
                if m.get('link') != 'welcome':
                    raise ValueError(text('hub_before_welcome', (m.get('link'),)))
                got = [m]
            else:
                # Only a reject may come unsealed now, and it ends this attempt.
                m = decode(frame) if frame is not None else {}
                _refused(m)
                raise ValueError(text('hub_unsealed'))
        if got is not None:
            return opener, got


def _challenge_or_reject(link, frame):
    try:
        m = decode(frame) if frame is not None else {}
    except Exception:
        m = {}
    _refused(m)
    if m.get('link') != 'challenge':
        raise _bad_hub(link, text('hub_not_challenge', (text('an_oversize_frame') if frame is None else m.get('link') or text('hub_not_link_msg'),)))
    if not auth.is_nonce(m.get('nonce')):
        raise _bad_hub(link, text('hub_bad_nonce'))
    return m


def _bad_hub(link, why):
    c = link.cfg
    return BadHub(text('hub_unproven', (c['host'], c['port'], why, c['device_id'], c['device_id'])))
