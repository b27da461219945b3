# Safe over-the-air update of the firmware: action `update` (admin scope; docs/firmware.md).
#
# A client stages files under ota/stage (op begin, then chunk), op commit checks every file's size
# and SHA-256 and writes the journal; the board resets and boot.py calls Updater().boot(), which
# applies the update through the journal so that a power cut at any step leaves a tree that the
# next boot completes: exactly the old version or exactly the new one, never a mix.
#
#   ota/manifest.json  what begin declared: version and [path, size, sha256] per file
#   ota/stage/...      the staged files
#   ota/prev/...       backups of the files an update replaced (kept while it is on trial)
#   ota/journal.json   step "staged" -> "applying" (apply), or "rolling_back"; gone when done
#   ota/state.json     version, previous, state ("confirmed" | "trial"), boot_count,
#                      rolled_back_from, and the file lists a rollback needs
#
# A new version runs on trial: every boot counts, the app calls confirm() once it is healthy,
# and after MAX_TRIAL_BOOTS boots without a confirmation the next boot restores the backups.
# Every JSON write is atomic (x.tmp, then rename over x) and every step can be repeated.
# MicroPython and CPython: only os, json, hashlib, binascii; buffers of 512 bytes, reused.
import binascii
import hashlib
import json
import os

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_TRIAL_BOOTS = const(3)
CHUNK_BYTES = const(1024)
MAX_CHUNK_BYTES = const(4096)
MAX_FILES = const(128)
MAX_PATH = const(96)
HEALTH_S = const(60)
RESET_IN_MS = const(1000)
_BUF_BYTES = const(512)
_DIR = const(0x4000)
_INLINE_BYTES = const(128)
_EEXIST = const(17)

UPDATE_LABEL = 'tether-update-1'
OPS = ('status', 'list', 'begin', 'chunk', 'commit', 'abort', 'clear')
_NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-'
_HEX = '0123456789abcdef'
_INIT = 'tether/__init__.py'

# Test hook: when set, called with the name of every journal step; tests raise (or exit) in it
# to simulate a power cut at that step.
_checkpoint = None
_buf = None
# Where a trial boot's health timer is kept: in sys.modules, under a name boot.py does not drop.
# boot.py drops every tether module once it has armed the timer (main.py must import them
# afresh), and a timer nothing refers to is collected; rp2's Timer has a finaliser that stops it,
# so the first garbage collection would cancel the reset that rolls a failed version back.
_HEALTH_KEY = '_ota_health_timer'


def _step(name):
    if _checkpoint is not None:
        _checkpoint(name)


def _buffer():
    global _buf
    if _buf is None:
        _buf = bytearray(_BUF_BYTES)
    return _buf


def _fail(code, message):
    # Imported here so that boot.py can run this file from ota/prev on its own (see boot.py).
    from tether.errors import ProtoError
    return ProtoError(code, message)


def _show(value):
    try:
        text = json.dumps(value)
    except Exception:
        text = '?'
    return text if len(text) <= 40 else text[:37] + '...'


# --- paths and files (no os.path on MicroPython) ---

def _join(a, b):
    if not a:
        return b
    if a[-1] == '/':
        return a + b
    return a + '/' + b


def _parent(path):
    i = path.rfind('/')
    return path[:i] if i > 0 else ''


def _size(path):
    # Size of a file, -1 when it does not exist (or is a directory).
    try:
        st = os.stat(path)
    except OSError:
        return -1
    return -1 if st[0] & _DIR else st[6]


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _isdir(path):
    try:
        return os.stat(path)[0] & _DIR != 0
    except OSError:
        return False


def _makedirs(path):
    if not path or _isdir(path):
        return
    _makedirs(_parent(path))
    try:
        os.mkdir(path)
    except OSError:
        if not _isdir(path):
            raise


def _settle(path):
    # LittleFS completes a rename that a power cut interrupted only at its first write after a
    # mount, and until then it can hide the entry after the renamed one (a file, or a whole
    # folder such as ota/) from stat and listdir. mkdir does that completion before it looks
    # for the folder, so a mkdir of a folder that exists settles the tree without writing.
    try:
        os.mkdir(path)
    except OSError:
        pass


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _rmtree(path):
    if _isdir(path):
        for name in os.listdir(path):
            _rmtree(_join(path, name))
        try:
            os.rmdir(path)
        except OSError:
            pass
    else:
        _remove(path)


def _replace(src, dst):
    try:
        os.rename(src, dst)
    except OSError as e:
        # FAT cannot rename over an existing file (EEXIST). Removing dst first opens a window in
        # which only src exists; every caller recovers from it (a journal replays the move, and
        # _read_json falls back to x.tmp). Any other error is passed on: on LittleFS a rename
        # that failed half-way may yet complete, and dst may then be the only copy.
        if (e.args[0] if e.args else None) != _EEXIST or not _exists(src):
            raise
        _remove(dst)
        os.rename(src, dst)


def _copy(src, dst, step):
    tmp = dst + '.tmp'
    _makedirs(_parent(dst))
    buf = _buffer()
    mv = memoryview(buf)
    with open(src, 'rb') as fi:
        with open(tmp, 'wb') as fo:
            while True:
                n = fi.readinto(buf)
                if not n:
                    break
                fo.write(mv[:n])
    _step(step + ' (tmp)')
    _replace(tmp, dst)
    _step(step)


def _sha256(path):
    h = hashlib.sha256()
    buf = _buffer()
    mv = memoryview(buf)
    with open(path, 'rb') as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n])
    return binascii.hexlify(h.digest()).decode()


def _read_json(path):
    # loads/dumps rather than load/dump: MicroPython's json.load wants a native stream.
    try:
        with open(path) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        pass
    # A power cut inside _replace's FAT fallback leaves only x.tmp, complete (it was closed
    # before the rename); a tmp cut while it was written is not valid JSON and is ignored.
    tmp = path + '.tmp'
    try:
        with open(tmp) as f:
            value = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not _exists(path):
        _replace(tmp, path)
    return value


def _write_json(path, value, step):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(json.dumps(value))
    _step(step + ' (tmp)')
    _replace(tmp, path)
    _step(step)


def _remove_json(path):
    _remove(path)
    _remove(path + '.tmp')


def read_version(path):
    # The VERSION = '...' line of a tether/__init__.py, or None.
    try:
        with open(path) as f:
            while True:
                line = f.readline()
                if not line:
                    return None
                if line.startswith('VERSION'):
                    rest = line.split('=', 1)[1].strip()
                    if rest and rest[0] in '\'"':
                        end = rest.find(rest[0], 1)
                        if end > 0:
                            return rest[1:end]
                    return None
    except (OSError, IndexError, ValueError):
        return None


# --- argument checks (protocol.md §3.1: "<field>: ..." messages) ---

def _required(args, name, label):
    if name not in args:
        raise _fail('missing_field', label + ': required')
    return args[name]


def _int(args, name, label, lo, hi):
    v = _required(args, name, label)
    n = None
    if isinstance(v, bool):
        n = None
    elif isinstance(v, int):
        n = v
    elif isinstance(v, float):
        try:
            if v == int(v):
                n = int(v)
        except (OverflowError, ValueError):
            n = None
    elif isinstance(v, str):
        try:
            n = int(v.strip())
        except ValueError:
            n = None
    if n is None or n < lo or n > hi:
        raise _fail('bad_field', '%s: expected an integer from %d to %d, got %s' % (label, lo, hi, _show(v)))
    return n


def _path_problem(path):
    if not isinstance(path, str) or not path:
        return 'expected a path relative to the firmware root such as "tether/session.py", got ' + _show(path)
    if len(path) > MAX_PATH:
        return 'longer than %d characters' % MAX_PATH
    parts = path.split('/')
    for part in parts:
        if part == '':
            return '%s has an empty segment; use "/" only between names, never at the start or the end' % _show(path)
        if part == '.' or part == '..':
            return '%s: "." and ".." are not allowed; give the path from the firmware root' % _show(path)
        for c in part:
            if c not in _NAME_CHARS:
                return '%s: names may use only A-Z a-z 0-9 _ . -' % _show(path)
    # FAT, the file system of most boards, ignores case: Boot.py would overwrite boot.py.
    top = parts[0].lower()
    if top == 'config':
        return "%s is under config/, which holds the board's own settings, certificates and tokens; an update never replaces them" % _show(path)
    if top == 'ota':
        return '%s is under ota/, where the board keeps the update itself' % _show(path)
    if path.lower() == 'boot.py':
        return 'boot.py runs the update and the rollback, so an update never replaces it; copy it with mpremote if it changed'
    if not (path.endswith('.py') or path.endswith('.mpy') or path.endswith('.json')):
        return '%s: only .py, .mpy and .json files can be updated' % _show(path)
    return None


def _base64(data):
    # binascii is lenient on some ports (the WebAssembly one decodes "@@@@" to b''), so the
    # length of the result is checked against the length of the text.
    if isinstance(data, str):
        try:
            data = data.encode()
        except UnicodeError:
            return None
    if len(data) % 4:
        return None
    try:
        raw = binascii.a2b_base64(data)
    except Exception:
        return None
    pad = 0
    if len(data) >= 1 and data[-1] == 61:
        pad = 2 if len(data) >= 2 and data[-2] == 61 else 1
    if len(raw) != len(data) // 4 * 3 - pad:
        return None
    return raw


def manifest_digest(files, delete=()):
    # SHA-256 of "path\nsize\nsha256\n" per file, in begin's order, then "delete path\n" per file
    # the update removes (no path has a space, so the two kinds of line never read alike): status
    # reports it so that a client can tell whether the staging area holds its update and resume
    # it, and commit's MAC covers it, deletions included.
    h = hashlib.sha256()
    for path, size, sha in files:
        h.update(('%s\n%d\n%s\n' % (path, size, sha)).encode())
    for path in delete:
        h.update(('delete %s\n' % path).encode())
    return binascii.hexlify(h.digest()).decode()


def _mac_ok(key, version, manifest, given):
    # protocol.md §5.19: hex(HMAC-SHA256(K, "tether-update-1 " + version + " " + manifest)).
    # Imported here, as errors in _fail, so that boot.py can run this file from ota/prev alone.
    from tether import auth
    return auth.proof_ok(given, auth.proof(key, UPDATE_LABEL, version, manifest))


def _cancel_health_timer():
    import sys
    timer = sys.modules.pop(_HEALTH_KEY, None)
    if timer is not None:
        try:
            timer.deinit()
        except Exception:
            pass


def _entries(items):
    # [path, size, sha256] per file. A journal or state written by an older tether/ota.py lists
    # bare paths: size -1 and sha256 None say that nothing is known to check them against.
    out = []
    for e in items or ():
        if isinstance(e, str):
            out.append([e, -1, None])
        elif isinstance(e, list) and len(e) == 3:
            out.append(e)
    return out


def _matches(path, size, sha):
    # Whether the file at path is the one described, checked by its content: after a cut in the
    # middle of a rename, LittleFS can hide a file until the next write, so that a file that is
    # absent or different is never taken for done.
    n = _size(path)
    if n < 0:
        return False
    if sha is None:
        return True
    return n == size and _sha256(path) == sha


def _blocks(n, block):
    # Blocks a file of n bytes takes on LittleFS: none when it is inlined in its folder's
    # metadata (rp2 inlines up to 512 bytes, esp32 up to 128), whole blocks otherwise.
    return 0 if n <= _INLINE_BYTES else (n + block - 1) // block


class _Unverified(Exception):
    # A file that neither its place nor its copy holds as described: nothing is deleted then.
    pass


