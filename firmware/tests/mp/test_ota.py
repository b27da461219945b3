# tether.ota: staging, checks, the journal and power cuts at every step, trial, confirm and
# rollback. Runs under CPython and MicroPython (WebAssembly): plain asserts, a scratch folder
# under the current directory (MicroPython has no tempfile).
import binascii
import hashlib
import json
import os

import lfs_sim
import tether.ota as ota
from fake_connection import FakeConnection
from tether import auth
from tether.errors import ProtoError

TMP = 'ota_test_tmp'

OLD = {
    'main.py': b"print('main 0.1.0')\n",
    'tether/__init__.py': b"VERSION = '0.1.0'\nPROTOCOL = 1\n",
    'tether/a.py': b'# a, old\n' + b'x = 1\n' * 50,
    'tether/drivers/d.py': b'# driver, unchanged by the update\n',
    'lib.json': b'{"kept": true}\n',
}
CONFIG = b'{"update": {"health_s": 30}}'
UPDATE = {
    'main.py': b"print('main 0.1.1')\n",
    'tether/__init__.py': b"VERSION = '0.1.1'\nPROTOCOL = 1\n",
    'tether/a.py': b'# a, new: more than two chunks\n' + b'y = 2  # padding\n' * 150,
    'tether/new.py': b'NEW = True\n',
    'tether/extra/deep/x.mpy': b'M\x06\x00\x1f binary \x00\xff',
    'tether/empty.py': b'',
}


# The key of the admin token a connection authenticated with (protocol.md §8.1: SHA-256 of it).
KEY = auth.key_of('admin-token-of-the-test-board-01')
OTHER_KEY = auth.key_of('admin-token-of-another-board-02')


class PowerCut(BaseException):
    # Not an Exception: the code under test must not pass over the power going off.
    pass


# --- helpers ---

def _join(a, b):
    return a + '/' + b if a else b


def _isdir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def _rm(path):
    if _isdir(path):
        for name in os.listdir(path):
            _rm(_join(path, name))
        os.rmdir(path)
    else:
        try:
            os.remove(path)
        except OSError:
            pass


def _write(path, data):
    parts = path.split('/')
    for i in range(1, len(parts)):
        d = '/'.join(parts[:i])
        if not _isdir(d):
            os.mkdir(d)
    with open(path, 'wb') as f:
        f.write(data)


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _sha(data):
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def _hashes(files):
    out = {}
    for path in files:
        out[path] = _sha(files[path])
    return out


def _tree(root=TMP, prefix=''):
    # path -> sha256 of every firmware file (the update's own ota/ area left out), plus a
    # 'dir:' entry for every folder, so that a folder left behind also counts as a difference.
    out = {}
    base = _join(root, prefix) if prefix else root
    for name in os.listdir(base):
        rel = _join(prefix, name)
        if rel == 'ota':
            continue
        full = _join(root, rel)
        if _isdir(full):
            out['dir:' + rel] = True
            out.update(_tree(root, rel))
        else:
            out[rel] = _sha(_read(full))
    return out


def _expected(files):
    out = {}
    for path in files:
        out[path] = _sha(files[path])
        parts = path.split('/')
        for i in range(1, len(parts)):
            out['dir:' + '/'.join(parts[:i])] = True
    return out


def _fresh():
    _rm(TMP)
    os.mkdir(TMP)
    for path in OLD:
        _write(_join(TMP, path), OLD[path])
    _write(_join(TMP, 'config/device.json'), CONFIG)
    ota._checkpoint = None


def _old_tree():
    files = dict(OLD)
    files['config/device.json'] = CONFIG
    return _expected(files)


def _new_tree():
    files = dict(OLD)
    files.update(UPDATE)
    files['config/device.json'] = CONFIG
    return _expected(files)


def _manifest(files):
    out = []
    for path in sorted(files):
        out.append({'path': path, 'size': len(files[path]), 'sha256': _sha(files[path])})
    return out


def _b64(data):
    return binascii.b2a_base64(data).decode().strip()


def _begin(u, files=UPDATE, version='0.1.1'):
    return u.handle({'op': 'begin', 'version': version, 'files': _manifest(files)})


def _send(u, path, data, start=0, size=None):
    size = size or u.chunk_bytes
    offset = start
    received = start
    while offset < len(data):
        piece = data[offset:offset + size]
        received = u.handle({'op': 'chunk', 'path': path, 'offset': offset, 'data': _b64(piece)})['received']
        offset += len(piece)
    return received


def _stage_all(u, files=UPDATE, version='0.1.1'):
    _begin(u, files, version)
    for path in sorted(files):
        _send(u, path, files[path])


def _mac(version='0.1.1', files=UPDATE, key=KEY):
    # protocol.md §5.19, with the manifest digest computed here rather than by tether.ota.
    h = hashlib.sha256()
    for m in _manifest(files):
        h.update(('%s\n%d\n%s\n' % (m['path'], m['size'], m['sha256'])).encode())
    manifest = binascii.hexlify(h.digest()).decode()
    return auth.proof(key, 'tether-update-1', version, manifest)


def _commit_request(version='0.1.1', files=UPDATE, key=KEY):
    return {'op': 'commit', 'manifest_mac': _mac(version, files, key)}


def _commit(u, version='0.1.1', files=UPDATE):
    return u.handle(_commit_request(version, files), KEY)


def _update(u, files=UPDATE):
    _stage_all(u, files)
    return _commit(u, files=files)


def _error(fn, *args):
    try:
        fn(*args)
    except ProtoError as e:
        return e
    raise AssertionError('expected a ProtoError')


def _status():
    return ota.Updater(TMP).handle({'op': 'status'})['update']


def _with_cut(k, scenario):
    # Runs scenario with a power cut at the k-th journal step; True when the cut happened.
    seen = [0]

    def checkpoint(name):
        seen[0] += 1
        if seen[0] == k:
            raise PowerCut(name)

    ota._checkpoint = checkpoint
    try:
        scenario()
        return False
    except PowerCut:
        return True
    finally:
        ota._checkpoint = None


def _steps(scenario):
    names = []
    ota._checkpoint = names.append
    try:
        scenario()
    finally:
        ota._checkpoint = None
    return names


def _done():
    ota._checkpoint = None
    _rm(TMP)


# --- tests ---

def test_status_before_any_update():
    _fresh()
    try:
        assert _status() == {'version': '0.1.0', 'previous': None, 'state': 'confirmed', 'boot_count': 0, 'rolled_back_from': None}
        assert ota.Updater(TMP).boot() == 'version 0.1.0'
    finally:
        _done()


