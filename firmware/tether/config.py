# config/device.json: the TypeScript board config's schema (docs/board-config.md) wherever it
# applies, checked once at start with path-prefixed messages, plus the firmware's own keys.
import json

_TOP = ('name', 'board', 'listen', 'tls', 'auth', 'max_lease_s', 'max_frame_bytes', 'gpio', 'adc',
        'i2c', 'pins', 'sensors', 'actuators', 'sim', 'backend', 'deep_sleep', 'max_connections', 'update',
        'watchdog_s', 'peers')


# An output held longer than this is a forgotten output; the lease timers themselves take any length.
MAX_LEASE_S = 30 * 24 * 3600


class ConfigError(Exception):
    pass


def read_json(path, required=True):
    try:
        with open(path) as fh:
            return json.load(fh)
    except OSError:
        if required:
            raise ConfigError(path + ': cannot read the file')
        return None
    except ValueError:
        raise ConfigError(path + ': not valid JSON')


def hub(raw, source='config/hub.json'):
    # config/hub.json (hub mode): what the link needs checked before the first dial.
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(source + ': expected a JSON object')
    if 'fingerprint' in raw:
        pin = fingerprint(raw['fingerprint'])
        if pin is None:
            raise ConfigError(source + ': fingerprint: expected the SHA-256 of the hub\'s TLS certificate, 64 hex digits '
                              '(colons allowed), as the hub logs it at start ("link: TLS; boards pin ...")')
        raw = dict(raw)
        raw['fingerprint'] = pin
    return raw


def fingerprint(text):
    # As people paste it (AB:CD:... from openssl, or plain hex): 64 lowercase hex digits, or None.
    if not isinstance(text, str):
        return None
    h = text.strip().replace(':', '').lower()
    return h if len(h) == 64 and all(ch in '0123456789abcdef' for ch in h) else None


def load(path='config/device.json', support=None):
    raw = read_json(path, False)
    return normalize(raw if raw is not None else {}, support, path)


