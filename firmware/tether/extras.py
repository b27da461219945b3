# The actions a client sends now and then (auth and challenge once per connection, get_info,
# list_actions, setup_pin, read_adc, i2c_scan, list_sensors, reset, sleep): the dispatcher imports
# this module for one request and drops it from the module table at once, so its bytecode is in
# the heap only while such a request runs (docs/firmware.md, RAM). Nothing built here may outlive
# the request: a function of this module kept anywhere would keep the whole module in RAM.
import gc
import sys
from machine import ADC, Pin, freq
from tether import VERSION, PROTOCOL, auth
from tether import fields as f
from tether.errors import ProtoError
from tether.dispatcher import ACTIONS, _sealed

# Like piconetcontrol, a reset comes a moment after its reply has gone out.
RESET_DELAY_MS = 1000


def run(d, name, m, ctx, pair):
    # As Dispatcher.handle for the resident actions: arguments, then scope, then the action. An
    # auth that checks a token or a proof returns the check, which the dispatcher runs as a guess.
    b = d.board
    if name == 'auth':
        return _auth(d, (f.text(m, 'token', 0, 4096, False), f.hexdigits(m, 'proof', 64, False), f.flag(m, 'seal')), pair, ctx)
    if name == 'challenge':
        return _challenge(f.hexdigits(m, 'nonce', 32), ctx)
    if name == 'setup_pin':
        a = (f.integer(m, 'pin', 0, 255), f.choice(m, 'mode', ('input', 'output')),
             f.choice(m, 'pull', ('up', 'down', 'none'), False), f.bit(m, 'value', False),
             f.bit(m, 'safe_value', False))
    elif name == 'read_adc':
        a = f.integer(m, 'pin', 0, 255)
    elif name == 'i2c_scan':
        a = f.integer(m, 'bus', 0, 255, False)
    elif name == 'sleep':
        deep = f.bit(m, 'deep', False, 'true or false (or 0 or 1)')
        a = deep == 1, f.integer(m, 'time_ms', 1, 86400000)
    else:
        a = None
    d.allow(name, ctx)
    if name == 'get_info':
        return {'info': info(b, d.net)}
    if name == 'list_actions':
        return {'actions': list(ACTIONS)}
    if name == 'setup_pin':
        setup_pin(b, *a)
        return None
    if name == 'read_adc':
        return read_adc(b, a)
    if name == 'i2c_scan':
        return i2c_scan(b, a)
    if name == 'list_sensors':
        return {'sensors': list_sensors(b)}
    if name == 'reset':
        b.schedule_reset(RESET_DELAY_MS)
        return {'reset_in_ms': RESET_DELAY_MS}
    return _sleep(b, a)


# --- auth (docs/protocol.md §8) --------------------------------------------------------------

def _challenge(nonce, ctx):
    # §8.1: the board's fresh nonce, kept with the client's for the next auth.
    if getattr(ctx, 'hub', False):
        raise ProtoError('unsupported', 'challenge_on_link')
    if _sealed(ctx):
        raise ProtoError('unsupported', 'sealed_already', 'challenge')
    mine = auth.nonce()
    ctx.pair = (nonce, mine)
    return {'nonce': mine}


def _auth(d, args, pair, ctx):
    # The reply of an auth that checks nothing, or the check of a token or proof (a guess).
    token, proof, seal = args
    if _sealed(ctx):
        raise ProtoError('unsupported', 'sealed_already', 'auth')
    if token is not None and proof is not None:
        raise ProtoError('bad_field', 'token_and_proof')
    tokens = d.tokens
    if proof is not None:
        # Without a challenge or a token nothing can be checked, so nothing is guessed.
        if pair is None:
            raise ProtoError('unauthorized', 'no_challenge')
        if not tokens:
            raise ProtoError('unauthorized', 'no_tokens_to_prove')
        return lambda: _proof(tokens, proof, seal, pair, ctx)
    if seal:
        raise ProtoError('bad_field', 'seal_needs_proof')
    if token is None:
        raise ProtoError('missing_field', 'auth_needs_token')
    if not tokens:
        ctx.scope = 'admin'
        return {'scope': 'admin'}
    return lambda: {'scope': _token(tokens, token, ctx)}


def _token(tokens, token, ctx):
    given = auth.key_of(token)
    scope = None
    # Against every token, so that timing does not tell which one nearly matched.
    for key, s in tokens:
        if auth.same(key, given):
            scope = s
    if scope is None:
        raise ProtoError('unauthorized', 'bad_token')
    ctx.scope = scope
    ctx.token_key = given
    return scope


