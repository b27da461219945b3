# Checks a request and routes it to the board (docs/protocol.md §3.1, §5, §8): arguments first,
# then the connection's scope, then the action. The same dispatcher serves direct and hub mode.
from tether import VERSION, PROTOCOL, auth, drop
from tether import fields as f
from tether.errors import ProtoError
from tether.codec import ok_reply, error_reply
from tether.guesses import Guesses

ACTIONS = ('ping', 'get_version', 'get_info', 'list_actions', 'auth', 'challenge', 'setup_pin', 'read_pin',
           'write_pin', 'pwm', 'read_adc', 'i2c_scan', 'list_sensors', 'read_sensor', 'subscribe',
           'unsubscribe', 'get_state', 'reset', 'sleep', 'update')
_RANK = {'read': 0, 'actuate': 1, 'admin': 2}
_SCOPE = {'get_info': 'read', 'list_actions': 'read', 'read_pin': 'read', 'read_adc': 'read',
          'i2c_scan': 'read', 'list_sensors': 'read', 'read_sensor': 'read', 'subscribe': 'read',
          'unsubscribe': 'read', 'get_state': 'read', 'setup_pin': 'actuate', 'write_pin': 'actuate',
          'pwm': 'actuate', 'reset': 'admin', 'sleep': 'admin', 'update': 'admin'}
# Handled by tether/extras.py, in RAM only while one runs.
_OCCASIONAL = ('auth', 'challenge', 'get_info', 'list_actions', 'setup_pin', 'read_adc', 'i2c_scan',
               'list_sensors', 'reset', 'sleep')
_OPS = ('status', 'list', 'begin', 'chunk', 'commit', 'abort', 'clear')


class Dispatcher:
    def __init__(self, board, net=None, ota=False):
        # ota: whether this build takes updates; the updater (tether/ota.py, ~15 KB of bytecode)
        # is imported at the first update request.
        self.board = board
        self.ota = ota
        self.updater = None
        self.net = net
        cfg_auth = board.cfg.get('auth')
        # Each token's key, SHA-256 of it (§8.1): plain tokens are compared by it too.
        self.tokens = [(auth.key_of(t['token']), t['scope']) for t in cfg_auth['tokens']] if cfg_auth else []
        self.guesses = Guesses(board.clock)

    def initial_scope(self):
        return None if self.tokens else 'admin'

    async def handle(self, msg, ctx):
        wait = self.board.sleeping_ms()
        while wait:
            await self.board.clock.sleep(wait)
            wait = self.board.sleeping_ms()
        echo = msg
        pair = None
        is_auth = msg.get('action') == 'auth'
        if is_auth:
            # The token and the proof are never echoed, accepted or not: replies end up in logs.
            echo = dict(msg)
            for k in ('token', 'proof'):
                if k in echo:
                    echo[k] = '***'
            # Any auth uses up the last challenge's nonces, so a captured proof never works twice.
            pair = getattr(ctx, 'pair', None)
            ctx.pair = None
        try:
            # {"action": null} names an action of the wrong type: bad_field, as in protocol.md.
            if 'action' not in msg:
                raise ProtoError('missing_field', 'no_action')
            action = msg['action']
            if not isinstance(action, str):
                raise ProtoError('bad_field', 'action_not_text')
            name = 'get_info' if action == 'get_resource_info' else action
            if name not in ACTIONS:
                raise ProtoError('unknown_action', 'unknown_action', action[:64])
            if name in _OCCASIONAL:
                from tether import extras
                drop('extras')
                out = extras.run(self, name, msg, ctx, pair)
                if callable(out):
                    out = await self._guess(out, ctx)
                return ok_reply(echo, out)
            args = _parse(name, msg)
            self.allow(name, ctx)
            results = self._run(name, args, ctx)
            if results is not None and hasattr(results, 'send'):
                results = await results
            return ok_reply(echo, results)
        except Exception as err:
            if not isinstance(err, ProtoError):
                err = ProtoError('internal', 'internal', msg.get('action'), err)
            if is_auth and msg.get('seal') is True and not getattr(ctx, 'hub', False) and not _sealed(ctx):
                # Its client goes on sealing frames the board could not open (§8.1).
                ctx.close_after = True
            return error_reply(echo, err)

    def allow(self, name, ctx):
        need = _SCOPE.get(name)
        have = ctx.scope
        if need is not None and (have is None or _RANK[have] < _RANK[need]):
            if have is None:
                raise ProtoError('unauthorized', 'needs_auth', name, need)
            raise ProtoError('unauthorized', 'needs_scope', name, need, have)

    async def _guess(self, check, ctx):
        # §8: a connection's guess waits longer after each of its failures, and a wrong one is
        # answered only when the board-wide rate allows. Replies are in order, so the wait holds
        # back what this connection sent after it, and nothing else.
        g = self.guesses
        wait = g.delay(ctx)
        if wait:
            await self.board.clock.sleep(wait)
        try:
            results = check()
        except ProtoError:
            wait = g.failed(ctx)
            if wait:
                await self.board.clock.sleep(wait)
            raise
        g.succeeded(ctx)
        return results

    def _run(self, name, a, ctx):
        b = self.board
        if name == 'ping':
            return None
        if name == 'get_version':
            return {'version': VERSION, 'protocol': PROTOCOL}
        if name == 'read_pin':
            return {'value': b.read_pin(a)}
        if name == 'write_pin':
            return {'lease': b.write_pin(*a)}
        if name == 'pwm':
            return b.pwm(*a)
        if name == 'read_sensor':
            return b.read_sensor(a)
        if name == 'subscribe':
            return _subscribe(b, a, ctx)
        if name == 'unsubscribe':
            if not ctx.subs.remove(a):
                raise ProtoError('bad_field', 'no_such_sub', a)
            return None
        if name == 'get_state':
            return b.state()
        return self._update(a, ctx)

    def _update(self, msg, ctx):
        # OTA is authorised by the board's own secret: an admin token, or the hub link's token.
        if not self.tokens and not getattr(ctx, 'hub', False):
            raise ProtoError('unauthorized', 'update_needs_token')
        if self.updater is None:
            if not self.ota:
                raise ProtoError('unsupported', 'no_updater')
            from tether.ota import Updater
            self.updater = Updater(max_frame_bytes=self.board.cfg['max_frame_bytes'])
        # The update's manifest_mac is made with the key of the token this connection proved, or
        # over the hub link with the board key (protocol.md §5.19).
        key = ctx.key if getattr(ctx, 'hub', False) else getattr(ctx, 'token_key', None)
        results = self.updater.handle(msg, key)
        # commit resets to apply; clear, when it put old files back, resets to run them.
        if 'reset_in_ms' in results:
            self.board.schedule_reset(results['reset_in_ms'])
        return results


