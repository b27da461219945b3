# CPython only: checks tether/messages.json against the code that names its messages. Prints one
# JSON list of problems (empty when all is well):
#   - a key used in the code (ProtoError(code, 'key', *values), text('key', (values)) or say(...)) that
#     the catalog lacks, or given another number of values than its text has placeholders;
#   - a catalog entry no code uses;
#   - a line that tether/errors.py's line scan would not read as its "key": "text" pair.
#   python3 check_messages.py [FIRMWARE_DIR]
import ast
import json
import os
import re
import sys

PLACEHOLDER = re.compile(r'%[-#0 +]*\d*(?:\.\d+)?[sdrxXfegc]')


def check(root):
    problems = []
    path = os.path.join(root, 'tether', 'messages.json')
    with open(path, encoding='utf-8') as fh:
        raw = fh.read()
    catalog = json.loads(raw)
    lines = raw.split('\n')
    body = [line for line in lines if line not in ('{', '}', '')]
    for line in body:
        # As tether/errors.py reads it: '"key": ', then the text as JSON, then maybe a comma.
        m = re.match(r'^"(\w+)": ', line)
        try:
            ok = m is not None and json.loads(line[m.end():].rstrip().rstrip(',')) == catalog.get(m.group(1))
        except ValueError:
            ok = False
        if not ok:
            problems.append('messages.json: not one "key": "text" pair per line: %s' % line[:60])
    if len(body) != len(catalog):
        problems.append('messages.json: %d lines for %d messages' % (len(body), len(catalog)))
    used = set()
    for folder, _, files in os.walk(os.path.join(root, 'tether')):
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            file = os.path.join(folder, name)
            where = os.path.relpath(file, root)
            for node in ast.walk(ast.parse(open(file, encoding='utf-8').read())):
                key, count = _use(node)
                if key is None:
                    continue
                used.add(key)
                if key not in catalog:
                    problems.append('%s:%d: no message "%s" in messages.json' % (where, node.lineno, key))
                elif count is not None and count != len(PLACEHOLDER.findall(catalog[key].replace('%%', ''))):
                    problems.append('%s:%d: "%s" given %d values for %d placeholders' % (where, node.lineno, key, count, len(PLACEHOLDER.findall(catalog[key]))))
    for key in catalog:
        if key not in used:
            problems.append('messages.json: "%s" is not used' % key)
    return problems


def _use(node):
    # (key, number of values or None when unknown) for a call naming a catalog message.
    if not isinstance(node, ast.Call):
        return None, None
    name = getattr(node.func, 'id', None) or getattr(node.func, 'attr', None)
    if name == 'ProtoError' and len(node.args) >= 2:
        arg, count = node.args[1], len(node.args) - 2
    elif name in ('text', 'say') and node.args:
        arg = node.args[0]
        values = node.args[1] if len(node.args) > 1 else None
        count = 0 if values is None else len(values.elts) if isinstance(values, ast.Tuple) else None
    else:
        return None, None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and ' ' not in arg.value:
        return arg.value, count
    return None, None


if __name__ == '__main__':
    here = os.path.dirname(os.path.abspath(__file__))
    print(json.dumps(check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(here)))))
