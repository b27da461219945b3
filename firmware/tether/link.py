# Hub mode (docs/protocol.md §10): the board dials the hub and keeps the link up. The hub proves
# it knows the board's key before the board proves it in turn, and every frame after that is
# sealed (§10.5, §10.6); the token itself never leaves the board. Commands from the hub run
# through the same dispatcher as direct connections, one after another; replies and events go
# back as numbered must-arrive messages, kept in a bounded RAM queue during outages.
import asyncio
import sys
import time
from micropython import const
from tether import auth, drop
from tether.errors import text
from tether.codec import decode, dumps, encode
from tether.dial import Sockets, jitter
from tether.dispatcher import Subscriptions
from tether.session import DROPPABLE, readinto

HANDSHAKE_MS = const(750)
# A TLS handshake costs a microcontroller far more than TCP (protocol.md §1 allows 10 s).
TLS_HANDSHAKE_MS = const(10000)
BACKOFF_FIRST = const(100)
BACKOFF_MAX = const(30000)
# Timeouts in a row retried at once before they back off like failures (protocol.md §10.3).
QUICK_TIMEOUTS = const(3)
WINDOW = const(16)
_MOD = 1 << 32


def seq_delta(a, b):
    # How far b is ahead of a, in 32-bit serial-number arithmetic (RFC 1982).
    d = (b - a) % _MOD
    return d - _MOD if d >= _MOD // 2 else d


def _ack(n):
    return ('{"link":"ack","ack":%d}\n' % n).encode()


class Timeout(Exception):
    pass


class BadHub(Exception):
    # The peer did not prove it knows the board's key: a fake hub, or the token in config/hub.json
    # is not the one the hub registered. Nothing from that connection is obeyed.
    pass


class Outbox:
    # Queued messages (not yet numbered) and sent ones until the hub acknowledges them. A number
    # is given only when a message is first sent, so dropping a queued reading leaves no gap.
    def __init__(self, capacity, max_bytes):
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.queued = []  # [body bytes, droppable]
        self.inflight = []  # [seq, body bytes]
        self.bytes = 0
        self.last = 0
        self.dropped = 0
        self.lost = 0

    def push(self, body, droppable):
        size = len(body)
        while len(self.queued) + len(self.inflight) >= self.capacity or self.bytes + size > self.max_bytes:
            i = 0
            while i < len(self.queued) and not self.queued[i][1]:
                i += 1
            if i == len(self.queued):
                if droppable or self.bytes + size > 2 * self.max_bytes:
                    # No reading left to give way; past twice the budget even a reply is lost.
                    self.lost += 0 if droppable else 1
                    self.dropped += 1 if droppable else 0
                    return
                break
            self.bytes -= len(self.queued.pop(i)[0])
            self.dropped += 1
        self.queued.append([body, droppable])
        self.bytes += size

    def sendable(self):
        while self.queued and len(self.inflight) < WINDOW:
            body = self.queued.pop(0)[0]
            self.last = (self.last + 1) % _MOD
            self.inflight.append([self.last, body])
            yield self.last, body

    def ack(self, n):
        freed = 0
        while self.inflight and seq_delta(self.inflight[0][0], n) >= 0:
            self.bytes -= len(self.inflight.pop(0)[1])
            freed += 1
        return freed

    def full(self):
        # Whether a reply pushed now could go past the budget: queued readings give way to it
        # (push), numbered messages and other replies do not.
        kept = self.bytes
        n = len(self.inflight)
        for body, droppable in self.queued:
            if droppable:
                kept -= len(body)
            else:
                n += 1
        return kept >= self.max_bytes or n >= self.capacity

    def restart(self):
        self.queued = []
        self.inflight = []
        self.bytes = 0
        self.last = 0