def test_happy_path_begin_chunk_commit_boot_confirm():
    _fresh()
    try:
        u = ota.Updater(TMP)
        assert _begin(u) == {'chunk_bytes': 1024}
        s = _status()
        assert s['state'] == 'staging'
        assert s['staging']['version'] == '0.1.1'
        assert s['staging']['received']['tether/a.py'] == 0
        assert s['staging']['committed'] is False
        a = UPDATE['tether/a.py']
        assert len(a) > 2 * 1024
        assert u.handle({'op': 'chunk', 'path': 'tether/a.py', 'offset': 0, 'data': _b64(a[:1024])}) == {'received': 1024}
        assert _status()['staging']['received']['tether/a.py'] == 1024
        # numeric strings are accepted, as for every integer argument (protocol.md §3.3)
        assert u.handle({'op': 'chunk', 'path': 'tether/a.py', 'offset': '1024', 'data': _b64(a[1024:2048])}) == {'received': 2048}
        assert _send(u, 'tether/a.py', a, start=2048) == len(a)
        for path in sorted(UPDATE):
            if path != 'tether/a.py' and UPDATE[path]:
                assert _send(u, path, UPDATE[path]) == len(UPDATE[path])
        assert _commit(u) == {'reset_in_ms': 1000}
        assert _status()['staging']['committed'] is True
        # nothing changed yet: the update is applied by the next boot
        assert _tree() == _old_tree()
        note = ota.Updater(TMP).boot()
        assert 'applied update 0.1.1 (was 0.1.0)' in note, note
        assert 'boot 1 of 3' in note, note
        assert _tree() == _new_tree()
        s = _status()
        assert s == {'version': '0.1.1', 'previous': '0.1.0', 'state': 'trial', 'boot_count': 1, 'rolled_back_from': None}, s
        assert ota.Updater(TMP).confirm() is True
        assert _status() == {'version': '0.1.1', 'previous': '0.1.0', 'state': 'confirmed', 'boot_count': 0, 'rolled_back_from': None}
        assert not _isdir(TMP + '/ota/prev')
        assert not _isdir(TMP + '/ota/stage')
        assert ota.Updater(TMP).confirm() is False
        assert ota.Updater(TMP).boot() == 'version 0.1.1'
        assert _tree() == _new_tree()
    finally:
        _done()


