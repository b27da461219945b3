# A flash file system that behaves as LittleFS does on MicroPython's rp2 and esp32 ports, for the
# OTA tests (test_ota.py), under CPython and MicroPython alike: an object with the parts of `os`
# that tether/ota.py uses (stat, listdir, ilistdir, mkdir, rmdir, remove, rename, statvfs,
# getcwd) and `open`. Tests put it in place of the module's `os` and `open`.
#
# What it keeps from LittleFS:
# - Space: blocks of `block` bytes; a directory is a metadata pair (2 blocks); a file of n bytes
#   takes ceil(n / block) blocks, none when n <= inline_max (it lives in its directory's pair).
#   A write that does not fit raises OSError(ENOSPC) at close, as lfs_file_sync does.
# - Files are copy-on-write: what a write() sends is committed only at close, so a cut before
#   that leaves the file as it was (a new file: empty, its entry was committed at open).
# - A rename across directories is two metadata commits: the entry appears in the target folder,
#   then goes from the source. A cut between them leaves a pending move; after the reboot, until
#   the next write, the moved entry and the entry that follows it in the source folder (with
#   everything under it, when it is a folder) are invisible to stat, listdir and open. Every
#   write (mkdir, rmdir, remove, rename, open for writing) first completes the move, as
#   lfs_fs_forceconsistency does, even a mkdir that then fails because the folder exists.
#   A rename within a folder is one commit.
# Power cuts: `cut_at = N` raises PowerCut at the N-th write (each commit, and each write() of
# file data), before it takes effect; after that every call raises PowerCut until reboot().
# `fail_at = N` raises OSError(EIO) at the N-th write once and keeps running (a flash error).
ENOENT = 2
EIO = 5
EEXIST = 17
ENOTDIR = 20
EISDIR = 21
EINVAL = 22
ENOSPC = 28
ENOTEMPTY = 39
_DIR = 0x4000
_FILE = 0x8000


class PowerCut(BaseException):
    # Not an Exception: code that passes over errors must not pass over the power going off.
    pass


def _norm(path):
    parts = []
    for p in path.split('/'):
        if p and p != '.':
            parts.append(p)
    return '/'.join(parts)


def _join2(a, b):
    return a + '/' + b if a else b


def _parent(path):
    i = path.rfind('/')
    return path[:i] if i > 0 else ''


