# What the dispatcher reads and sets on a direct-mode connection (tether/session.py), without a
# socket: for tests that drive the dispatcher's auth, challenge and update paths directly.
from tether.dispatcher import Subscriptions


class FakeConnection:
    def __init__(self, d):
        self.scope = d.initial_scope()
        self.subs = Subscriptions()
        self.pair = None
        self.seal_key = None
        self.opener = None
        self.close_after = False

    def emit(self, ev):
        pass