def test_chunk_size_follows_the_frame_limit():
    _fresh()
    try:
        u = ota.Updater(TMP, max_frame_bytes=1024)
        n = _begin(u)['chunk_bytes']
        assert n == 468, n
        assert 4 * ((n + 2) // 3) + 400 <= 1024
        assert ota.Updater(TMP, max_frame_bytes=65536).chunk_bytes == 1024
    finally:
        _done()


def test_op_errors():
    _fresh()
    try:
        u = ota.Updater(TMP)
        e = _error(u.handle, {})
        assert e.code == 'missing_field' and e.message.startswith('op: '), e.message
        e = _error(u.handle, {'op': 'upload'})
        assert e.code == 'bad_field' and e.message.startswith('op: '), e.message
        e = _error(u.handle, {'op': 'chunk', 'path': 'main.py', 'offset': 0, 'data': ''})
        assert e.code == 'bad_field'
        assert e.message == 'op: no update is being staged; send op "begin" first', e.message
        e = _error(u.handle, _commit_request(), KEY)
        assert e.code == 'bad_field' and 'send op "begin" first' in e.message
        assert u.handle({'op': 'abort'}) == {}
    finally:
        _done()


def test_begin_checks_every_field():
    _fresh()
    try:
        u = ota.Updater(TMP)
        good = _manifest({'tether/x.py': b'x'})[0]

        def begin(files, version='0.1.1'):
            return _error(u.handle, {'op': 'begin', 'version': version, 'files': files})

        e = _error(u.handle, {'op': 'begin', 'files': [good]})
        assert (e.code, e.message) == ('missing_field', 'version: required'), e.message
        assert begin([good], version='').code == 'bad_field'
        assert begin([good], version='1' * 33).message.startswith('version: ')
        e = _error(u.handle, {'op': 'begin', 'version': '1'})
        assert (e.code, e.message) == ('missing_field', 'files: required')
        assert begin([]).message.startswith('files: ')
        assert begin('x').message.startswith('files: ')
        bad_paths = [
            'config/device.json',
            'config/tokens.json',
            '../main.py',
            'tether/../../x.py',
            './main.py',
            '/main.py',
            'tether//x.py',
            'tether/x.txt',
            'tether/x',
            'tether/bad name.py',
            'tether/ü.py',
            'ota/state.json',
            'boot.py',
            '',
            3,
            None,
        ]
        for path in bad_paths:
            entry = {'path': path, 'size': 1, 'sha256': good['sha256']}
            e = begin([entry])
            assert e.code == 'bad_field', path
            assert e.message.startswith('files[0].path: '), e.message
        e = begin([good, {'path': 'config/x.json', 'size': 1, 'sha256': good['sha256']}])
        assert e.message.startswith('files[1].path: ') and 'config/' in e.message, e.message
        e = begin([good, good])
        assert 'twice' in e.message
        e = begin([{'path': 'a.py', 'size': 1, 'sha256': good['sha256']}, {'path': 'a.py/b.py', 'size': 1, 'sha256': good['sha256']}])
        assert e.code == 'bad_field'
        e = begin([{'path': 'x.py', 'sha256': good['sha256']}])
        assert (e.code, e.message) == ('missing_field', 'files[0].size: required')
        for size in (-1, 'big', 1.5, True, None):
            e = begin([{'path': 'x.py', 'size': size, 'sha256': good['sha256']}])
            assert e.code == 'bad_field' and e.message.startswith('files[0].size: '), size
        for sha in ('ABC', good['sha256'].upper(), good['sha256'][:-1] + 'g', 5):
            e = begin([{'path': 'x.py', 'size': 1, 'sha256': sha}])
            assert e.code == 'bad_field' and e.message.startswith('files[0].sha256: '), sha
        e = begin([{'path': 'x.py', 'size': 1}])
        assert (e.code, e.message) == ('missing_field', 'files[0].sha256: required')
        e = begin(['x.py'])
        assert e.message.startswith('files[0]: ')
        # nothing was staged by any of these
        assert _status()['state'] == 'confirmed'
    finally:
        _done()


def test_security_paths_are_compared_without_case():
    # FAT ignores case: Boot.py is boot.py there, CONFIG/ is config/, and two names differing
    # only in case are one file that the second would overwrite.
    _fresh()
    try:
        u = ota.Updater(TMP)
        good = _manifest({'tether/x.py': b'x'})[0]

        def begin(files, append=False):
            request = {'op': 'begin', 'version': '0.1.1', 'files': files}
            if append:
                request['append'] = True
            return _error(u.handle, request)

        def entry(path):
            return {'path': path, 'size': 1, 'sha256': good['sha256']}

        for path in ('Boot.py', 'BOOT.py', 'CONFIG/device.json', 'Config/tokens.json', 'OTA/state.json', 'Ota/x.py'):
            e = begin([entry(path)])
            assert e.code == 'bad_field' and e.message.startswith('files[0].path: '), path
        e = begin([entry('tether/Foo.py'), entry('tether/foo.py')])
        assert e.code == 'bad_field' and e.message.startswith('files[1].path: ') and 'twice' in e.message, e.message
        e = begin([entry('Tether/a.py'), entry('tether/A.py')])
        assert e.code == 'bad_field' and 'twice' in e.message, e.message
        e = begin([entry('Lib.py'), entry('lib.py/b.py')])
        assert e.code == 'bad_field' and 'both a file and a folder' in e.message, e.message
        assert _status()['state'] == 'confirmed'
        # A name already staged by an earlier begin counts too.
        assert u.handle({'op': 'begin', 'version': '0.1.1', 'files': [entry('tether/Foo.py')]}) is not None
        e = begin([entry('tether/foo.py')], append=True)
        assert e.code == 'bad_field' and 'twice' in e.message, e.message
    finally:
        _done()


def test_begin_in_parts_with_append():
    # A long list goes in several begin requests that each fit the board's frame limit.
    _fresh()
    try:
        u = ota.Updater(TMP)
        manifest = _manifest(UPDATE)
        e = _error(u.handle, {'op': 'begin', 'version': '0.1.1', 'files': manifest[:2], 'append': True})
        assert e.code == 'bad_field' and 'send op "begin" first' in e.message, e.message
        assert u.handle({'op': 'begin', 'version': '0.1.1', 'files': manifest[:2]}) == {'chunk_bytes': 1024}
        assert u.handle({'op': 'begin', 'version': '0.1.1', 'files': manifest[2:4], 'append': True}) == {'chunk_bytes': 1024}
        e = _error(u.handle, {'op': 'begin', 'version': '0.1.2', 'files': manifest[4:], 'append': True})
        assert e.code == 'bad_field' and e.message.startswith('version: the staging area holds version "0.1.1"'), e.message
        e = _error(u.handle, {'op': 'begin', 'version': '0.1.1', 'files': manifest[1:], 'append': True})
        assert e.code == 'bad_field' and e.message.startswith('files[0].path: ') and 'twice' in e.message, e.message
        e = _error(u.handle, {'op': 'begin', 'version': '0.1.1', 'files': manifest[4:], 'append': 'yes'})
        assert e.code == 'bad_field' and e.message.startswith('append: '), e.message
        assert u.handle({'op': 'begin', 'version': '0.1.1', 'files': manifest[4:], 'append': 'true'}) == {'chunk_bytes': 1024}
        entries = [[m['path'], m['size'], m['sha256']] for m in manifest]
        assert _status()['staging']['manifest'] == ota.manifest_digest(entries)
        for path in sorted(UPDATE):
            _send(u, path, UPDATE[path])
        assert _commit(u) == {'reset_in_ms': 1000}
        ota.Updater(TMP).boot()
        assert _tree() == _new_tree()
    finally:
        _done()


def test_begin_refuses_what_does_not_fit_in_flash():
    _fresh()
    try:
        u = ota.Updater(TMP)
        u._space = lambda entries, delete=(): (200 * 1024, 100 * 1024)
        e = _error(_begin, u)
        assert e.code == 'limit_exceeded', e.code
        assert e.message.startswith('files: ') and 'needs 200 KiB' in e.message and '100 KiB are free' in e.message, e.message
        assert _status()['state'] == 'confirmed'
    finally:
        _done()


def test_chunk_checks_path_offset_data_and_size():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _begin(u)
        data = UPDATE['tether/new.py']
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/other.py', 'offset': 0, 'data': _b64(data)})
        assert e.code == 'bad_field' and e.message.startswith('path: ') and 'not one of the files' in e.message
        e = _error(u.handle, {'op': 'chunk', 'offset': 0, 'data': _b64(data)})
        assert (e.code, e.message) == ('missing_field', 'path: required')
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'data': _b64(data)})
        assert (e.code, e.message) == ('missing_field', 'offset: required')
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': 0})
        assert (e.code, e.message) == ('missing_field', 'data: required')
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': 0, 'data': 7})
        assert e.code == 'bad_field' and e.message.startswith('data: ')
        for bad in ('@@@@', 'abc', 'YWJj=', 'not base64!'):
            e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': 0, 'data': bad})
            assert e.code == 'bad_field' and e.message.startswith('data: '), bad
        # a wrong offset names the one to resume from
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': 4, 'data': _b64(data)})
        assert e.code == 'bad_field' and e.message.startswith('offset: 0 bytes of tether/new.py are staged'), e.message
        assert u.handle({'op': 'chunk', 'path': 'tether/new.py', 'offset': 0, 'data': _b64(data[:4])}) == {'received': 4}
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': 0, 'data': _b64(data[:4])})
        assert 'starts at offset 4 (got 0)' in e.message, e.message
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': -1, 'data': ''})
        assert e.code == 'bad_field' and e.message.startswith('offset: ')
        # past the declared size
        e = _error(u.handle, {'op': 'chunk', 'path': 'tether/new.py', 'offset': 4, 'data': _b64(data[4:] + b'extra')})
        assert e.code == 'bad_field' and 'past the declared size' in e.message, e.message
        assert u.handle({'op': 'chunk', 'path': 'tether/new.py', 'offset': 4, 'data': _b64(data[4:])}) == {'received': len(data)}
        # a commit with a file short names it and the offset to go on from
        e = _error(u.handle, _commit_request(), KEY)
        assert e.code == 'bad_field' and e.message.startswith('files: ') and 'from offset 0' in e.message, e.message
    finally:
        _done()


def test_sha_mismatch_at_commit_discards_that_file():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _begin(u)
        for path in sorted(UPDATE):
            data = UPDATE[path]
            if path == 'tether/new.py':
                data = b'NEW = Fals\n'
            _send(u, path, data)
        e = _error(u.handle, _commit_request(), KEY)
        assert e.code == 'bad_field'
        assert e.message.startswith('files: tether/new.py does not match its sha256'), e.message
        s = _status()
        assert s['state'] == 'staging' and s['staging']['received']['tether/new.py'] == 0
        assert s['staging']['received']['tether/a.py'] == len(UPDATE['tether/a.py'])
        _send(u, 'tether/new.py', UPDATE['tether/new.py'])
        assert _commit(u) == {'reset_in_ms': 1000}
        ota.Updater(TMP).boot()
        assert _tree() == _new_tree()
    finally:
        _done()


def test_version_must_match_the_staged_init():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _stage_all(u, version='0.2.0')
        e = _error(u.handle, _commit_request('0.2.0'), KEY)
        assert e.code == 'bad_field' and e.message.startswith('version: '), e.message
        assert _tree() == _old_tree()
    finally:
        _done()


def test_abort_and_a_second_begin_discard_the_staging_area():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _begin(u)
        _send(u, 'tether/new.py', UPDATE['tether/new.py'])
        assert u.handle({'op': 'abort'}) == {}
        assert _status()['state'] == 'confirmed'
        assert not _isdir(TMP + '/ota/stage')
        _begin(u)
        _send(u, 'tether/new.py', UPDATE['tether/new.py'])
        _begin(u)
        assert _status()['staging']['received']['tether/new.py'] == 0
        e = _error(u.handle, _commit_request(), KEY)
        assert e.code == 'bad_field'
    finally:
        _done()


