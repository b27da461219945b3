# Argument checks for the action schemas (docs/protocol.md §3.1, §3.3). Numbers also come as
# numeric strings (piconetcontrol's CLI sends every value as a string); 0/1 also as booleans.
import json
from tether.errors import ProtoError

_MISSING = object()


def describe(v):
    try:
        t = json.dumps(v)
    except Exception:
        t = str(v)
    return t if len(t) <= 40 else t[:37] + '...'


def bad(name, what, v):
    return ProtoError('bad_field', 'expected', name, what, describe(v))


def get(msg, name, required=True):
    # The value, or _MISSING for an absent optional field; an absent required one is missing_field.
    v = msg.get(name, _MISSING)
    if v is _MISSING and required:
        raise ProtoError('missing_field', 'required', name)
    return v


def number(v):
    # A finite number from a JSON number or a decimal string; None when it is neither.
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (_INF, -_INF) else None
    if isinstance(v, str) and _numeric(v):
        f = float(v.strip())
        return f if f not in (_INF, -_INF) else None
    return None


_INF = float('inf')


def _numeric(s):
    # [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?, surrounded by optional spaces.
    s = s.strip()
    n = len(s)
    i = 0
    if i < n and s[i] in '+-':
        i += 1
    j = i
    while i < n and '0' <= s[i] <= '9':
        i += 1
    whole = i - j
    frac = 0
    if i < n and s[i] == '.':
        i += 1
        j = i
        while i < n and '0' <= s[i] <= '9':
            i += 1
        frac = i - j
    if whole == 0 and frac == 0:
        return False
    if i < n and s[i] in 'eE':
        i += 1
        if i < n and s[i] in '+-':
            i += 1
        j = i
        while i < n and '0' <= s[i] <= '9':
            i += 1
        if i == j:
            return False
    return i == n


def integer(msg, name, lo, hi, required=True):
    v = get(msg, name, required)
    if v is _MISSING:
        return None
    x = number(v)
    if x is None or x != int(x) or x < lo or x > hi:
        raise bad(name, 'an integer from %d to %d' % (lo, hi), v)
    return int(x)


def decimal(msg, name, lo, hi, what, required=True):
    v = get(msg, name, required)
    if v is _MISSING:
        return None
    x = number(v)
    if x is None or x < lo or x > hi:
        raise bad(name, what, v)
    return x


def seconds(msg, name):
    v = get(msg, name, False)
    if v is _MISSING:
        return None
    x = number(v)
    if x is None or x <= 0:
        raise bad(name, 'a number of seconds greater than 0', v)
    return x


def bit(msg, name, required=True, what='0 or 1'):
    v = get(msg, name, required)
    if v is _MISSING:
        return None
    if v is True or v == 'true':
        return 1
    if v is False or v == 'false':
        return 0
    x = number(v)
    if x != 0 and x != 1:
        raise bad(name, what, v)
    return int(x)


def choice(msg, name, values, required=True):
    v = get(msg, name, required)
    if v is _MISSING:
        return None
    if not isinstance(v, str) or v not in values:
        raise bad(name, 'one of ' + ', '.join(values), v)
    return v


def text(msg, name, lo=1, hi=64, required=True):
    v = get(msg, name, required)
    if v is _MISSING:
        return None
    if not isinstance(v, str) or not lo <= len(v) <= hi:
        raise bad(name, 'a string of %d to %d characters' % (lo, hi), v)
    return v


def flag(msg, name):
    # An optional true or false, nothing else (a switch such as auth's seal).
    v = get(msg, name, False)
    if v is _MISSING:
        return False
    if v is not True and v is not False:
        raise bad(name, 'true or false', v)
    return v


def hexdigits(msg, name, n, required=True):
    # A nonce or a proof: exactly n lowercase hex digits.
    v = get(msg, name, required)
    if v is _MISSING:
        return None
    if not isinstance(v, str) or len(v) != n or not lower_hex(v):
        raise bad(name, '%d lowercase hex digits' % n, v)
    return v


def lower_hex(s):
    for c in s:
        if not ('0' <= c <= '9' or 'a' <= c <= 'f'):
            return False
    return True