class _File:
    def __init__(self, fs, path, data, mode):
        self.fs = fs
        self.path = path
        self.text = 'b' not in mode
        self.writing = 'w' in mode or 'a' in mode
        self.data = bytearray(data)
        self.pos = 0
        self.closed = False

    # reading

    def read(self, n=-1):
        self.fs._alive()
        if n is None or n < 0:
            n = len(self.data) - self.pos
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += len(out)
        return out.decode() if self.text else out

    def readinto(self, buf):
        self.fs._alive()
        n = min(len(buf), len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def readline(self):
        self.fs._alive()
        end = self.data.find(b'\n', self.pos)
        end = len(self.data) if end < 0 else end + 1
        out = bytes(self.data[self.pos:end])
        self.pos = end
        return out.decode() if self.text else out

    # writing

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        data = bytes(data)
        self.fs._write_point('write ' + self.path)
        self.data.extend(data)
        return len(data)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.writing:
            self.fs._commit_file(self.path, bytes(self.data))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # A cut leaves the file open and uncommitted: the power is off, nothing runs any more.
        if exc and exc[0] is not None and issubclass(exc[0], PowerCut):
            self.closed = True
            return False
        self.close()
        return False


class LfsSim:
    def __init__(self, size=848 * 1024, block=4096, inline_max=512):
        # The defaults are a Pico W's: 848 KiB for files, 4 KiB erase blocks, and the 512-byte
        # inline limit that rp2's progsize=256 gives (esp32: 128).
        self.block = block
        self.blocks = size // block
        self.inline_max = inline_max
        self.files = {}
        self.dirs = set([''])
        self.pending = None
        self.hiding = False
        self.writes = 0
        self.cut_at = None
        self.fail_at = None
        self.dead = False
        self.log = []

    # --- the test side ---

    def reboot(self):
        # Power on again: what was committed stays, a pending move stays pending.
        self.dead = False
        self.hiding = self.pending is not None
        self.cut_at = None
        self.fail_at = None
        self.writes = 0
        self.log = []

    def put(self, path, data):
        # Sets up a file without counting writes.
        path = _norm(path)
        d = _parent(path)
        while d and d not in self.dirs:
            self.dirs.add(d)
            d = _parent(d)
        self.files[path] = bytes(data)

    def used_blocks(self):
        n = 2 * len(self.dirs)
        for data in self.files.values():
            n += self._file_blocks(len(data))
        return n

    def free_bytes(self):
        return (self.blocks - self.used_blocks()) * self.block

    def _file_blocks(self, n):
        return 0 if n <= self.inline_max else (n + self.block - 1) // self.block

    # --- faults ---

    def _alive(self):
        if self.dead:
            raise PowerCut('the power is off')

    def _write_point(self, what):
        self._alive()
        self.writes += 1
        self.log.append(what)
        if self.cut_at is not None and self.writes == self.cut_at:
            self.dead = True
            raise PowerCut('power cut at write %d (%s)' % (self.writes, what))
        if self.fail_at is not None and self.writes == self.fail_at:
            raise OSError(EIO)

    def _demove(self):
        # What every write does first: complete an interrupted move (one commit).
        self._alive()
        if self.pending is not None:
            self._write_point('complete the move of ' + self.pending)
            self.files.pop(self.pending, None)
            self.pending = None
            self.hiding = False

    def _commit(self, what):
        self._demove()
        self._write_point(what)

    def _hidden(self, path):
        if not self.hiding or self.pending is None:
            return False
        folder = _parent(self.pending)
        names = sorted(self._names(folder))
        mine = self.pending[len(folder) + 1:] if folder else self.pending
        i = names.index(mine) if mine in names else -1
        hidden = [self.pending]
        if i >= 0 and i + 1 < len(names):
            hidden.append(_join2(folder, names[i + 1]))
        for h in hidden:
            if path == h or path.startswith(h + '/'):
                return True
        return False

    def _names(self, folder):
        out = []
        prefix = folder + '/' if folder else ''
        for p in list(self.files) + list(self.dirs):
            if p and p.startswith(prefix) and '/' not in p[len(prefix):] and _parent(p) == folder:
                out.append(p[len(prefix):])
        return out

    def _is_file(self, path):
        return path in self.files and not self._hidden(path)

    def _is_dir(self, path):
        return path in self.dirs and not self._hidden(path)

    # --- os ---

    def getcwd(self):
        return ''

    def stat(self, path):
        self._alive()
        path = _norm(path)
        if self._is_dir(path):
            return (_DIR, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if self._is_file(path):
            return (_FILE, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        raise OSError(ENOENT)

    def ilistdir(self, path=''):
        self._alive()
        path = _norm(path)
        if not self._is_dir(path):
            raise OSError(ENOENT)
        out = []
        for name in sorted(self._names(path)):
            full = path + '/' + name if path else name
            if self._hidden(full):
                continue
            if full in self.dirs:
                out.append((name, _DIR, 0))
            else:
                out.append((name, _FILE, 0, len(self.files[full])))
        return iter(out)

    def listdir(self, path=''):
        return [e[0] for e in self.ilistdir(path)]

    def statvfs(self, path=''):
        self._alive()
        free = self.blocks - self.used_blocks()
        return (self.block, self.block, self.blocks, free, free, 0, 0, 0, 0, 255)

    def mkdir(self, path):
        path = _norm(path)
        self._demove()
        if self._is_dir(path) or self._is_file(path):
            raise OSError(EEXIST)
        if not self._is_dir(_parent(path)):
            raise OSError(ENOENT)
        self._need(2)
        self._commit('mkdir ' + path)
        self.dirs.add(path)

    def rmdir(self, path):
        path = _norm(path)
        self._demove()
        if not self._is_dir(path) or not path:
            raise OSError(ENOENT)
        if self._names(path):
            raise OSError(ENOTEMPTY)
        self._commit('rmdir ' + path)
        self.dirs.discard(path)

    def remove(self, path):
        path = _norm(path)
        self._demove()
        if self._is_dir(path):
            raise OSError(EISDIR)
        if not self._is_file(path):
            raise OSError(ENOENT)
        self._commit('remove ' + path)
        self.files.pop(path, None)

    def rename(self, src, dst):
        src = _norm(src)
        dst = _norm(dst)
        self._demove()
        if not self._is_file(src):
            # Folders are never renamed by the code under test.
            raise OSError(ENOENT)
        if self._is_dir(dst) or not self._is_dir(_parent(dst)):
            raise OSError(ENOENT if not self._is_dir(_parent(dst)) else EISDIR)
        data = self.files[src]
        if _parent(src) == _parent(dst):
            self._commit('rename %s %s' % (src, dst))
            self.files.pop(src)
            self.files[dst] = data
            return
        self._commit('rename %s %s (target)' % (src, dst))
        self.files[dst] = data
        self.pending = src
        self._write_point('rename %s %s (source)' % (src, dst))
        self.files.pop(src, None)
        self.pending = None

    def open(self, path, mode='r'):
        path = _norm(path)
        self._alive()
        if self._is_dir(path):
            raise OSError(EISDIR)
        if 'r' in mode and '+' not in mode:
            if not self._is_file(path):
                raise OSError(ENOENT)
            return _File(self, path, self.files[path], mode)
        self._demove()
        if not self._is_dir(_parent(path)):
            raise OSError(ENOENT)
        if not self._is_file(path):
            self._commit('create ' + path)
            self.files[path] = b''
        else:
            self._commit('open ' + path)
        data = self.files[path] if 'a' in mode else b''
        return _File(self, path, data, mode)

    # --- data ---

    def _need(self, blocks):
        if self.used_blocks() + blocks > self.blocks:
            raise OSError(ENOSPC)

    def _commit_file(self, path, data):
        # Copy-on-write: the new blocks are written before the old ones are freed.
        self._need(self._file_blocks(len(data)))
        self._commit('close ' + path)
        self.files[path] = data