def test_committed_update_cannot_be_aborted_or_restarted():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _update(u)
        for request in ({'op': 'abort'}, {'op': 'begin', 'version': '9', 'files': _manifest(UPDATE)}, _commit_request()):
            e = _error(u.handle, request, KEY)
            assert e.code == 'bad_field' and 'committed' in e.message, e.message
        ota.Updater(TMP).boot()
        assert _tree() == _new_tree()
    finally:
        _done()


def test_status_reports_a_resumable_staging_area():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _begin(u)
        _send(u, 'tether/a.py', UPDATE['tether/a.py'][:2048])
        s = _status()['staging']
        entries = [[e['path'], e['size'], e['sha256']] for e in _manifest(UPDATE)]
        assert s['manifest'] == ota.manifest_digest(entries)
        assert len(s['manifest']) == 64
        assert s['received']['tether/a.py'] == 2048
        # a new Updater (as after a reconnection) resumes from what is staged
        u2 = ota.Updater(TMP)
        assert _send(u2, 'tether/a.py', UPDATE['tether/a.py'], start=2048) == len(UPDATE['tether/a.py'])
    finally:
        _done()


def test_no_new_update_while_one_is_on_trial():
    _fresh()
    try:
        _update(ota.Updater(TMP))
        ota.Updater(TMP).boot()
        e = _error(_begin, ota.Updater(TMP))
        assert e.code == 'bad_field' and 'on trial' in e.message, e.message
        ota.Updater(TMP).confirm()
        assert _begin(ota.Updater(TMP)) == {'chunk_bytes': 1024}
    finally:
        _done()


def test_trial_boots_then_rollback_after_four_boots():
    _fresh()
    try:
        _update(ota.Updater(TMP))
        notes = []
        for _ in range(3):
            notes.append(ota.Updater(TMP).boot())
            assert _tree() == _new_tree()
        assert 'boot 3 of 3' in notes[2], notes
        assert _status()['boot_count'] == 3
        note = ota.Updater(TMP).boot()
        assert 'was not confirmed within 3 boots: rolled back to 0.1.0' in note, note
        assert _tree() == _old_tree()
        s = _status()
        assert s == {'version': '0.1.0', 'previous': None, 'state': 'confirmed', 'boot_count': 0, 'rolled_back_from': '0.1.1'}, s
        assert not _isdir(TMP + '/ota/prev')
        assert ota.Updater(TMP).boot() == 'version 0.1.0'
        assert _tree() == _old_tree()
        # a later update clears rolled_back_from
        _update(ota.Updater(TMP))
        ota.Updater(TMP).boot()
        assert _status()['rolled_back_from'] is None
    finally:
        _done()


def test_confirm_on_the_last_trial_boot_keeps_the_update():
    _fresh()
    try:
        _update(ota.Updater(TMP))
        for _ in range(3):
            ota.Updater(TMP).boot()
        assert ota.Updater(TMP).confirm() is True
        assert ota.Updater(TMP).boot() == 'version 0.1.1'
        assert _tree() == _new_tree()
    finally:
        _done()


def test_power_cut_at_every_step_of_an_update():
    _fresh()

    def scenario():
        u = ota.Updater(TMP)
        _update(u)
        ota.Updater(TMP).boot()

    try:
        names = _steps(scenario)
        assert 'journal staged' in names and 'journal applying' in names and 'state trial' in names, names
        assert 'move tether/new.py' in names and 'backup tether/a.py' in names, names
        old, new = _old_tree(), _new_tree()
        outcomes = {}
        for k in range(1, len(names) + 1):
            _fresh()
            assert _with_cut(k, scenario), k
            ota.Updater(TMP).boot()
            tree = _tree()
            assert tree == old or tree == new, 'mixed tree after a cut at step %d (%s)' % (k, names[k - 1])
            s = _status()
            if tree == new:
                assert s['version'] == '0.1.1' and s['state'] == 'trial', s
                outcomes['new'] = outcomes.get('new', 0) + 1
            else:
                assert s['version'] == '0.1.0' and s['state'] in ('confirmed', 'staging'), s
                outcomes['old'] = outcomes.get('old', 0) + 1
            before = _status()
            ota.Updater(TMP).boot()
            assert _tree() == tree, 'a second boot changed the tree after a cut at step %d' % k
            after = _status()
            assert after['version'] == before['version'] and after['state'] == before['state'], (before, after)
            assert not _isdir(TMP + '/ota/stage') or tree == old
        assert outcomes.get('old') and outcomes.get('new'), outcomes
    finally:
        _done()


def test_power_cut_at_every_step_of_a_rollback():
    def prepare():
        _fresh()
        _update(ota.Updater(TMP))
        for _ in range(3):
            ota.Updater(TMP).boot()

    try:
        prepare()
        names = _steps(lambda: ota.Updater(TMP).boot())
        assert 'journal rolling_back' in names and 'restore tether/a.py' in names and 'remove tether/new.py' in names, names
        for k in range(1, len(names) + 1):
            prepare()
            assert _with_cut(k, lambda: ota.Updater(TMP).boot()), k
            ota.Updater(TMP).boot()
            tree = _tree()
            s = _status()
            if tree == _new_tree():
                # cut before the rollback was journaled: the count was not raised, so this
                # boot was the 4th and rolls back now
                assert False, 'new tree after a cut at rollback step %d (%s): %s' % (k, names[k - 1], s)
            assert tree == _old_tree(), 'mixed tree after a cut at rollback step %d (%s)' % (k, names[k - 1])
            assert s['version'] == '0.1.0' and s['rolled_back_from'] == '0.1.1' and s['state'] == 'confirmed', s
            ota.Updater(TMP).boot()
            assert _tree() == tree and _status() == s
    finally:
        _done()


def test_power_cut_while_confirming():
    def prepare():
        _fresh()
        _update(ota.Updater(TMP))
        ota.Updater(TMP).boot()

    try:
        prepare()
        names = _steps(lambda: ota.Updater(TMP).confirm())
        assert names, names
        for k in range(1, len(names) + 1):
            prepare()
            assert _with_cut(k, lambda: ota.Updater(TMP).confirm()), k
            ota.Updater(TMP).boot()
            assert _tree() == _new_tree()
            s = _status()
            assert s['version'] == '0.1.1' and s['state'] in ('trial', 'confirmed'), s
            ota.Updater(TMP).confirm()
            assert _status()['state'] == 'confirmed'
            assert not _isdir(TMP + '/ota/prev')
    finally:
        _done()


