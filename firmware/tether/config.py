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
    c['peers'] = _peers(raw.get('peers', []), c, need)
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


# --- peers: boards this one follows in direct mode (docs/firmware.md, Following other boards) ---

_PEER_KEYS = ('name', 'host', 'port', 'token', 'token_file', 'lease_s', 'every_ms', 'follow')
_RULE_KEYS = ('input', 'output', 'sensor', 'quantity', 'to', 'invert', 'range', 'duty', 'threshold')


def _peers(raw, c, need):
    out = []
    if not need(isinstance(raw, list), 'peers', 'expected a list of boards to follow'):
        return out
    driven = {}
    for i, p in enumerate(raw):
        w = 'peers[%d]' % i
        if not need(isinstance(p, dict), w, 'expected {"name", "host", "follow": [...]}'):
            continue
        for k in p:
            need(k in _PEER_KEYS, w + '.' + k, 'unknown key')
        q = {'name': p.get('name'), 'host': p.get('host'), 'port': p.get('port', 12345),
             'lease_s': p.get('lease_s', 3), 'every_ms': p.get('every_ms', 1000), 'follow': []}
        need(_label(q['name']), w + '.name', 'expected 1-64 letters, digits, _ . or -')
        need(isinstance(q['host'], str) and q['host'] != '', w + '.host', 'expected the address of the board to follow')
        need(_int(q['port'], 1, 65535), w + '.port', 'expected 1-65535')
        q['token'] = _peer_token(p, w, need)
        ok = need(_int(q['every_ms'], 50, 86400000), w + '.every_ms', 'expected 50-86400000 ms: how often the board is asked')
        if need(_num(q['lease_s']) and q['lease_s'] > 0, w + '.lease_s', 'expected a number of seconds > 0'):
            need(not _num(c['max_lease_s']) or q['lease_s'] <= c['max_lease_s'], w + '.lease_s', 'longer than max_lease_s (%s s)' % c['max_lease_s'])
            if ok:
                need(q['lease_s'] * 1000 >= 2 * q['every_ms'], w + '.lease_s', 'expected at least two every_ms (%d ms), so that '
                     'one late answer does not let the output go' % q['every_ms'])
        rules = p.get('follow')
        if need(isinstance(rules, list) and rules, w + '.follow', 'expected at least one rule: {"input": pin, "to": output}, '
                '{"output": pin, "to": output} or {"sensor": name, "quantity": q, "to": output, "range"|"threshold": ...}'):
            for j, r in enumerate(rules):
                rule = _rule(r, '%s.follow[%d]' % (w, j), c, need)
                if rule is not None:
                    wr = '%s.follow[%d].to' % (w, j)
                    need(rule['to'] not in driven, wr, 'pin %d is already driven by %s' % (rule['to'], driven.get(rule['to'])))
                    driven[rule['to']] = '%s.follow[%d]' % (w, j)
                    q['follow'].append(rule)
        out.append(q)
    return out


def _peer_token(p, w, need):
    # The token the followed board requires, inline or from a file on this board (config/*.token).
    if 'token' in p and 'token_file' in p:
        need(False, w + '.token', 'give token or token_file, not both')
        return None
    t = p.get('token')
    if 'token_file' in p:
        path = p['token_file']
        if not need(isinstance(path, str), w + '.token_file', 'expected a file path'):
            return None
        try:
            with open(path) as fh:
                t = fh.read().strip()
        except OSError:
            need(False, w + '.token_file', 'cannot read %s; put the followed board\'s token there' % path)
            return None
        w += '.token_file'
    else:
        w += '.token'
    if t is not None:
        need(isinstance(t, str) and len(t) >= 16, w, 'expected a token of at least 16 characters')
    return t


def _rule(r, w, c, need):
    if not need(isinstance(r, dict), w, 'expected an object'):
        return None
    for k in r:
        need(k in _RULE_KEYS, w + '.' + k, 'unknown key')
    kinds = [k for k in ('input', 'output', 'sensor') if k in r]
    if not need(len(kinds) == 1, w, 'expected exactly one of input, output or sensor (what to follow)'):
        return None
    kind = kinds[0]
    rule = {'kind': kind, 'pin': None, 'sensor': None, 'quantity': None, 'invert': r.get('invert', False) is True,
            'range': None, 'duty': [0, 1], 'threshold': None}
    ok = True
    if kind == 'sensor':
        rule['sensor'] = r['sensor']
        rule['quantity'] = r.get('quantity')
        ok = need(_label(r['sensor']), w + '.sensor', 'expected the followed board\'s sensor name')
        ok = need(_label(rule['quantity']), w + '.quantity', 'expected the quantity to follow, e.g. "temperature"') and ok
        need('invert' not in r, w + '.invert', 'a sensor rule maps with range or threshold')
        ok = need(('range' in r) != ('threshold' in r), w, 'expected range (a duty from the reading) or threshold (on/off)') and ok
        if 'range' in r:
            rule['range'] = g = r['range']
            ok = need(_pair(g) and g[0] != g[1], w + '.range', 'expected [low, high]: the readings that map to duty[0] and duty[1]') and ok
            rule['duty'] = d = r.get('duty', [0, 1])
            ok = need(_pair(d) and 0 <= d[0] <= 1 and 0 <= d[1] <= 1, w + '.duty', 'expected [low, high], each 0-1') and ok
        elif 'threshold' in r:
            need('duty' not in r, w + '.duty', 'only a range rule takes duty')
            rule['threshold'] = t = r['threshold']
            ok = need(isinstance(t, dict) and _num(t.get('on')) and _num(t.get('off')) and t['on'] != t['off'] and len(t) == 2,
                      w + '.threshold', 'expected {"on": x, "off": y}, x != y: on from x, off from y (on above off: on when '
                      'high, like a fan; on below off: on when low, like a heater)') and ok
    else:
        rule['pin'] = r[kind]
        ok = need(_int(r[kind], 0, 255), w + '.' + kind, 'expected the followed board\'s pin number')
        need('range' not in r and 'threshold' not in r and 'duty' not in r, w, 'an %s rule copies the level (invert: true inverts it)' % kind)
        need(r.get('invert', False) in (True, False), w + '.invert', 'expected true or false')
    to, pwm = _output_of(r.get('to'), c)
    if not need(to is not None, w + '.to', 'expected an actuator name, or the name or number of an output pin in pins'):
        return None
    if kind == 'sensor' and rule['range'] is not None:
        need(pwm, w + '.to', 'a range gives a duty: drive a PWM actuator, or use threshold for a digital output')
    rule['to'] = to
    rule['pwm'] = pwm
    return rule if ok else None


def _output_of(to, c):
    # (pin, is PWM) of a local output named by actuator name, pin name or pin number.
    for a in c['actuators']:
        if to == a['name'] or to == a['pin']:
            return a['pin'], a.get('driver') == 'pwm'
    for p in c['pins']:
        if p.get('mode') == 'output' and (to == p.get('name') or to == p['pin']):
            return p['pin'], False
    return None, False


def _pair(v):
    return isinstance(v, list) and len(v) == 2 and _num(v[0]) and _num(v[1])


def _label(v):
    return isinstance(v, str) and 0 < len(v) <= 64 and all(ch.isalpha() or ch.isdigit() or ch in '_.-' for ch in v)