def _parse(name, m):
    # Arguments in schema order: the first failing one is reported (§3.1 step 2).
    if name == 'read_pin':
        return f.integer(m, 'pin', 0, 255)
    if name == 'write_pin':
        return f.integer(m, 'pin', 0, 255), f.bit(m, 'value'), f.seconds(m, 'timeout')
    if name == 'pwm':
        return (f.integer(m, 'pin', 0, 255), f.integer(m, 'freq', 1, 40000000),
                f.decimal(m, 'duty', 0, 1, 'a duty cycle from 0 to 1'), f.seconds(m, 'timeout'))
    if name == 'read_sensor':
        return f.text(m, 'name')
    if name == 'subscribe':
        return (f.integer(m, 'pin', 0, 255, False), f.choice(m, 'edge', ('rising', 'falling', 'both'), False),
                f.text(m, 'sensor', 1, 64, False), f.integer(m, 'interval_ms', 50, 86400000, False))
    if name == 'unsubscribe':
        return f.integer(m, 'sub', 1, 2147483647)
    if name == 'update':
        f.choice(m, 'op', _OPS)
        return m
    return None


def _sealed(ctx):
    # A sealed connection keeps its seal and scope while it lasts.
    return getattr(ctx, 'opener', None) is not None or getattr(ctx, 'seal_key', None) is not None


def _subscribe(b, a, ctx):
    pin, edge, sensor, interval = a
    if pin is not None and sensor is not None:
        raise ProtoError('bad_field', 'sub_pin_and_sensor')
    if pin is None and sensor is None:
        raise ProtoError('missing_field', 'sub_needs_target')
    if pin is not None:
        if interval is not None:
            raise ProtoError('bad_field', 'sub_pin_interval')
        edge = edge or 'both'
        sub = ctx.subs.add(lambda i: b.watch_pin(pin, edge, lambda v: ctx.emit({'event': 'edge', 'sub': i, 'pin': pin, 'value': v})))
        return {'sub': sub, 'pin': pin, 'edge': edge}
    if edge is not None:
        raise ProtoError('bad_field', 'sub_sensor_edge')
    if interval is None:
        raise ProtoError('missing_field', 'sub_needs_interval')

    def report(i, r):
        if isinstance(r, ProtoError):
            ctx.emit({'event': 'sensor_error', 'sub': i, 'sensor': sensor, 'error': r.wire()})
        else:
            ctx.emit({'event': 'reading', 'sub': i, 'sensor': sensor, 'values': r['values'], 'units': r['units']})
    sub = ctx.subs.add(lambda i: b.poll_sensor(sensor, interval, lambda r: report(i, r)))
    return {'sub': sub, 'sensor': sensor, 'interval_ms': interval}


class Subscriptions:
    # The subscriptions one client holds (a connection, or the hub link); §5.14.
    def __init__(self, limit=32):
        self.limit = limit
        self.stops = {}
        self.next = 1

    def add(self, start):
        if len(self.stops) >= self.limit:
            raise ProtoError('limit_exceeded', 'too_many_subs', len(self.stops))
        i = self.next
        self.stops[i] = start(i)
        self.next += 1
        return i

    def remove(self, i):
        stop = self.stops.pop(i, None)
        if stop is None:
            return False
        stop()
        return True

    def clear(self):
        for stop in self.stops.values():
            stop()
        self.stops.clear()