def test_interrupted_json_write_is_recovered_from_its_tmp():
    # The FAT fallback of a rename removes the old file first: a cut there leaves only x.tmp.
    _fresh()
    try:
        _update(ota.Updater(TMP))
        journal = TMP + '/ota/journal.json'
        os.rename(journal, journal + '.tmp')
        ota.Updater(TMP).boot()
        assert _tree() == _new_tree()
        names = os.listdir(TMP + '/ota')
        assert 'journal.json' not in names and 'journal.json.tmp' not in names, names
        # a tmp cut while it was being written is not valid JSON and is ignored
        with open(TMP + '/ota/state.json.tmp', 'w') as f:
            f.write('{"version": "9.9')
        assert _status()['version'] == '0.1.1'
    finally:
        _done()


def test_health_deadline_comes_from_the_config():
    _fresh()
    try:
        assert ota.Updater(TMP).health_deadline_s() == 30
        for text in ('{"update": {"health_s": 2}}', '{"update": {"health_s": "90"}}', '{"update": 5}', '[]', '{bad', '{"update": {"health_s": true}}'):
            _write(TMP + '/config/device.json', text.encode())
            assert ota.Updater(TMP).health_deadline_s() == 60, text
        _write(TMP + '/config/device.json', b'{"update": {"health_s": 120}}')
        assert ota.Updater(TMP).health_deadline_s() == 120
        _rm(TMP + '/config')
        assert ota.Updater(TMP).health_deadline_s() == 60
        # no version on trial: no timer (and off a board there is no machine.Timer anyway)
        assert ota.Updater(TMP).arm_health_timer() is None
    finally:
        _done()


def test_the_health_timer_outlives_the_modules_boot_py_drops_and_a_collection():
    # boot.py imports tether.ota, arms the timer, then drops every tether module; rp2's Timer is
    # collected (and stops) once nothing refers to it. The machine shim's timer list holds it
    # weakly, as the port's does, under CPython; under MicroPython the shim keeps it, so there
    # this checks the wiring only. A copy of tether/ota.py that only this test refers to stands
    # in for the module boot.py drops (this test module keeps its own tether.ota alive).
    import gc
    import sys
    import simhw
    _fresh()
    try:
        _update(ota.Updater(TMP))
        ota.Updater(TMP).boot()
        simhw.reset()
        scope = {'__name__': 'ota_as_boot_py_loads_it'}
        with open(ota.__file__) as f:
            exec(f.read(), scope)
        assert scope['Updater'](TMP).arm_health_timer() == 30000, 'armed on a trial boot, with the config deadline'
        scope.clear()
        del scope
        gc.collect()
        gc.collect()
        assert len(simhw.live_timers()) == 1, 'the health timer was collected with the module that armed it'
        try:
            simhw.fire_timers()
        except SystemExit:
            pass  # machine.reset() does not return
        assert simhw.calls == [('reset',)], 'not confirmed by the deadline: the board resets (%r)' % simhw.calls
        # confirm() stops it.
        simhw.reset()
        ota.Updater(TMP).arm_health_timer()
        assert ota.Updater(TMP).confirm() is True
        gc.collect()
        simhw.fire_timers()
        assert simhw.calls == [] and simhw.live_timers() == [], simhw.calls
    finally:
        sys.modules.pop('_ota_health_timer', None)
        _done()


def test_config_is_never_touched_by_an_update_or_a_rollback():
    _fresh()
    try:
        _update(ota.Updater(TMP))
        for _ in range(4):
            ota.Updater(TMP).boot()
        assert _read(TMP + '/config/device.json') == CONFIG
    finally:
        _done()


def test_json_files_of_the_state_are_valid_json():
    _fresh()
    try:
        _update(ota.Updater(TMP))
        ota.Updater(TMP).boot()
        with open(TMP + '/ota/state.json') as f:
            state = json.load(f)
        assert state['state'] == 'trial' and state['added'] == ['tether/empty.py', 'tether/extra/deep/x.mpy', 'tether/new.py'], state
        assert state['added_dirs'] == ['tether/extra/deep', 'tether/extra'], state
    finally:
        _done()


# --- the manifest is authenticated with a key (protocol.md §5.19) ---

def _staging_view():
    s = _status()
    return s['state'], s['staging']['version'], s['staging']['manifest'], s['staging']['received'], s['staging']['committed']


def test_security_commit_without_manifest_mac_is_missing_field():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _stage_all(u)
        before = _staging_view()
        e = _error(u.handle, {'op': 'commit'}, KEY)
        assert e.code == 'missing_field' and e.message == 'manifest_mac: required', e.message
        for bad in (_mac().upper(), _mac()[:63], 12, None):
            e = _error(u.handle, {'op': 'commit', 'manifest_mac': bad}, KEY)
            assert e.code == 'bad_field' and e.message.startswith('manifest_mac: '), (bad, e.message)
        assert _staging_view() == before and not before[4]
        ota.Updater(TMP).boot()
        assert _tree() == _old_tree(), 'nothing was applied'
    finally:
        _done()


def test_security_a_wrong_manifest_mac_applies_nothing_and_keeps_the_staging_area():
    _fresh()
    try:
        u = ota.Updater(TMP)
        _stage_all(u)
        before = _staging_view()
        wrong = (
            ('made with another token', _commit_request(key=OTHER_KEY), KEY),
            ('over another version', _commit_request(version='0.1.2'), KEY),
            ('over another file list', _commit_request(files={'main.py': UPDATE['main.py']}), KEY),
            ('on a connection without a key', _commit_request(), None),
        )
        for why, request, key in wrong:
            e = _error(u.handle, request, key)
            assert e.code == 'unauthorized' and e.message.startswith('manifest_mac: '), (why, e.message)
            assert _staging_view() == before, why
        assert 'journal.json' not in os.listdir(TMP + '/ota'), 'nothing was committed'
        ota.Updater(TMP).boot()
        assert _tree() == _old_tree(), 'nothing was applied'
        # The staging area was kept: the right MAC commits it as it is.
        assert _commit(u) == {'reset_in_ms': 1000}
        ota.Updater(TMP).boot()
        assert _tree() == _new_tree()
    finally:
        _done()


def test_security_a_file_swapped_in_begin_fails_the_mac_of_the_real_list():
    # Someone on the way replaced a file and its sha256 in begin (and its chunks to match): every
    # file checks out against the altered list, but the client's MAC is over the list it sent.
    _fresh()
    try:
        u = ota.Updater(TMP)
        evil = dict(UPDATE)
        evil['tether/new.py'] = b'import os  # not what the client sent\n'
        _stage_all(u, evil)
        e = _error(u.handle, _commit_request(files=UPDATE), KEY)
        assert e.code == 'unauthorized', e.message
        assert _status()['staging']['received']['tether/new.py'] == len(evil['tether/new.py']), 'staging kept'
        ota.Updater(TMP).boot()
        assert _tree() == _old_tree()
    finally:
        _done()


# Through the dispatcher: the key is the one of the token the connection authenticated with
# (plain or by challenge), or over the hub link the board key.

ADMIN_A = 'admin-token-of-the-test-board-01'
ADMIN_B = 'second-admin-token-of-the-board'
HUB_TOKEN = 'hub-link-token-of-the-test-board'
NC = '0f1e2d3c4b5a69788796a5b4c3d2e1f0'


def _board(dispatcher_cls, link_cls):
    import simhw
    from manual_clock import ManualClock
    from tether import config
    from tether.board import Board
    from tether.boards import pico_w
    simhw.reset()
    tokens = [{'token': ADMIN_A, 'scope': 'admin'}, {'token': ADMIN_B, 'scope': 'admin'}]
    cfg = config.normalize({'pins': [{'pin': 2, 'mode': 'output', 'value': 0}], 'auth': {'tokens': tokens}}, pico_w)
    b = Board(cfg, ManualClock(), pico_w)
    d = dispatcher_cls(b, ota=True)
    d.updater = ota.Updater(TMP)
    link = link_cls(b, d, {'host': '127.0.0.1', 'port': 7341, 'device_id': 'pico', 'token': HUB_TOKEN})
    return b, d, link


async def _commit_via(d, ctx, key):
    return await d.handle({'action': 'update', 'op': 'commit', 'manifest_mac': _mac(key=key)}, ctx)


async def test_security_update_mac_uses_the_key_of_the_connection_or_of_the_hub_link():
    from tether.dispatcher import Dispatcher
    from tether.link import HubLink
    from tether.start import start_board
    cases = ('plain token', 'challenge', 'hub link')
    for case in cases:
        _fresh()
        try:
            b, d, link = _board(Dispatcher, HubLink)
            await start_board(b)
            if case == 'hub link':
                ctx, right = link, auth.key_of(HUB_TOKEN)
            else:
                ctx, right = FakeConnection(d), auth.key_of(ADMIN_B)
                if case == 'plain token':
                    r = await d.handle({'action': 'auth', 'token': ADMIN_B}, ctx)
                else:
                    nb = (await d.handle({'action': 'challenge', 'nonce': NC}, ctx))['nonce']
                    r = await d.handle({'action': 'auth', 'proof': auth.proof(right, auth.DIRECT_CLIENT, NC, nb)}, ctx)
                assert r['ok'] and r['scope'] == 'admin', (case, r)
            _stage_all(d.updater)
            # Another admin token of the same board, or its hub key on a direct connection: refused.
            for other in (auth.key_of(ADMIN_A), auth.key_of(HUB_TOKEN) if case != 'hub link' else OTHER_KEY):
                r = await _commit_via(d, ctx, other)
                assert r['error']['code'] == 'unauthorized', (case, r)
            r = await d.handle({'action': 'update', 'op': 'commit'}, ctx)
            assert r['error']['code'] == 'missing_field', (case, r)
            assert b.reset_timer is None and not _status()['staging']['committed'], case
            r = await _commit_via(d, ctx, right)
            assert r['ok'] and r['reset_in_ms'] == 1000, (case, r)
            assert b.reset_timer is not None, 'the board resets to apply it'
            ota.Updater(TMP).boot()
            assert _tree() == _new_tree(), case
        finally:
            _done()


# --- on a simulated LittleFS flash (tests/shims/lfs_sim.py): the renames, the space and the
# power cuts of MicroPython's rp2 and esp32 ports ---

class _OnFlash:
    # tether.ota's os and open are those of the simulated flash while this is in effect.
    def __init__(self, fs):
        self.fs = fs

    def __enter__(self):
        ota.os = self.fs
        ota.open = self.fs.open
        return self.fs

    def __exit__(self, *exc):
        import builtins
        ota.os = os
        ota.open = builtins.open
        return False


def _flash(files=None, size=848 * 1024):
    fs = lfs_sim.LfsSim(size=size)
    files = OLD if files is None else files
    for path in files:
        fs.put(path, files[path])
    fs.put('config/device.json', CONFIG)
    return fs


def _flash_tree(fs):
    # As _tree, of what the flash holds (a move a cut left pending counts as done: the next
    # write completes it, and only ota/ can hold its source).
    out = {}
    for path in fs.files:
        if not path.startswith('ota/'):
            out[path] = _sha(fs.files[path])
    for d in fs.dirs:
        if d and d != 'ota' and not d.startswith('ota/'):
            out['dir:' + d] = True
    return out


def _flash_boot(fs):
    with _OnFlash(fs):
        return ota.Updater('').boot()


def _flash_status(fs):
    with _OnFlash(fs):
        return ota.Updater('').handle({'op': 'status'})['update']


def _cut_runs(prepare, scenario):
    # Runs scenario once to count its writes, then again with a power cut at each of them in
    # turn; yields each surviving flash after the reboot.
    fs = prepare()
    fs.writes = 0
    with _OnFlash(fs):
        scenario()
    total = fs.writes
    assert total > 20, total
    for k in range(1, total + 1):
        fs = prepare()
        fs.writes = 0
        fs.cut_at = k
        cut = False
        try:
            with _OnFlash(fs):
                scenario()
        except lfs_sim.PowerCut:
            cut = True
        assert cut, 'no cut at write %d of %d' % (k, total)
        what = fs.log[-1]
        fs.reboot()
        yield k, what, fs


def _assert_whole(fs, k, what):
    tree = _flash_tree(fs)
    old, new = _old_tree(), _new_tree()
    s = _flash_status(fs)
    assert tree == old or tree == new, 'mixed tree after a cut at write %d (%s): %s' % (
        k, what, [p for p in new if tree.get(p) != new[p] and tree.get(p) != old.get(p)] + [p for p in tree if p not in new and p not in old])
    if tree == new:
        assert s['version'] == '0.1.1' and s['state'] == 'trial', (k, what, s)
    else:
        assert s['version'] == '0.1.0' and s['state'] != 'trial', (k, what, s)
    return 'new' if tree == new else 'old'


def test_flash_renames_hide_the_next_entry_until_a_write():
    # The shim itself: a cut between the two commits of a rename across folders.
    fs = lfs_sim.LfsSim()
    fs.put('a/x.py', b'x')
    fs.put('a/y.py', b'y')
    fs.put('a/z.py', b'z')
    fs.put('b/keep', b'')
    fs.cut_at = 2
    try:
        fs.rename('a/x.py', 'b/x.py')
        assert False, 'no cut'
    except lfs_sim.PowerCut:
        pass
    fs.reboot()
    assert fs.listdir('a') == ['z.py'], fs.listdir('a')
    assert fs.stat('b/x.py')[6] == 1
    try:
        fs.stat('a/y.py')
        assert False, 'a/y.py is hidden until the next write'
    except OSError:
        pass
    fs.mkdir('c')
    assert fs.listdir('a') == ['y.py', 'z.py'], fs.listdir('a')


def _boot_gate():
    # boot.py's check whether tether/ota.py has anything to do, without the boot it guards.
    with open(_firmware_root() + '/boot.py') as f:
        src = f.read()
    scope = {}
    exec(src[:src.index('\nimport os\n')], scope)
    return scope['_ota_pending']


def test_flash_power_cut_at_every_write_of_an_update():
    def scenario():
        _update(ota.Updater(''))
        ota.Updater('').boot()

    outcomes = {}
    gate = _boot_gate()
    for k, what, fs in _cut_runs(_flash, scenario):
        pending = gate(fs, fs.open)
        before = dict(fs.files)
        _flash_boot(fs)
        assert pending or fs.files == before, (
            'boot.py saw nothing pending after a cut at write %d (%s), but the update had work left' % (k, what))
        outcome = _assert_whole(fs, k, what)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        before = _flash_tree(fs)
        _flash_boot(fs)
        assert _flash_tree(fs) == before, 'a second boot changed the tree after a cut at write %d (%s)' % (k, what)
    assert outcomes.get('old') and outcomes.get('new'), outcomes


def test_flash_power_cut_at_every_write_of_a_rollback():
    def prepare():
        fs = _flash()
        with _OnFlash(fs):
            _update(ota.Updater(''))
            for _ in range(3):
                ota.Updater('').boot()
        return fs

    for k, what, fs in _cut_runs(prepare, lambda: ota.Updater('').boot()):
        _flash_boot(fs)
        assert _flash_tree(fs) == _old_tree(), 'mixed tree after a cut at rollback write %d (%s)' % (k, what)
        s = _flash_status(fs)
        assert s['version'] == '0.1.0' and s['state'] == 'confirmed' and s['rolled_back_from'] == '0.1.1', (k, what, s)
        assert 'prev' not in fs.listdir('ota'), (k, what)


def test_flash_error_at_any_write_of_the_apply_ends_in_a_whole_version():
    # A flash error (or a full flash) while boot applies: the board goes back to the old version
    # (rolled_back_from says which update failed) or has the new one; never a journal left
    # that every start trips over.
    def prepare():
        fs = _flash()
        with _OnFlash(fs):
            _update(ota.Updater(''))
        return fs

    fs = prepare()
    fs.writes = 0
    _flash_boot(fs)
    total = fs.writes
    failed_back = 0
    for k in range(1, total + 1):
        fs = prepare()
        fs.writes = 0
        fs.fail_at = k
        line = _flash_boot(fs)
        outcome = _assert_whole(fs, k, 'error at write %d' % k)
        if 'journal.json' in fs.listdir('ota'):
            # The error hit the removal of the journal itself: the next start finishes.
            assert outcome == 'new', (k, line)
            _flash_boot(fs)
            assert _assert_whole(fs, k, 'the start after an error at write %d' % k) == 'new'
            assert 'journal.json' not in fs.listdir('ota'), (k, line)
        if outcome == 'old':
            failed_back += 1
            s = _flash_status(fs)
            assert s['rolled_back_from'] == '0.1.1' and 'failed' in line, (k, line, s)
    assert failed_back, 'no error made the board go back'


def test_flash_full_at_the_start_that_applies_keeps_the_old_version():
    fs = _flash()
    with _OnFlash(fs):
        _update(ota.Updater(''))
    fs.put('ballast.bin', b'\0' * fs.free_bytes())
    line = _flash_boot(fs)
    assert 'failed before it changed any file' in line, line
    assert _flash_tree(fs) == dict(_old_tree(), **{'ballast.bin': _sha(fs.files['ballast.bin'])})
    s = _flash_status(fs)
    assert s['version'] == '0.1.0' and s['state'] == 'confirmed' and s['rolled_back_from'] == '0.1.1', s
    assert 'stage' not in fs.listdir('ota'), 'the staged files go, to free the flash'


def test_clear_drops_or_undoes_any_update():
    # Committed, not applied: dropped. On trial: rolled back. Stuck with an applying journal
    # (a start that could not finish): rolled back, and the board resets to run the old files.
    fs = _flash()
    with _OnFlash(fs):
        u = ota.Updater('')
        assert u.handle({'op': 'clear'}) == {'cleared': 'nothing'}
        _stage_all(u)
        assert u.handle({'op': 'clear'}) == {'cleared': 'staging'}
        _update(u)
        assert u.handle({'op': 'clear'}) == {'cleared': 'committed'}
    assert _flash_tree(fs) == _old_tree() and 'journal.json' not in fs.listdir('ota')
    with _OnFlash(fs):
        _update(ota.Updater(''))
        ota.Updater('').boot()
        assert _status_here()['state'] == 'trial'
        assert ota.Updater('').handle({'op': 'clear'}) == {'cleared': 'rolled_back', 'reset_in_ms': 1000}
    assert _flash_tree(fs) == _old_tree()
    s = _flash_status(fs)
    assert s['state'] == 'confirmed' and s['rolled_back_from'] == '0.1.1', s
    # stuck: the start was cut while it moved the files, and main.py runs on the mixed tree
    fs = _flash()
    with _OnFlash(fs):
        _update(ota.Updater(''))
    with _OnFlash(fs):
        names = _steps(lambda: ota.Updater('').boot())
    k = names.index('move tether/a.py') + 1
    fs = _flash()
    with _OnFlash(fs):
        _update(ota.Updater(''))
        assert _with_cut(k, lambda: ota.Updater('').boot())
        assert _status_here()['stuck'] == 'applying'
        assert ota.Updater('').handle({'op': 'clear'})['cleared'] == 'rolled_back'
    assert _flash_tree(fs) == _old_tree()
    assert 'stuck' not in _flash_status(fs)


def _status_here():
    return ota.Updater('').handle({'op': 'status'})['update']


def test_list_pages_the_boards_files_with_their_hashes():
    fs = _flash()
    fs.put('ota/state.json', b'{}')
    with _OnFlash(fs):
        got = []
        after = ''
        pages = 0
        while True:
            r = ota.Updater('', max_frame_bytes=600).handle({'op': 'list', 'after': after})
            got.extend(r['files'])
            pages += 1
            if not r['more']:
                break
            after = r['files'][-1][0]
        e = _error(ota.Updater('').handle, {'op': 'list', 'after': 5})
        assert e.code == 'bad_field' and e.message.startswith('after: '), e.message
    assert pages > 1, 'a small frame limit splits the list'
    want = [[p, len(OLD[p]), _sha(OLD[p])] for p in sorted(OLD)]
    assert got == want, got


def test_an_update_that_deletes_files_and_its_rollback():
    fs = _flash()
    files = {'tether/__init__.py': UPDATE['tether/__init__.py']}
    with _OnFlash(fs):
        u = ota.Updater('')
        u.handle({'op': 'begin', 'version': '0.1.1', 'files': _manifest(files), 'delete': ['tether/drivers/d.py']})
        _send(u, 'tether/__init__.py', files['tether/__init__.py'])
        # the MAC covers the deletions: one made for the files alone is refused
        e = _error(u.handle, {'op': 'commit', 'manifest_mac': _mac(files=files)}, KEY)
        assert e.code == 'unauthorized', e.code
        h = hashlib.sha256()
        for m in _manifest(files):
            h.update(('%s\n%d\n%s\n' % (m['path'], m['size'], m['sha256'])).encode())
        h.update(b'delete tether/drivers/d.py\n')
        digest = binascii.hexlify(h.digest()).decode()
        assert _status_here()['staging']['manifest'] == digest
        u.handle({'op': 'commit', 'manifest_mac': auth.proof(KEY, 'tether-update-1', '0.1.1', digest)}, KEY)
        ota.Updater('').boot()
    assert 'tether/drivers/d.py' not in fs.files and fs.files['tether/__init__.py'] == UPDATE['tether/__init__.py']
    for _ in range(3):
        _flash_boot(fs)
    assert _flash_tree(fs) == _old_tree(), 'the rollback brings the deleted file back'


def _firmware_root():
    f = ota.__file__
    return f[:f.rfind('/tether/')] if '/tether/' in f else '.'


def _todays_firmware():
    # Every file of the firmware a board holds (what tether update sends, and boot.py).
    out = {}
    root = _firmware_root()

    def walk(rel):
        for name in os.listdir(_join(root, rel) if rel else root):
            path = _join(rel, name)
            if _isdir(_join(root, path)):
                if name not in ('tests', '__pycache__', 'config', 'ota'):
                    walk(path)
            elif name.endswith('.py') or name.endswith('.json') or name.endswith('.mpy'):
                out[path] = _read(_join(root, path))
    walk('')
    return out


def test_pico_w_flash_takes_a_full_update_and_refuses_one_too_large():
    # A Pico W: 848 KiB of LittleFS in 4 KiB blocks, holding today's firmware. Every file
    # changed (a full update) fits and applies without running out of flash; a release with a
    # file larger than the free space is refused up front, saying what it needs and what is free.
    tree = _todays_firmware()
    assert len(tree) > 25 and 'tether/ota.py' in tree, sorted(tree)
    fs = _flash(tree)
    free = fs.free_bytes()
    assert 300 * 1024 < free < 848 * 1024, free  # the firmware takes the rest
    release = {}
    for path in tree:
        if path != 'boot.py':
            release[path] = tree[path] + b'\n# 0.1.1\n'
    release['tether/__init__.py'] = tree['tether/__init__.py'].replace(b"VERSION = '", b"VERSION = '9.")
    version = ota.read_version(_firmware_root() + '/tether/__init__.py')
    with _OnFlash(fs):
        u = ota.Updater('')
        need, have = u._space([[p, len(release[p]), _sha(release[p])] for p in release])
        assert need < have, (need, have)
        _stage_all(u, release, '9.' + version)
        u.handle({'op': 'commit', 'manifest_mac': _mac('9.' + version, release)}, KEY)
        line = ota.Updater('').boot()
    assert 'applied update' in line, line
    assert fs.files['tether/ota.py'] == release['tether/ota.py']
    fs = _flash(tree)
    big = {'tether/__init__.py': release['tether/__init__.py'], 'tether/huge.py': b'#' * (fs.free_bytes() - 8192)}
    with _OnFlash(fs):
        e = _error(_begin, ota.Updater(''), big, '9.' + version)
    assert e.code == 'limit_exceeded', e.code
    assert ('%d KiB are free' % (fs.free_bytes() // 1024)) in e.message and 'needs ' in e.message, e.message
    assert 'stage' not in fs.listdir('ota') if 'ota' in fs.dirs else True


def test_a_normal_boot_does_not_compile_the_updater():
    # boot.py reads ota/state.json and imports tether.ota only when there is something to do.
    import sys
    saved = {}
    for name in list(sys.modules):
        if name == 'tether' or name.startswith('tether.'):
            saved[name] = sys.modules[name]
    here = os.getcwd()
    with open(_firmware_root() + '/boot.py') as f:
        code = f.read()
    _fresh()
    try:
        # A board imports tether.ota from its own flash (MicroPython resolves the package from
        # the current folder): the scratch tree gets a copy, left out of the comparisons.
        with open(ota.__file__) as f:
            _write(TMP + '/tether/ota.py', f.read().encode())
        _write(TMP + '/ota/state.json', b'{"version": "0.1.0", "state": "confirmed"}')
        os.chdir(TMP)
        sys.modules.pop('tether.ota', None)
        printed = []
        exec(code, {'__name__': 'boot', 'print': lambda *a: printed.append(a)})
        # boot.py drops the tether modules it loaded, so what it printed tells too.
        assert 'tether.ota' not in sys.modules and printed == [], 'a normal start ran tether.ota: %r' % printed
        os.chdir(here)
        # an update that a reset interrupted is still applied
        _update(ota.Updater(TMP))
        os.chdir(TMP)
        exec(code, {'__name__': 'boot', 'print': lambda *a: printed.append(a)})
        os.chdir(here)
        assert printed and 'applied update 0.1.1' in printed[0][1], printed
        tree = _tree()
        assert tree.pop('tether/ota.py') and tree == _new_tree()
        assert _status()['state'] == 'trial'
    finally:
        os.chdir(here)
        for name in list(sys.modules):
            if name == 'tether' or name.startswith('tether.'):
                del sys.modules[name]
        sys.modules.update(saved)
        sys.modules.pop('_ota_health_timer', None)
        _done()


def test_a_trial_state_written_by_the_previous_updater_still_rolls_back():
    # The update that brings this tether/ota.py was applied by the one before it, whose state
    # lists bare paths (no hashes): the rollback puts back whatever backups are there.
    _fresh()
    try:
        _update(ota.Updater(TMP))
        ota.Updater(TMP).boot()
        with open(TMP + '/ota/state.json') as f:
            s = json.loads(f.read())
        legacy = {'version': '0.1.1', 'previous': '0.1.0', 'state': 'trial', 'boot_count': 3, 'rolled_back_from': None,
                  'before': None, 'files': [e[0] for e in s['files']], 'added': s['added'], 'added_dirs': s['added_dirs']}
        _write(TMP + '/ota/state.json', json.dumps(legacy).encode())
        line = ota.Updater(TMP).boot()
        assert 'rolled back to 0.1.0' in line, line
        assert _tree() == _old_tree()
    finally:
        _done()


def test_a_commit_whose_journal_does_not_fit_is_limit_exceeded_and_applies_nothing():
    fs = _flash()
    with _OnFlash(fs):
        u = ota.Updater('')
        _stage_all(u)
        fs.put('ballast.bin', b'\0' * fs.free_bytes())
        e = _error(u.handle, _commit_request(), KEY)
        assert e.code == 'limit_exceeded' and e.message.startswith('files: the journal could not be written'), e.message
        assert not _status_here()['staging']['committed']
        ota.Updater('').boot()
    assert _flash_tree(fs) == dict(_old_tree(), **{'ballast.bin': _sha(fs.files['ballast.bin'])})