def normalize(raw, support=None, source='config', warn=None):
    problems = []

    def need(ok, where, what):
        if not ok:
            problems.append(where + ': ' + what)
        return ok

    if not isinstance(raw, dict):
        raise ConfigError(source + ': expected a JSON object')
    for k in raw:
        need(k in _TOP, k, 'unknown key')
    c = {}
    c['name'] = raw.get('name', 'tether-board')
    c['board'] = raw.get('board', support.NAME if support else 'Tether board')
    listen = raw.get('listen', {})
    c['listen'] = {'host': listen.get('host', '0.0.0.0'), 'port': listen.get('port', 12345)}
    need(_int(c['listen']['port'], 0, 65535), 'listen.port', 'expected 0-65535')
    c['tls'] = t = raw.get('tls')
    need(t in (None, False, True) or isinstance(t, dict) and all(k in ('cert', 'key') and isinstance(v, str) for k, v in t.items()),
         'tls', 'expected true (config/cert.der and config/key.der) or {"cert": path, "key": path}')
    # Who may drive the board is said on purpose (protocol.md §8): tokens, or "none".
    auth = raw.get('auth')
    if auth is None:
        need(False, 'auth', 'missing; say who may drive this board: list tokens under auth.tokens (clients then prove '
             'they hold one), or write "auth": "none" to let any client that reaches its port drive it (docs/board-config.md)')
    elif auth == 'none':
        auth = None  # after this check, no tokens means "none" was written
    else:
        tokens = auth.get('tokens') if isinstance(auth, dict) else None
        if need(isinstance(tokens, list) and tokens, 'auth.tokens', 'expected at least one token (or "auth": "none")'):
            for i, t in enumerate(tokens):
                w = 'auth.tokens[%d]' % i
                need(isinstance(t, dict) and isinstance(t.get('token'), str) and len(t['token']) >= 16, w + '.token', 'expected a token of at least 16 characters')
                need(isinstance(t, dict) and t.get('scope') in ('read', 'actuate', 'admin'), w + '.scope', 'expected read, actuate or admin')
    c['auth'] = auth
    c['max_lease_s'] = raw.get('max_lease_s', 3600)
    need(_num(c['max_lease_s']) and 0 < c['max_lease_s'] <= MAX_LEASE_S, 'max_lease_s',
         'expected a number of seconds > 0 and at most %d (30 days)' % MAX_LEASE_S)
    # A microcontroller cannot hold 64 KiB per connection; 2 KiB fits an update chunk.
    c['max_frame_bytes'] = raw.get('max_frame_bytes', 2048)
    need(_int(c['max_frame_bytes'], 256, 65536), 'max_frame_bytes', 'expected 256-65536')
    c['max_connections'] = raw.get('max_connections', 4)
    need(_int(c['max_connections'], 1, 16), 'max_connections', 'expected 1-16')
    c['deep_sleep'] = raw.get('deep_sleep', False) is True
    # 0 turns the watchdog off; rp2's holds at most 8.388 s (docs/firmware.md, Watchdog).
    c['watchdog_s'] = raw.get('watchdog_s', 8)
    need(_int(c['watchdog_s'], 0, 8) and c['watchdog_s'] != 1, 'watchdog_s',
         'expected 0 (off) or 2-8 seconds: how long the board may stop answering before it resets')
    c['gpio'] = {'pin_count': raw.get('gpio', {}).get('pin_count', support.PIN_COUNT if support else 30)}
    adc = raw.get('adc', {})
    c['adc'] = {'pins': adc.get('pins', list(support.ADC_PINS) if support else [26, 27, 28]), 'vref': adc.get('vref', 3.3)}
    c['i2c'] = []
    for i, b in enumerate(raw.get('i2c', [])):
        if need(isinstance(b, dict) and _int(b.get('bus'), 0, 255), 'i2c[%d].bus' % i, 'expected a bus number'):
            c['i2c'].append({'bus': b['bus'], 'sda': b.get('sda'), 'scl': b.get('scl'), 'freq': b.get('freq', 400000)})
    c['pins'] = []
    for i, p in enumerate(raw.get('pins', [])):
        w = 'pins[%d]' % i
        if not need(isinstance(p, dict) and _int(p.get('pin'), 0, 255), w + '.pin', 'expected a pin number'):
            continue
        need(p.get('mode') in ('input', 'output'), w + '.mode', 'expected "input" or "output"')
        if p.get('mode') == 'input':
            need('value' not in p and 'safe_value' not in p, w + '.value', 'only an output takes value or safe_value')
        elif 'value' in p and 'safe_value' in p:
            need(p['value'] == p['safe_value'], w + '.value', 'an output starts at its safe value: give value or safe_value, or make them equal')
        q = dict(p)
        q.setdefault('pull', 'none')
        c['pins'].append(q)
    c['sensors'] = []
    for i, s in enumerate(raw.get('sensors', [])):
        w = 'sensors[%d]' % i
        if need(isinstance(s, dict) and isinstance(s.get('name'), str) and isinstance(s.get('driver'), str), w, 'expected name and driver'):
            q = dict(s)
            if isinstance(q.get('address'), str):
                q['address'] = int(q['address'], 16)
            c['sensors'].append(q)
    c['actuators'] = []
    for i, a in enumerate(raw.get('actuators', [])):
        w = 'actuators[%d]' % i
        if need(isinstance(a, dict) and isinstance(a.get('name'), str) and _int(a.get('pin'), 0, 255), w, 'expected name, driver and pin'):
            need(a.get('driver') in ('digital', 'pwm'), w + '.driver', 'expected digital or pwm')
            c['actuators'].append(a)
    used = {}
    for b in c['i2c']:
        for k in ('sda', 'scl'):
            if b[k] is not None:
                _claim(used, b[k], 'i2c bus %d %s' % (b['bus'], k), c, need)
    for p in c['pins']:
        _claim(used, p['pin'], 'pins', c, need)
    for a in c['actuators']:
        _claim(used, a['pin'], 'actuator ' + a['name'], c, need)
    c['update'] = raw.get('update', {})
    if 'peers' in raw:
        # Only when given, from a module of its own: a board without peers keeps none of its
        # names (MicroPython keeps every interned name for good) nor a key in this dict.
        from tether import peer_config
        c['peers'] = peer_config.check(raw['peers'], c, need)
    if support is not None:
        # Pins the board keeps for itself, cannot drive, or shares (tether/boards).
        from tether.boards import config_pins
        config_pins.check(support, c, need, warn or _warn)
    if problems:
        raise ConfigError(source + ': the board config is not valid:\n  - ' + '\n  - '.join(problems))
    return c


def _warn(text):
    print('tether: warning: ' + text)


def _claim(used, pin, who, c, need):
    if need(pin < c['gpio']['pin_count'], who, 'pin %d does not exist: gpio.pin_count is %d' % (pin, c['gpio']['pin_count'])):
        need(pin not in used, who, 'pin %d is already used by %s' % (pin, used.get(pin)))
        used[pin] = who


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi

