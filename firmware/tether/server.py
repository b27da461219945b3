# Direct mode: the protocol v1 server on port 12345 (docs/protocol.md §1), plain TCP or TLS
# with config/cert.der + config/key.der. Fairness (§1): a connection that has not proven itself
# (no scope on a board with tokens, no request yet without) is closed 10 s after it opened, and
# a newcomer on a full board closes the oldest such one; so idle strangers never lock the owner out.
import asyncio
from micropython import const
from tether.session import Session
from tether.errors import say

AUTH_TIMEOUT_MS = const(10000)
LOG_EVERY_MS = const(60000)


class Server:
    def __init__(self, board, dispatcher, cfg, ssl=None):
        self.board = board
        self.dispatcher = dispatcher
        self.cfg = cfg
        self.ssl = ssl
        self.sessions = []  # oldest first
        self.srv = None
        # Idle connections closed since the last console line, and when that line was.
        self.dropped = 0
        self.logged_at = None
        board.reset_listeners.append(self.close_all)

    async def start(self):
        listen = self.cfg['listen']
        self.srv = await asyncio.start_server(self._accept, listen['host'], listen['port'], backlog=2, ssl=self.ssl)
        return self.srv

    async def _accept(self, reader, writer):
        if len(self.sessions) >= self.cfg['max_connections'] and not self._make_room():
            # Full of proven clients: closed at once, without a reply (§1).
            writer.close()
            await writer.wait_closed()
            return
        s = Session(self.board, self.dispatcher, reader, writer, self.cfg['max_frame_bytes'], self.ssl is not None)
        self.sessions.append(s)
        clock = self.board.clock
        timer = clock.call_later(AUTH_TIMEOUT_MS, lambda: self._expire(s))
        try:
            await s.run()
        finally:
            clock.cancel(timer)
            if s in self.sessions:
                self.sessions.remove(s)

    def _make_room(self):
        for s in self.sessions:
            if s.unproven():
                self._drop(s)
                return True
        return False

    def _expire(self, s):
        if s in self.sessions and s.unproven():
            self._drop(s)

    def _drop(self, s):
        self.sessions.remove(s)
        s.close()
        # One console line a minute at most, however many are closed: a flood must not flood it.
        self.dropped += 1
        now = self.board.clock.now()
        if self.logged_at is None or now - self.logged_at >= LOG_EVERY_MS:
            say('idle_closed', (self.dropped,))
            self.dropped = 0
            self.logged_at = now

    def close_all(self):
        for s in list(self.sessions):
            s.close()

    def close(self):
        self.close_all()
        if self.srv is not None:
            self.srv.close()
