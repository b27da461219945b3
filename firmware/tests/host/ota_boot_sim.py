# CPython only: one simulated start of a board whose flash is the folder ROOT, for the OTA tests
# (test/firmware/ota.test.ts). Each run is a fresh process, as each start of a board is.
#
#   python3 ota_boot_sim.py ROOT                 boot: ROOT/boot.py, then import ROOT/main.py
#   python3 ota_boot_sim.py ROOT --update NEW    the running app receives an update: begin,
#                                                chunks and commit of the files under NEW
#   python3 ota_boot_sim.py ROOT --status        print the update status as one JSON line
# Options:
#   --cut-at K   cut the power at the K-th journal step (tether.ota._step): exit at once with
#                status 86, without unwinding or closing anything
#   --trace      print every journal step to stderr as "step: NAME"
# Exit status: 0, 1 when main.py (or the update) raised, 86 after a power cut.
import binascii
import hashlib
import json
import os
import sys
import traceback

CUT_EXIT = 86
SIM_TOKEN = 'admin-token-of-the-simulated-board'
HERE = os.path.dirname(os.path.abspath(__file__))


def install_compat():
    # The shared CPython layer (time/asyncio/gc, micropython.const) when it exists; otherwise
    # the little that tether.ota needs.
    sys.path.insert(0, HERE)
    try:
        import cpython_compat
        cpython_compat.install()
    except ImportError:
        if 'micropython' not in sys.modules:
            import types
            mod = types.ModuleType('micropython')
            mod.const = lambda x: x
            sys.modules['micropython'] = mod
    finally:
        if sys.path and sys.path[0] == HERE:
            sys.path.pop(0)


def option(name):
    if name in sys.argv:
        i = sys.argv.index(name)
        return sys.argv[i + 1] if i + 1 < len(sys.argv) else ''
    return None


def hook_steps():
    cut_at = option('--cut-at')
    trace = '--trace' in sys.argv
    if cut_at is None and not trace:
        return
    try:
        import tether.ota as ota
    except Exception:
        # A broken tether.ota on the flash: boot.py runs the backup copy, without the hook.
        return
    seen = [0]
    limit = int(cut_at) if cut_at is not None else 0

    def checkpoint(name):
        seen[0] += 1
        if trace:
            sys.stderr.write('step: %s\n' % name)
            sys.stderr.flush()
        if seen[0] == limit:
            sys.stderr.write('power cut at step %d (%s)\n' % (seen[0], name))
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(CUT_EXIT)

    ota._checkpoint = checkpoint


def boot():
    # As the board does: boot.py, then main.py, in one interpreter.
    with open('boot.py') as f:
        code = compile(f.read(), 'boot.py', 'exec')
    exec(code, {'__name__': '__main__'})
    sys.stdout.flush()
    try:
        import main  # noqa: F401
    except Exception:
        traceback.print_exc()
        print('main failed')
        return 1
    return 0


def files_under(top, prefix=''):
    out = []
    for name in sorted(os.listdir(os.path.join(top, prefix) if prefix else top)):
        rel = prefix + '/' + name if prefix else name
        full = os.path.join(top, rel)
        if os.path.isdir(full):
            out.extend(files_under(top, rel))
        else:
            out.append(rel)
    return out


def update(new_dir):
    # What a client does over the wire, handed straight to Updater.handle.
    from tether.ota import Updater
    u = Updater()
    files = []
    for rel in files_under(new_dir):
        with open(os.path.join(new_dir, rel), 'rb') as f:
            data = f.read()
        files.append({'path': rel, 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()})
    version = None
    init = os.path.join(new_dir, 'tether', '__init__.py')
    from tether.ota import read_version
    version = read_version(init)
    chunk = u.handle({'op': 'begin', 'version': version, 'files': files})['chunk_bytes']
    for entry in files:
        with open(os.path.join(new_dir, entry['path']), 'rb') as f:
            data = f.read()
        for offset in range(0, len(data), chunk):
            piece = binascii.b2a_base64(data[offset:offset + chunk]).decode().strip()
            u.handle({'op': 'chunk', 'path': entry['path'], 'offset': offset, 'data': piece})
    # The client's MAC (protocol.md §5.19) under the key of the admin token it authenticated with.
    from tether import auth
    from tether.ota import manifest_digest
    key = auth.key_of(SIM_TOKEN)
    manifest = manifest_digest([[e['path'], e['size'], e['sha256']] for e in files])
    mac = auth.proof(key, 'tether-update-1', version, manifest)
    print(json.dumps(u.handle({'op': 'commit', 'manifest_mac': mac}, key)))
    return 0


def main():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: ota_boot_sim.py ROOT [--update NEW | --status] [--cut-at K] [--trace]\n')
        return 2
    sys.dont_write_bytecode = True
    install_compat()
    root = os.path.abspath(sys.argv[1])
    new_dir = option('--update')
    if new_dir is not None:
        new_dir = os.path.abspath(new_dir)
    os.chdir(root)
    sys.path.insert(0, root)
    for name in list(sys.modules):
        if name == 'tether' or name.startswith('tether.') or name == 'main':
            del sys.modules[name]
    hook_steps()
    if '--status' in sys.argv:
        from tether.ota import Updater
        print(json.dumps(Updater().handle({'op': 'status'})['update']))
        return 0
    if new_dir is not None:
        return update(new_dir)
    return boot()


if __name__ == '__main__':
    sys.exit(main())