class Updater:
    def __init__(self, root='', max_frame_bytes=None):
        self.root = root
        ota = _join(root, 'ota')
        self._stage = _join(ota, 'stage')
        self._prev = _join(ota, 'prev')
        self._manifest = _join(ota, 'manifest.json')
        self._journal = _join(ota, 'journal.json')
        self._state_path = _join(ota, 'state.json')
        self._ota = ota
        chunk = CHUNK_BYTES
        frame = int(max_frame_bytes) if max_frame_bytes else 2048
        if max_frame_bytes:
            # base64 is 4/3 of the bytes; 400 bytes leave room for the rest of the request.
            chunk = min(chunk, max(48, (frame - 400) // 4 * 3))
        self.chunk_bytes = chunk
        # op "list" fills a reply up to this many bytes of file entries.
        self._list_bytes = max(200, frame - 400)

    # --- the protocol action ---

    def handle(self, args, key=None):
        # key: the key (SHA-256) of the admin token the connection authenticated with, or the
        # board key over the hub link; commit's manifest_mac must be made with it.
        op = _required(args, 'op', 'op')
        if not isinstance(op, str) or op not in OPS:
            raise _fail('bad_field', 'op: expected one of %s, got %s' % (', '.join('"%s"' % o for o in OPS), _show(op)))
        if op == 'status':
            return {'update': self.status()}
        if op == 'list':
            return self._list(args)
        if op == 'begin':
            return self._begin(args)
        if op == 'chunk':
            return self._chunk(args)
        if op == 'commit':
            return self._commit(args, key)
        if op == 'clear':
            return self.clear()
        self._abort()
        return {}

    def status(self):
        s = self._load_state()
        out = {
            'version': self.running_version() or s['version'],
            'previous': s['previous'],
            'state': s['state'],
            'boot_count': s['boot_count'],
            'rolled_back_from': s['rolled_back_from'],
        }
        j = _read_json(self._journal)
        if isinstance(j, dict) and j.get('step') != 'staged':
            # boot could not finish applying or rolling back: op "clear" puts the old version back.
            out['stuck'] = j.get('step')
        m = _read_json(self._manifest)
        if s['state'] != 'trial' and isinstance(m, dict) and isinstance(m.get('files'), list):
            received = {}
            for path, size, sha in m['files']:
                received[path] = max(_size(_join(self._stage, path)), 0)
            out['state'] = 'staging'
            out['staging'] = {
                'version': m['version'],
                'manifest': manifest_digest(m['files'], m.get('delete') or ()),
                'received': received,
                'committed': _exists(self._journal),
                'chunk_bytes': self.chunk_bytes,
            }
        return out

    def running_version(self):
        return read_version(_join(self.root, _INIT))

    def _list(self, args):
        # The board's own firmware files with their size and SHA-256, sorted by path, a reply's
        # worth at a time: a client sends only what differs. "after": the last path it got.
        after = args.get('after', '')
        if not isinstance(after, str) or len(after) > MAX_PATH:
            raise _fail('bad_field', 'after: expected the last path of the previous reply, got ' + _show(after))
        paths = []
        self._walk('', paths)
        paths.sort()
        files = []
        used = 0
        more = False
        for path in paths:
            if path <= after:
                continue
            cost = len(path) + 80
            if files and used + cost > self._list_bytes:
                more = True
                break
            live = _join(self.root, path)
            files.append([path, _size(live), _sha256(live)])
            used += cost
        return {'files': files, 'more': more}

    def _walk(self, rel, out):
        base = _join(self.root, rel) if rel else (self.root or '.')
        for name in os.listdir(base):
            path = _join(rel, name)
            if _isdir(_join(self.root, path)):
                if rel or name.lower() not in ('config', 'ota', 'tests'):
                    self._walk(path, out)
            elif _path_problem(path) is None:
                out.append(path)

    def _begin(self, args):
        # "append": true adds more files to the staging area being declared, so that a long
        # list can be sent in parts that fit the board's frame limit; otherwise a fresh start.
        version = _required(args, 'version', 'version')
        if not isinstance(version, str) or not 1 <= len(version) <= 32:
            raise _fail('bad_field', 'version: expected a string of 1 to 32 characters such as "0.1.1", got ' + _show(version))
        append = args.get('append', False)
        if append not in (True, False, 0, 1, 'true', 'false'):
            raise _fail('bad_field', 'append: expected true or false, got ' + _show(append))
        append = append in (True, 1, 'true')
        delete = args.get('delete', [])
        if not isinstance(delete, list):
            raise _fail('bad_field', 'delete: expected a list of paths the update removes, got ' + _show(delete))
        files = _required(args, 'files', 'files')
        if not isinstance(files, list) or not (files or delete or append):
            raise _fail('bad_field', 'files: expected a non-empty list of {"path", "size", "sha256"}, got ' + _show(files))
        if append:
            m = self._staging()
            if m['version'] != version:
                raise _fail(
                    'bad_field',
                    'version: the staging area holds version %s, not %s; send op "begin" without "append" to start afresh'
                    % (_show(m['version']), _show(version)),
                )
            entries = m['files']
            removed = m.get('delete') or []
        else:
            self._refuse_if_busy()
            entries = []
            removed = []
        if len(entries) + len(files) + len(removed) + len(delete) > MAX_FILES:
            raise _fail('bad_field', 'files: at most %d files per update, got %d' % (MAX_FILES, len(entries) + len(files) + len(removed) + len(delete)))
        # Keys in lower case: on FAT two paths differing only in case are one file.
        seen = set()
        dirs = set()
        for e in entries:
            seen.add(e[0].lower())
        for p in removed:
            seen.add(p.lower())
        for i, entry in enumerate(files):
            label = 'files[%d]' % i
            if not isinstance(entry, dict):
                raise _fail('bad_field', '%s: expected {"path", "size", "sha256"}, got %s' % (label, _show(entry)))
            path = _required(entry, 'path', label + '.path')
            problem = _path_problem(path)
            if problem:
                raise _fail('bad_field', '%s.path: %s' % (label, problem))
            if path.lower() in seen:
                raise _fail('bad_field', '%s.path: %s is listed twice (names differing only in case are one file on the board)' % (label, _show(path)))
            seen.add(path.lower())
            size = _int(entry, 'size', label + '.size', 0, 16 * 1024 * 1024)
            sha = _required(entry, 'sha256', label + '.sha256')
            if not isinstance(sha, str) or len(sha) != 64 or any(c not in _HEX for c in sha):
                raise _fail('bad_field', '%s.sha256: expected 64 lowercase hex digits, got %s' % (label, _show(sha)))
            entries.append([path, size, sha])
        for i, path in enumerate(delete):
            problem = _path_problem(path)
            if problem:
                raise _fail('bad_field', 'delete[%d]: %s' % (i, problem))
            if path.lower() in seen:
                raise _fail('bad_field', 'delete[%d]: %s is listed twice (names differing only in case are one file on the board)' % (i, _show(path)))
            if path == _INIT:
                raise _fail('bad_field', 'delete[%d]: tether/__init__.py holds the version; an update replaces it, never deletes it' % i)
            seen.add(path.lower())
            removed.append(path)
        for path in seen:
            d = _parent(path)
            while d:
                dirs.add(d)
                d = _parent(d)
        for path in seen:
            if path in dirs:
                raise _fail('bad_field', 'files: %s is both a file and a folder of another file' % _show(path))
        if not append:
            # A fresh staging area; backups left over from a confirmed update go too.
            _rmtree(self._stage)
            _remove_json(self._manifest)
            _rmtree(self._prev)
        need, free = self._space(entries, removed)
        if free is not None and need > free:
            raise _fail(
                'limit_exceeded',
                'files: the update needs %d KiB of free flash (the %d files it sends, backups of the files it replaces '
                'or deletes, and its journal) but %d KiB are free; send only the files that changed, delete files '
                'from the board, or update fewer files at a time' % ((need + 1023) // 1024, len(entries), free // 1024),
            )
        _makedirs(self._stage)
        _write_json(self._manifest, {'version': version, 'files': entries, 'delete': removed}, 'manifest')
        return {'chunk_bytes': self.chunk_bytes}

    def _chunk(self, args):
        m = self._staging()
        path = _required(args, 'path', 'path')
        entry = None
        for e in m['files']:
            if e[0] == path:
                entry = e
                break
        if entry is None:
            raise _fail('bad_field', 'path: %s is not one of the files declared by begin' % _show(path))
        offset = _int(args, 'offset', 'offset', 0, 16 * 1024 * 1024)
        data = _required(args, 'data', 'data')
        if not isinstance(data, str):
            raise _fail('bad_field', 'data: expected the chunk as a base64 string, got ' + _show(data))
        staged = _join(self._stage, path)
        have = max(_size(staged), 0)
        if offset != have:
            raise _fail(
                'bad_field',
                'offset: %d bytes of %s are staged, so its next chunk starts at offset %d (got %d); resume from there'
                % (have, path, have, offset),
            )
        raw = _base64(data)
        if raw is None:
            raise _fail('bad_field', 'data: not valid base64 (standard alphabet, padded with "=")')
        if len(raw) > MAX_CHUNK_BYTES:
            raise _fail('bad_field', 'data: at most %d bytes per chunk (begin said %d), got %d' % (MAX_CHUNK_BYTES, self.chunk_bytes, len(raw)))
        if have + len(raw) > entry[1]:
            raise _fail(
                'bad_field',
                'data: %d bytes at offset %d go past the declared size %d of %s' % (len(raw), offset, entry[1], path),
            )
        if raw:
            _makedirs(_parent(staged))
            with open(staged, 'ab') as f:
                f.write(raw)
        return {'received': have + len(raw)}

    def _commit(self, args, key):
        mac = _required(args, 'manifest_mac', 'manifest_mac')
        if not isinstance(mac, str) or len(mac) != 64 or any(c not in _HEX for c in mac):
            raise _fail('bad_field', 'manifest_mac: expected 64 lowercase hex digits, got ' + _show(mac))
        m = self._staging()
        # Before any file is read: a wrong MAC leaves the staging area exactly as it was.
        delete = m.get('delete') or []
        if key is None or not _mac_ok(key, m['version'], manifest_digest(m['files'], delete), mac):
            raise _fail(
                'unauthorized',
                'manifest_mac: does not match version %s and the files begin declared under the key of the token this '
                'connection authenticated with; the list was altered on the way or the MAC was made with another token. '
                'The staging area is kept; check the token, or begin again' % _show(m['version']),
            )
        for path, size, sha in m['files']:
            staged = _join(self._stage, path)
            have = _size(staged)
            if have < 0 and size == 0:
                _makedirs(_parent(staged))
                open(staged, 'wb').close()
                have = 0
            have = max(have, 0)
            if have != size:
                raise _fail(
                    'bad_field',
                    'files: %s has %d of its %d bytes staged; send the rest with op "chunk" from offset %d, then commit again'
                    % (path, have, size, have),
                )
            got = _sha256(staged)
            if got != sha:
                _remove(staged)
                raise _fail(
                    'bad_field',
                    'files: %s does not match its sha256 (expected %s, got %s); its staged copy was discarded, '
                    'send it again from offset 0, then commit again' % (path, sha, got),
                )
            if path == _INIT:
                staged_version = read_version(staged)
                if staged_version != m['version']:
                    raise _fail(
                        'bad_field',
                        'version: begin said %s but the staged tether/__init__.py says VERSION = %s; begin again with matching files'
                        % (_show(m['version']), _show(staged_version)),
                    )
        s = self._load_state()
        journal = {
            'step': 'staged',
            'version': m['version'],
            'previous': self.running_version() or s['version'],
            'before': s['previous'],
            'files': m['files'],
            'delete': delete,
        }
        try:
            _write_json(self._journal, journal, 'journal staged')
        except OSError as e:
            # Flash full, most likely: without a journal nothing is applied, and the staged
            # files stay for a commit once there is room.
            _remove(self._journal + '.tmp')
            raise _fail(
                'limit_exceeded',
                'files: the journal could not be written (%r): the flash is full or failing; free some space and commit again' % e,
            )
        return {'reset_in_ms': RESET_IN_MS}

    def _abort(self):
        j = _read_json(self._journal)
        if isinstance(j, dict):
            raise _fail(
                'bad_field',
                'op: version %s is committed and is applied at the next reset; it can no longer be aborted '
                '(op "clear" drops it, or puts the old version back if it was applied)' % _show(j.get('version')),
            )
        _rmtree(self._stage)
        _remove_json(self._manifest)

    def clear(self):
        # op "clear": whatever update the board holds goes, and the version that ran before it
        # stays or comes back. For a board stuck with a journal that boot could not complete, or
        # a version on trial that an operator gives up on. "reset_in_ms" when files changed.
        j = _read_json(self._journal)
        s = self._load_state()
        if isinstance(j, dict) and j.get('step') == 'staged':
            # Committed, not applied: the files in place are still the old ones.
            self._drop(j, 'journal cleared')
            return {'cleared': 'committed'}
        if isinstance(j, dict):
            self._rollback(self._rollback_journal(j))
            return {'cleared': 'rolled_back', 'reset_in_ms': RESET_IN_MS}
        if s['state'] == 'trial':
            self._start_rollback(s)
            return {'cleared': 'rolled_back', 'reset_in_ms': RESET_IN_MS}
        if _read_json(self._manifest) is not None or _exists(self._stage):
            self._abort()
            return {'cleared': 'staging'}
        return {'cleared': 'nothing'}

    def _drop(self, j, step):
        # An update that never touched the files in place: the journal goes first (from then on
        # the board is simply the old version), then what it staged.
        _remove_json(self._journal)
        _step(step)
        _remove_json(self._manifest)
        _rmtree(self._stage)
        _rmtree(self._prev)
        s = self._load_state()
        self._write_state(
            {'version': s['version'], 'previous': s['previous'], 'state': 'confirmed', 'boot_count': 0,
             'rolled_back_from': j.get('version')},
            'state dropped',
        )

    def _refuse_if_busy(self):
        j = _read_json(self._journal)
        if isinstance(j, dict):
            raise _fail(
                'bad_field',
                'op: version %s is committed and is applied at the next reset; wait for the board to restart, then check op "status"'
                % _show(j.get('version')),
            )
        s = self._load_state()
        if s['state'] == 'trial':
            raise _fail(
                'bad_field',
                'op: version %s is on trial (boot %d of %d) and not confirmed yet; wait until op "status" says "confirmed" '
                '(or that it rolled back), then begin again' % (_show(s['version']), s['boot_count'], MAX_TRIAL_BOOTS),
            )

    def _staging(self):
        self._refuse_if_busy()
        m = _read_json(self._manifest)
        if not isinstance(m, dict) or not isinstance(m.get('files'), list):
            raise _fail('bad_field', 'op: no update is being staged; send op "begin" first')
        return m

    def _space(self, entries, delete=()):
        # Bytes the update still needs, counted as LittleFS counts them: the staged copy of each
        # file (files already staged count only for what is still to come), a metadata pair (2
        # blocks) per new folder under ota/, the manifest, the journal (with its .tmp while it
        # is rewritten) and the trial state, and 2 blocks of slack. The backups cost nothing:
        # the files they keep are moved to ota/prev, not copied. free is None without statvfs.
        try:
            st = os.statvfs(self.root or os.getcwd())
            block = st[1] or st[0]
            free = block * st[4]
        except Exception:
            return 0, None
        block = block or 4096
        need = 2
        dirs = set()
        listed = 0
        for path, size, sha in entries:
            have = max(_size(_join(self._stage, path)), 0)
            need += _blocks(size, block) - _blocks(have, block)
            dirs.add(_parent(_join('stage', path)))
            listed += len(path) + 80
        for path in [e[0] for e in entries] + list(delete):
            if _size(_join(self.root, path)) >= 0:
                dirs.add(_parent(_join('prev', path)))
                listed += len(path) + 80
        for d in list(dirs):
            while d:
                dirs.add(d)
                d = _parent(d)
        for d in dirs:
            if not _isdir(_join(self._ota, d)):
                need += 2
        if not _isdir(self._ota):
            need += 2
        need += _blocks(listed, block) + 3 * _blocks(2 * listed, block)
        return need * block, free

    # --- state ---

    def _load_state(self):
        s = _read_json(self._state_path)
        if not isinstance(s, dict):
            s = {}
        out = {
            'version': s.get('version') or self.running_version() or 'unknown',
            'previous': s.get('previous'),
            'state': 'trial' if s.get('state') == 'trial' else 'confirmed',
            'boot_count': s.get('boot_count') if isinstance(s.get('boot_count'), int) else 0,
            'rolled_back_from': s.get('rolled_back_from'),
        }
        for key in ('before', 'files', 'old', 'added', 'added_dirs', 'delete'):
            out[key] = s.get(key)
        return out

    def _write_state(self, s, step):
        _makedirs(self._ota)
        _write_json(self._state_path, s, step)

    # --- boot, confirm, rollback ---

    def boot(self):
        # Called by boot.py at every start, before anything else. Returns a line for the log.
        notes = []
        _settle(self._ota)
        j = _read_json(self._journal)
        if isinstance(j, dict):
            notes.append(self._finish(j))
        s = self._load_state()
        if s['state'] == 'trial' and not _exists(self._journal):
            count = s['boot_count'] + 1
            if count > MAX_TRIAL_BOOTS:
                try:
                    self._start_rollback(s)
                    notes.append(
                        'version %s was not confirmed within %d boots: rolled back to %s' % (s['version'], MAX_TRIAL_BOOTS, s['previous'])
                    )
                except Exception as e:
                    notes.append('version %s was not confirmed within %d boots, and the rollback failed (%r); it is retried at the next start' % (s['version'], MAX_TRIAL_BOOTS, e))
            else:
                s['boot_count'] = count
                try:
                    self._write_state(s, 'boot count')
                except OSError as e:
                    notes.append('could not count this trial boot (%r)' % e)
                notes.append(
                    'version %s on trial, boot %d of %d: confirm within %s s' % (s['version'], count, MAX_TRIAL_BOOTS, self.health_deadline_s())
                )
        elif s['state'] != 'trial' and _exists(self._prev) and not _exists(self._journal):
            _rmtree(self._prev)
        if not notes:
            notes.append('version %s' % (self.running_version() or s['version']))
        return '; '.join(notes)

    def _finish(self, j):
        # Completes the journal's step, or, when that fails (flash full, a file that does not
        # check out), goes back to the old version: no step ends in a half-applied tree.
        step = j.get('step')
        try:
            if step in ('staged', 'applying'):
                self._apply(j)
                return 'applied update %s (was %s)' % (j.get('version'), j.get('previous'))
            if step == 'rolling_back':
                self._rollback(j)
                return 'finished rolling back %s to %s' % (j.get('version'), j.get('previous'))
            _remove_json(self._journal)
            return 'dropped a journal of unknown step %s' % _show(step)
        except Exception as e:
            failure = e
        # Read again: the step may have advanced before the failure.
        now = _read_json(self._journal)
        j = now if isinstance(now, dict) else j
        try:
            if j.get('step') == 'staged':
                self._drop(j, 'journal dropped')
                return 'update %s failed before it changed any file (%r): kept %s' % (j.get('version'), failure, j.get('previous'))
            self._rollback(self._rollback_journal(j))
            return 'update %s failed (%r): rolled back to %s' % (j.get('version'), failure, j.get('previous'))
        except Exception as e:
            return 'update %s failed (%r) and so did going back (%r); retried at the next start, or send op "clear"' % (j.get('version'), failure, e)

    def _rollback_journal(self, j):
        # The journal of a rollback from an applying (or rolling_back) journal or a trial state.
        old = j.get('old')
        if old is None:
            # Written by an older tether/ota.py: the files it replaced are those not added.
            added = j.get('added') or []
            old = [p for p in j.get('files') or [] if isinstance(p, str) and p not in added]
        r = {
            'step': 'rolling_back',
            'version': j.get('version'),
            'previous': j.get('previous'),
            'before': j.get('before'),
            'old': old,
            'added': j.get('added') or [],
            'added_dirs': j.get('added_dirs') or [],
        }
        if j.get('step') != 'rolling_back':
            _write_json(self._journal, r, 'journal rolling_back')
        return r

    def _start_rollback(self, s):
        self._rollback(self._rollback_journal(s))

    def _apply(self, j):
        files = _entries(j.get('files'))
        delete = j.get('delete') or []
        if j.get('step') == 'staged':
            # Note the hash of every file the update replaces or deletes; nothing changes in
            # place in this phase, so a repeat after a power cut finds the same files.
            old = []
            added = []
            added_dirs = []
            for path in [e[0] for e in files] + delete:
                live = _join(self.root, path)
                n = _size(live)
                if n >= 0:
                    old.append([path, n, _sha256(live)])
                elif path not in delete:
                    added.append(path)
                    d = _parent(path)
                    while d and not _isdir(_join(self.root, d)):
                        if d not in added_dirs:
                            added_dirs.append(d)
                        d = _parent(d)
            j = {
                'step': 'applying',
                'version': j.get('version'),
                'previous': j.get('previous'),
                'before': j.get('before'),
                'files': files,
                'delete': delete,
                'old': old,
                'added': added,
                'added_dirs': added_dirs,
            }
            _write_json(self._journal, j, 'journal applying')
        old = {}
        for e in _entries(j.get('old')):
            old[e[0]] = e
        for path, size, sha in files:
            live = _join(self.root, path)
            if _matches(live, size, sha):
                continue
            staged = _join(self._stage, path)
            if not _matches(staged, size, sha):
                raise _Unverified('%s: neither the file in place nor its staged copy is the one the update declared' % path)
            self._back_up(path, old.get(path))
            _makedirs(_parent(live))
            _replace(staged, live)
            _step('move ' + path)
        for path in delete:
            if _exists(_join(self.root, path)):
                self._back_up(path, old.get(path))
                _remove(_join(self.root, path))
        # Every file is checked before anything is deleted: the staging area may hold the only
        # good copy of a file that a cut hid.
        for path, size, sha in files:
            if not _matches(_join(self.root, path), size, sha):
                raise _Unverified('%s is not the file the update declared' % path)
        s = {
            'version': j.get('version'),
            'previous': j.get('previous'),
            'state': 'trial',
            'boot_count': 0,
            'rolled_back_from': None,
            'before': j.get('before'),
            'files': files,
            'old': j.get('old') or [],
            'added': j.get('added') or [],
            'added_dirs': j.get('added_dirs') or [],
        }
        self._write_state(s, 'state trial')
        # The manifest goes before the journal, so that no staging area of an applied update
        # is ever reported (a repeat of this step finds nothing left to move).
        _remove_json(self._manifest)
        _rmtree(self._stage)
        _step('stage removed')
        _remove_json(self._journal)
        _step('journal removed')

    def _back_up(self, path, entry):
        # The file in place moves to ota/prev (a rename: a backup costs no flash), unless a
        # checked backup is there already. Only the file the journal noted may move there.
        if entry is None:
            return
        backup = _join(self._prev, path)
        if _matches(backup, entry[1], entry[2]):
            return
        live = _join(self.root, path)
        if not _matches(live, entry[1], entry[2]):
            raise _Unverified('%s: neither the file in place nor its backup is the one the update replaces' % path)
        _makedirs(_parent(backup))
        _replace(live, backup)
        _step('backup ' + path)

    def _rollback(self, j):
        old = _entries(j.get('old'))
        added = j.get('added') or []
        for path, size, sha in old:
            live = _join(self.root, path)
            backup = _join(self._prev, path)
            if sha is None:
                # Nothing to check against (an older journal): a backup still there goes back.
                if _size(backup) >= 0:
                    _makedirs(_parent(live))
                    _replace(backup, live)
                    _step('restore ' + path)
                continue
            if _matches(live, size, sha):
                continue
            if not _matches(backup, size, sha):
                raise _Unverified('%s: neither the file in place nor its backup is the one the update replaced' % path)
            _makedirs(_parent(live))
            _replace(backup, live)
            _step('restore ' + path)
        for path in added:
            live = _join(self.root, path)
            if _exists(live):
                _remove(live)
                _step('remove ' + path)
        dirs = j.get('added_dirs') or []
        for d in sorted(dirs, key=len, reverse=True):
            try:
                os.rmdir(_join(self.root, d))
            except OSError:
                pass
        # Every file is checked before the backups go.
        for path, size, sha in old:
            if not _matches(_join(self.root, path), size, sha):
                raise _Unverified('%s was not restored' % path)
        for path in added:
            if _exists(_join(self.root, path)):
                raise _Unverified('%s, added by the update, is still there' % path)
        s = {
            'version': j.get('previous'),
            'previous': j.get('before'),
            'state': 'confirmed',
            'boot_count': 0,
            'rolled_back_from': j.get('version'),
        }
        self._write_state(s, 'state rolled back')
        _remove_json(self._journal)
        _step('journal removed')
        _rmtree(self._prev)
        _remove_json(self._manifest)
        _rmtree(self._stage)

    def confirm(self):
        # The app calls this once it is healthy (network up and serving, or linked to its hub).
        # Returns True when it confirmed a version on trial.
        _cancel_health_timer()
        s = self._load_state()
        if s['state'] != 'trial':
            return False
        self._write_state(
            {
                'version': s['version'],
                'previous': s['previous'],
                'state': 'confirmed',
                'boot_count': 0,
                'rolled_back_from': None,
            },
            'state confirmed',
        )
        _rmtree(self._prev)
        _step('backups removed')
        return True

    def in_trial(self):
        return self._load_state()['state'] == 'trial'

    def health_deadline_s(self):
        # Seconds the app has to call confirm() on a trial boot: config/device.json
        # {"update": {"health_s": N}} (5 to 3600), default 60.
        try:
            with open(_join(self.root, 'config/device.json')) as f:
                value = json.loads(f.read())['update']['health_s']
            if not isinstance(value, bool) and isinstance(value, (int, float)) and 5 <= value <= 3600:
                return value
        except Exception:
            pass
        return HEALTH_S

    def arm_health_timer(self):
        # On a trial boot, a one-shot timer resets the board when confirm() has not been called
        # by the deadline, even if main.py died at import and left the board at the REPL.
        # The timer reads the state from flash when it fires rather than being cancelled, since
        # confirm() runs in the tether.ota that main.py imports afresh, not in this one.
        # Returns the delay in ms, or None when no timer was armed (no trial, or no machine.Timer).
        import sys
        if not self.in_trial():
            return None
        try:
            import machine
        except ImportError:
            return None
        ms = int(self.health_deadline_s() * 1000)
        _cancel_health_timer()

        def deadline(_timer):
            try:
                healthy = not self.in_trial()
            except Exception:
                healthy = False
            if not healthy:
                print('ota: not confirmed within %d ms; resetting' % ms)
                machine.reset()

        for timer_id in (-1, 3, 0):
            try:
                timer = machine.Timer(timer_id)
                timer.init(mode=machine.Timer.ONE_SHOT, period=ms, callback=deadline)
                sys.modules[_HEALTH_KEY] = timer
                return ms
            except Exception:
                pass
        return None
