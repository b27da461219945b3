# From a frame's bytes to a request, and from results to a reply line (docs/protocol.md §2, §3).
import json
from micropython import const
from tether.errors import ProtoError

MAX_NESTING = const(32)


def decode(frame):
    # frame: a memoryview of one line. Checks in the order of §2 rule 5.
    try:
        text = str(frame, 'utf-8')
    except UnicodeError:
        raise ProtoError('bad_utf8', 'not_utf8')
    if _too_deep(text):
        raise ProtoError('bad_json', 'too_deep')
    try:
        value = json.loads(text)
    except ValueError:
        raise ProtoError('bad_json', 'not_json')
    if not isinstance(value, dict):
        kind = 'null' if value is None else 'an array' if isinstance(value, list) else 'a ' + _kind(value)
        raise ProtoError('not_an_object', 'not_object', kind)
    if 'e' in text or 'E' in text or 'N' in text:
        # 1e400 parses to inf, which JSON cannot carry back: echo it as null, as JavaScript does.
        _finite(value)
    return value


def _kind(v):
    if isinstance(v, str):
        return 'string'
    if isinstance(v, bool):
        return 'boolean'
    return 'number'


def _too_deep(text):
    # Brackets inside strings do not count; a frame with few brackets needs no scan.
    if text.count('{') + text.count('[') <= MAX_NESTING:
        return False
    depth = 0
    in_str = False
    esc = False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == '\\':
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == '{' or c == '[':
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif c == '}' or c == ']':
            depth -= 1
    return False


def _finite(obj):
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for k, v in items:
        if isinstance(v, float) and (v != v or v in (_INF, -_INF)):
            obj[k] = None
        elif isinstance(v, (dict, list)):
            _finite(v)


_INF = float('inf')


def dumps(message):
    return json.dumps(message, separators=(',', ':')).encode()


def encode(message):
    return dumps(message) + b'\n'


def ok_reply(request, results):
    # Every request field, then the results, then ok (§3.2); an echoed `error` would say failure.
    reply = dict(request) if request else {}
    if 'error' in reply:
        del reply['error']
    if results:
        reply.update(results)
    reply['ok'] = True
    return reply


def error_reply(request, err):
    reply = dict(request) if request else {}
    reply['ok'] = False
    reply['error'] = err.wire()
    return reply
