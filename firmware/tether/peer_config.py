# The peers section of config/device.json (docs/firmware.md, Following other boards), checked
# with the rest of the config and, like tether/config.py, unloaded once the board runs.
from tether.config import _int, _num

_PEER_KEYS = ('name', 'host', 'port', 'token', 'token_file', 'lease_s', 'every_ms', 'follow')
_RULE_KEYS = ('input', 'output', 'sensor', 'quantity', 'to', 'invert', 'range', 'duty', 'threshold')


def check(raw, c, need):
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
                rule = _rule(r, '%s.follow[%d]' % (w, j), c, need, q['lease_s'])
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


def _rule(r, w, c, need, lease):
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
    to, pwm, most = _output_of(r.get('to'), c)
    if not need(to is not None, w + '.to', 'expected an actuator name, or the name or number of an output pin in pins'):
        return None
    need(not _num(lease) or lease <= most, w + '.to', 'its max_lease_s is %s s, shorter than lease_s (%s s): every write would be '
         'refused; lower lease_s or raise the output\'s max_lease_s' % (most, lease))
    if kind == 'sensor' and rule['range'] is not None:
        need(pwm, w + '.to', 'a range gives a duty: drive a PWM actuator, or use threshold for a digital output')
    rule['to'] = to
    rule['pwm'] = pwm
    return rule if ok else None


def _output_of(to, c):
    # (pin, is PWM, its maximum lease) of a local output named by actuator name, pin name or pin
    # number.
    top = c['max_lease_s']
    for a in c['actuators']:
        if to == a['name'] or to == a['pin']:
            return a['pin'], a.get('driver') == 'pwm', min(a.get('max_lease_s') or top, top)
    for p in c['pins']:
        if p.get('mode') == 'output' and (to == p.get('name') or to == p['pin']):
            return p['pin'], False, min(p.get('max_lease_s') or top, top)
    return None, False, top


def _pair(v):
    return isinstance(v, list) and len(v) == 2 and _num(v[0]) and _num(v[1])


def _label(v):
    return isinstance(v, str) and 0 < len(v) <= 64 and all(ch.isalpha() or ch.isdigit() or ch in '_.-' for ch in v)