class HubLink:
    hub = True  # the hub proved it knows the board's key: OTA updates are allowed
    scope = 'admin'

    def __init__(self, board, dispatcher, cfg):
        self.board = board
        self.dispatcher = dispatcher
        self.cfg = cfg
        self.key = auth.key_of(cfg['token'])
        self.subs = Subscriptions()
        self.outbox = Outbox(cfg.get('queue', 48), cfg.get('queue_bytes', 8192))
        self.stream = None  # the hub's stream id to us, and what we delivered and completed of it
        self.rx_last = 0
        self.rx_done = 0
        self.acked = 0
        self.pipe = None
        self.up = False
        self.stopped = False
        self.ceiling = BACKOFF_FIRST
        self.timeouts = 0  # attempts in a row that timed out
        self.commands = []
        self._work = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.connections = 0
        self.last_error = None
        self.bad_hub = False  # the last hub dialled failed its proof: the LED shows bad_hub
        self._report = None  # [outbox entry, count] of the events_dropped report still queued
        # CPython's open_connection closes its own socket on every failure (host tests only).
        self.net = Sockets() if sys.implementation.name == 'micropython' else None
        self.handshake_ms = HANDSHAKE_MS
        self.addr = None  # the hub's Address, at the first dial
        board.listeners.append(self)
        board.reset_listeners.append(self._reset)

    # --- what the dispatcher and the board see ------------------------------------------

    def emit(self, event):
        body = dict(event)
        body['ts'] = self.board.uptime_ms()
        body['boot_id'] = self.board.boot_id
        self._queue(dumps(body), event['event'] in DROPPABLE)

    def _queue(self, data, droppable):
        # data: a message's body, as JSON bytes.
        ob = self.outbox
        ob.push(data, droppable)
        while ob.dropped:
            # Store-and-forward is bounded: say how many readings gave way (§10.4), in one report
            # while it waits, so that reports do not push out readings themselves.
            n = ob.dropped
            ob.dropped = 0
            r = self._report
            if r is not None and any(e is r[0] for e in ob.queued):
                r[1] += n
                new = self._drop_body(r[1])
                ob.bytes += len(new) - len(r[0][0])
                r[0][0] = new
            else:
                ob.push(self._drop_body(n), False)
                if ob.queued:
                    self._report = [ob.queued[-1], n]
        self._flush()

    def _drop_body(self, n):
        return dumps({'event': 'events_dropped', 'ts': self.board.uptime_ms(), 'boot_id': self.board.boot_id, 'count': n})

    def _flush(self):
        if self.up and self.pipe is not None:
            for n, body in self.outbox.sendable():
                self._write_msg(n, body)

    def _write_msg(self, n, body):
        self.acked = self.rx_done
        self.pipe.send(('{"link":"msg","seq":%d,"ack":%d,"body":' % (n, self.acked)).encode(), body, b'}\n')

    def _reset(self):
        # A reset is a new boot: the link state goes, as it would on any board that restarts.
        self._close('reset')

    def _close(self, reason):
        if self.pipe is not None:
            self.pipe.send(encode({'link': 'close', 'reason': reason}))
            self.pipe.close()

    # --- the dial loop ------------------------------------------------------------------

    def start(self):
        self.task = asyncio.create_task(self.run())
        self.worker = asyncio.create_task(self._worker())

    async def run(self):
        while not self.stopped:
            silent = False
            try:
                await self._once()
                self.last_error = 'link closed'
            except Timeout as err:
                silent = True
                self.last_error = str(err)
            except BadHub as err:
                self.bad_hub = True
                self.last_error = str(err)
                print(err)
            except auth.SealError as err:
                self.last_error = 'hub link: ' + str(err)
                print(self.last_error + '; reconnecting')
            except Exception as err:
                self.last_error = repr(err)
            self.up = False
            if self.stopped:
                break
            await asyncio.sleep_ms(self.backoff(silent))

    def backoff(self, silent):
        # Full jitter under a ceiling that doubles to 30 s, back to 100 ms after a welcome
        # (protocol.md §10.3). A timed-out attempt may have lost its hello to a glitch: the first
        # few in a row try again within the first ceiling, without raising it (the timeout itself
        # spaced them); a hub black-holed for longer is dialled less and less often.
        if silent:
            if self.timeouts < QUICK_TIMEOUTS:
                self.timeouts += 1
                return jitter(BACKOFF_FIRST)
        else:
            self.timeouts = 0
        wait = jitter(self.ceiling)
        self.ceiling = min(BACKOFF_MAX, self.ceiling * 2)
        return wait

    async def _opened(self):
        # Dialling, the hello and the handshake live in tether/link_open.py, in RAM only while a
        # connection opens: a linked board does not keep their bytecode.
        from tether import link_open
        try:
            return await link_open.open_link(self)
        finally:
            drop('link_open')

    async def _dial(self):
        # The hub's reader and writer, or Timeout. Tests that script the hub replace this.
        from tether import link_open
        return await link_open.dial(self)

    async def _connect(self, addr):
        from tether import link_open
        return await link_open.connect_tls(self, addr)

    async def _once(self):
        r, pipe, lines, opener, early = await self._opened()
        b = self.board
        try:
            welcome = early.pop(0)
            if welcome['stream'] != self.stream:
                self.stream = welcome['stream']
                self.rx_last = self.rx_done = 0
            self.outbox.ack(welcome['ack'])
            self.pipe = pipe
            self.up = True
            self.bad_hub = False
            self.ceiling = BACKOFF_FIRST
            self.timeouts = 0
            self.connections += 1
            self.acked = self.rx_done
            for n, body in self.outbox.inflight:
                self._write_msg(n, body)
            # Reconciliation: the hub learns what the board really has, leases with their time left.
            state = b.state()
            state['event'] = 'state'
            state['ts'] = b.uptime_ms()
            # Encoded and dropped in statements of their own: this coroutine stays suspended for
            # the whole connection, and what its stack slots last held stays with it (_worker).
            data = dumps(state)
            state = None
            self._queue(data, False)
            for m in early:
                if not self._on_frame(m, pipe):
                    return
            await self._channel(r, pipe, opener, lines, welcome['keepalive_ms'], welcome['outage_ms'])
        finally:
            self.up = False
            self.pipe = None
            pipe.close()
            if self.commands:
                # Commands not started yet (waiting for room in the outbox) were not delivered:
                # the hub sends them again from the hello's rx.last on the next connection (§10.4),
                # instead of their replies piling up past the budget while nobody can take them.
                self.rx_last = (self.commands[0][0] - 1) % _MOD
                self.commands = []
                self._work.set()

    async def _channel(self, r, pipe, opener, lines, keepalive, outage):
        # Link timing is real time, never the board clock a test may hold still.
        last = [time.ticks_ms(), time.ticks_ms()]  # received, sent

        def sent():
            last[1] = time.ticks_ms()
        pipe.on_sent = sent
        ticker = asyncio.create_task(self._tick(pipe, last, keepalive, outage))
        try:
            while self.up and not pipe.closing:
                n = await readinto(r, lines.space())
                if n == 0:
                    return
                last[0] = time.ticks_ms()
                for frame in lines.feed(n):
                    if frame is None:
                        # Longer than the hello's max_frame (§10.7): the hub fails that command.
                        return
                    # A frame that is not sealed, or fails its MAC, ends the connection before
                    # anything in it runs; the streams resume on the next one (§10.6).
                    if not self._on_frame(decode(opener.open(frame)), pipe):
                        return
        finally:
            ticker.cancel()

    async def _tick(self, pipe, last, keepalive, outage):
        # Pings only when idle; silence for outage_ms means the link is gone (§10.3).
        period = max(10, min(keepalive, outage) // 4)
        while True:
            await asyncio.sleep_ms(period)
            now = time.ticks_ms()
            if time.ticks_diff(now, last[0]) >= outage:
                self.up = False
                pipe.close()
                return
            if time.ticks_diff(now, last[1]) >= keepalive:
                pipe.send(b'{"link":"ping"}\n')
                last[1] = now

    def _on_frame(self, m, pipe):
        kind = m.get('link')
        if kind == 'msg':
            if 'ack' in m and self.outbox.ack(m['ack']):
                self._taken()
            d = seq_delta(self.rx_last, m['seq'])
            if d == 1:
                self.rx_last = m['seq']
                self.commands.append((m['seq'], m['body']))
                self._idle.clear()
                self._work.set()
            elif d <= 0:
                pipe.send(_ack(self.rx_done))
            else:
                return False  # a gap: one TCP connection never skips; reconnect and resend
        elif kind == 'ack':
            if self.outbox.ack(m['ack']):
                self._taken()
        elif kind == 'close':
            return False
        elif kind != 'ping':
            return False
        return True

    def _taken(self):
        # The hub acknowledged messages: the next ones go out, and a command waiting for room runs.
        self._flush()
        self._work.set()

    async def _worker(self):
        # Commands run one after another, on or off the link; each reply goes back as a message.
        while True:
            if not self.commands:
                self._idle.set()
                self._work.clear()
                await self._work.wait()
                continue
            if self.up and self.outbox.full():
                # Replies are never dropped (protocol.md §10.4): while the hub is there to take
                # them, a command waits for room in the outbox instead of pushing its reply past the
                # budget, and the hub, its commands unacknowledged, sends no more than its window.
                self._work.clear()
                await self._work.wait()
                continue
            n, body = self.commands.pop(0)
            try:
                reply = await self.dispatcher.handle(body, self)
                self.rx_done = n
                # The request and reply go before the worker waits again: a suspended coroutine
                # keeps whatever its locals and stack slots last held, and the last reply would
                # stay wherever it was made, often in the largest free block (as in Session.run).
                data = dumps(reply)
                body = reply = None
                self._queue(data, False)
            except Exception as err:
                # The dispatcher answers every request itself; this is a bug, not a bad command.
                print('hub link:', text('link_cmd_failed', (n, err)))
                self.rx_done = n
            if self.up and self.pipe is not None and self.acked != self.rx_done:
                self.acked = self.rx_done
                self.pipe.send(_ack(self.acked))

    def stop(self):
        self.stopped = True
        self.subs.clear()
        self._close('shutdown')
