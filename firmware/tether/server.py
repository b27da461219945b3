# Direct mode: the protocol v1 server on port 12345 (docs/protocol.md §1), plain TCP or TLS
# with config/cert.der + config/key.der.
import asyncio
from tether.session import Session


class Server:
    def __init__(self, board, dispatcher, cfg, ssl=None):
        self.board = board
        self.dispatcher = dispatcher
        self.cfg = cfg
        self.ssl = ssl
        self.sessions = []
        self.srv = None
        board.reset_listeners.append(self.close_all)

    async def start(self):
        listen = self.cfg['listen']
        self.srv = await asyncio.start_server(self._accept, listen['host'], listen['port'], backlog=2, ssl=self.ssl)
        return self.srv

    async def _accept(self, reader, writer):
        if len(self.sessions) >= self.cfg['max_connections']:
            # Over the limit: closed at once, without a reply (§1).
            writer.close()
            await writer.wait_closed()
            return
        s = Session(self.board, self.dispatcher, reader, writer, self.cfg['max_frame_bytes'], self.ssl is not None)
        self.sessions.append(s)
        try:
            await s.run()
        finally:
            self.sessions.remove(s)

    def close_all(self):
        for s in list(self.sessions):
            s.close()

    def close(self):
        self.close_all()
        if self.srv is not None:
            self.srv.close()
