# How a board slows token guessing (docs/protocol.md §8), as the TypeScript runtime does
# (src/device/guesses.ts, same numbers): each connection waits longer after every wrong token or
# proof, the board answers only so many wrong ones a second whatever the number of connections,
# and the failures are printed at most once a minute.
from micropython import const
from tether.errors import say, text

FIRST_DELAY_MS = const(100)
MAX_DELAY_MS = const(5000)
# 20 failures a second across all connections, after a burst of 5.
INTERVAL_MS = const(50)
BURST = const(5)
LOG_EVERY_MS = const(60000)
PEERS_SHOWN = const(5)


class Guesses:
    def __init__(self, clock):
        self.clock = clock
        self.bucket_at = 0
        self.count = 0
        self.peers = []
        self.more = False
        self.timer = None

    def delay(self, ctx):
        # The wait before this connection's next guess is checked.
        n = getattr(ctx, 'failed_auths', 0)
        return 0 if n == 0 else min(FIRST_DELAY_MS << min(n - 1, 6), MAX_DELAY_MS)

    def succeeded(self, ctx):
        ctx.failed_auths = 0

    def failed(self, ctx):
        # Counts a wrong guess; returns how long its reply waits for the board-wide bucket.
        ctx.failed_auths = getattr(ctx, 'failed_auths', 0) + 1
        self._note(_peer(ctx))
        now = self.clock.now()
        self.bucket_at = max(self.bucket_at, now) + INTERVAL_MS
        return max(0, self.bucket_at - now - BURST * INTERVAL_MS)

    def _note(self, peer):
        self.count += 1
        if peer not in self.peers:
            if len(self.peers) < PEERS_SHOWN:
                self.peers.append(peer)
            else:
                self.more = True
        if self.timer is None:
            self.timer = self.clock.call_later(LOG_EVERY_MS, self._flush)

    def _flush(self):
        self.timer = None
        say('failed_auths', (self.count, '' if self.count == 1 else 's', ', '.join(self.peers), text('and_others') if self.more else ''))
        self.count = 0
        self.peers = []
        self.more = False


def _peer(ctx):
    if getattr(ctx, 'hub', False):
        return 'the hub link'
    try:
        p = ctx.w.get_extra_info('peername')
        return '%s:%d' % (p[0], p[1])
    except Exception:
        return 'a client'