def _proof(tokens, proof, seal, pair, ctx):
    # The client's proof against every token's; the reply proves the board knows it too.
    nc, nb = pair
    match = None
    for key, s in tokens:
        if auth.proof_ok(proof, auth.proof(key, auth.DIRECT_CLIENT, nc, nb)):
            match = (key, s)
    if match is None:
        raise ProtoError('unauthorized', 'bad_proof')
    key, scope = match
    ctx.scope = scope
    ctx.token_key = key
    if seal:
        # The reply goes out unsealed; the session seals everything after it.
        ctx.seal_key = auth.session_key(key, auth.DIRECT_SESSION, nc, nb)
    return {'scope': scope, 'board_proof': auth.proof(key, auth.DIRECT_BOARD, nc, nb)}


# --- board actions (docs/protocol.md §5) -----------------------------------------------------

def setup_pin(b, pin, mode, pull, value, safe_value):
    b._configurable(pin)
    b.support.check_pin(pin, 'in' if mode == 'input' else 'out')
    prev = b.pins.get(pin)
    if prev is not None and prev.fixed:
        raise ProtoError('pin_conflict', 'pin_is_actuator', pin, prev.name)
    if prev is not None and prev.mode != 'input':
        b._no_lease(prev)
    if mode == 'input':
        if value is not None or safe_value is not None:
            raise ProtoError('bad_field', 'input_value')
        b._release(prev)
        b._setup_input(pin, pull or 'none', prev.name if prev else None)
        return
    if pull is not None and pull != 'none':
        raise ProtoError('bad_field', 'output_pull')
    if value is not None and safe_value is not None and value != safe_value:
        raise ProtoError('bad_field', 'value_not_safe', value, safe_value, safe_value, value)
    safe = safe_value if safe_value is not None else value if value is not None else 0
    b._release(prev)
    b._setup_output(pin, prev.name if prev else None, False, 'digital', {}, safe, b._max_lease(pin))


def read_adc(b, pin):
    pins = b.cfg['adc']['pins']
    if pin not in pins:
        raise ProtoError('bad_field', 'no_adc', pin, ', '.join(str(p) for p in pins) or 'none')
    slot = b.pins.get(pin)
    if slot is not None and slot.mode != 'input':
        raise ProtoError('pin_conflict', 'adc_on_output', pin)
    adc = b.adcs.get(pin)
    if adc is None:
        adc = b.adcs[pin] = ADC(Pin(pin))
    raw = adc.read_u16()
    uv = getattr(adc, 'read_uv', None)
    if uv is not None:
        # ESP32: the raw reading is far from linear at the port's 11 dB attenuation (it
        # clips near 3.1 V and starts above 0 V); read_uv applies the chip's calibration.
        return {'raw': raw, 'volts': round(uv() / 1000000, 4)}
    return {'raw': raw, 'volts': round(raw / 65535 * b.cfg['adc']['vref'], 4)}


def i2c_scan(b, bus_id):
    ids = sorted(b.buses)
    if bus_id is None:
        if not ids:
            raise ProtoError('unsupported', 'no_i2c')
        bus_id = ids[0]
    bus = b.buses.get(bus_id)
    if bus is None:
        raise ProtoError('bad_field', 'no_such_bus', bus_id, ', '.join(str(i) for i in ids) or 'none')
    return {'bus': bus_id, 'addresses': sorted(bus.scan())}


def list_sensors(b):
    out = []
    for name in b.sensor_names:
        e = b.sensors[name]
        d = {'name': name, 'driver': e.cfg['driver'], 'quantities': e.mod.QUANTITIES}
        if e.mod.BUS == 'i2c':
            d['bus'] = e.cfg.get('bus', 0)
            d['address'] = e.address
        if e.fault is not None:
            d['fault'] = e.fault.wire()
        out.append(d)
    return out


def info(b, net=None):
    v = sys.implementation.version
    mpy = '%d.%d.%d' % (v[0], v[1], v[2])
    out = {
        'name': b.cfg['name'], 'board': b.cfg['board'], 'platform': b.support.PLATFORM,
        'firmware_version': VERSION, 'protocol': PROTOCOL, 'runtime': 'micropython ' + mpy,
        'micropython_version': mpy, 'boot_id': b.boot_id, 'uptime_s': b.uptime_ms() / 1000,
        'cpu_freq_hz': freq(), 'capabilities': b.capabilities(),
    }
    # Without a collection first, mem_free also leaves out the garbage of the moment, and the
    # same board would report 26 KB or 150 KB depending on when it was asked.
    gc.collect()
    out['mem_free'] = gc.mem_free()
    out['mem_alloc'] = gc.mem_alloc()
    if net is not None:
        out.update(net.info())
    return out


def _sleep(b, a):
    deep, ms = a
    if deep:
        if not b.cfg.get('deep_sleep'):
            raise ProtoError('unsupported', 'deep_sleep_off')
        b.schedule_reset(100, 'deepsleep', ms)
    else:
        b.light_sleep(ms)
    return {'sleep_ms': ms}
