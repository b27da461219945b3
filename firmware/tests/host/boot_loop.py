# CPython only: power-on cycles of one simulated board whose flash is the folder DIR, for the
# end-to-end update tests (test/firmware/update-e2e.test.ts).
#   python3 boot_loop.py --root DIR --config device.json [run_board.py args...]
# Every start: boot.py and main.py's import of tether.app in a fresh process (cwd DIR), then
# run_board.py --root DIR ... as the running app. Its stdout lines (the JSON port line of each
# start) are forwarded to our stdout, one per start; its stderr and the boot's go to stderr.
# When the board exits (machine.reset after an update), the loop starts it again. SIGTERM ends
# the loop and the child, and so does the end of our stdin when it is a pipe (the test that
# started us died). The --port given is kept at every start, so clients can reconnect.
#
# On a board, main.py imports tether.app, which confirms a version on trial once healthy and
# resets when it is not by the health deadline; boot.py's timer resets a board whose main.py
# died at import. run_board.py does none of that, so this loop does it from outside:
#   - the fresh boot process imports tether.app after boot.py (exit 3 when that raises);
#   - on a trial start, healthy = listening (the port line), or with --no-listen the hub link up
#     (the control port's "state"): then tether.ota.Updater().confirm() runs in DIR;
#   - not healthy within health_s (or main died at import): the start counts as failed, reset.
import asyncio
import json
import os
import signal
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_BOARD = os.path.join(HERE, 'run_board.py')
IMPORT_FAILED = 3


def arg(argv, name):
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def step(which, argv):
    # Runs in a child process with cwd DIR. `tether` must be DIR's copy (the board's flash), not
    # the repository's: compat first (it puts firmware/ in front of sys.path), then DIR in front.
    # (run_board.py on its own imports firmware/tether whatever --root says.)
    try:  # Linux: end with the loop, however it ends (PR_SET_PDEATHSIG)
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except Exception:
        pass
    sys.path.insert(0, HERE)
    import cpython_compat
    cpython_compat.install()
    sys.path.insert(0, os.getcwd())
    sys.dont_write_bytecode = True
    if which == 'boot':
        with open('boot.py') as f:
            exec(compile(f.read(), 'boot.py', 'exec'), {'__name__': '__main__'})
        for name in list(sys.modules):  # as main.py does
            if name == 'tether' or name.startswith('tether.'):
                del sys.modules[name]
        try:
            from tether import app  # noqa: F401  (main.py's import)
        except Exception:
            import traceback
            traceback.print_exc()
            print('main.py failed at import: it resets the board in 5 s')
            return IMPORT_FAILED
        return 0
    if which == 'confirm':
        from tether.ota import Updater
        print('ota: confirmed' if Updater().confirm() else 'ota: nothing to confirm')
        return 0
    # which == 'board': run_board.py in this interpreter, with this sys.path.
    sys.argv = [RUN_BOARD] + argv
    import runpy
    runpy.run_path(RUN_BOARD, run_name='__main__')
    return 0


def trial_and_deadline(root):
    # What boot.py's Updater knows, read directly (the new tether/ota.py may be the broken part).
    def read(path):
        try:
            with open(os.path.join(root, path)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}
    trial = read('ota/state.json').get('state') == 'trial'
    s = (read('config/device.json').get('update') or {}).get('health_s')
    ok = isinstance(s, (int, float)) and not isinstance(s, bool) and 5 <= s <= 3600
    return trial, s if ok else 60


async def link_up(control_port):
    try:
        r, w = await asyncio.open_connection('127.0.0.1', control_port)
        w.write(b'state\n')
        state = json.loads(await r.readline())
        w.close()
        return bool(state.get('link') and state['link']['up'])
    except (OSError, ValueError):
        return False


async def spawn(which, root, argv=(), stdout=None):
    # The child's stderr is ours; its stdout is the console too (stderr) unless piped.
    return await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), '--step', which, *argv,
        cwd=root, stdout=stdout if stdout is not None else sys.stderr.fileno())


async def one_start(root, argv, children):
    boot = await spawn('boot', root)
    children.append(boot)
    code = await boot.wait()
    trial, health_s = trial_and_deadline(root)
    if code == IMPORT_FAILED:
        if not trial:
            # A board would reset every 5 s for ever: nothing rolls back a version not on trial.
            sys.stderr.write('boot_loop: main.py fails and no update is on trial; stopping\n')
            return False
        await asyncio.sleep(5)  # main.py prints why, waits 5 s and resets; boot.py counts the try
        return True
    board = await spawn('board', root, argv, stdout=asyncio.subprocess.PIPE)
    children.append(board)
    deadline = asyncio.get_running_loop().time() + health_s
    line = await board.stdout.readline()
    if line:
        sys.stdout.write(line.decode())
        sys.stdout.flush()
    else:
        await asyncio.sleep(5)  # it crashed while starting: main.py waits 5 s, then resets
    while trial and line and board.returncode is None:
        if '--no-listen' not in argv or await link_up(json.loads(line)['control']):
            await (await spawn('confirm', root)).wait()
            break
        if asyncio.get_running_loop().time() > deadline:
            sys.stderr.write('boot_loop: not healthy within %s s; resetting\n' % health_s)
            board.terminate()
            break
        await asyncio.sleep(0.2)
    while await board.stdout.readline():  # until the board resets
        pass
    await board.wait()
    return True


async def main(argv):
    root = os.path.abspath(arg(argv, '--root'))
    children = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stopping = asyncio.ensure_future(stop.wait())
    if stat.S_ISFIFO(os.fstat(0).st_mode):
        stdin = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        asyncio.ensure_future(stdin.read()).add_done_callback(lambda _: stop.set())
    while not stop.is_set():
        run = asyncio.ensure_future(one_start(root, argv, children))
        await asyncio.wait([run, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set() and not run.result():
            return 1
        children[:] = [c for c in children if c.returncode is None]
    run.cancel()
    for c in children:
        if c.returncode is None:
            c.kill()
            await c.wait()
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--step':
        sys.exit(step(sys.argv[2], sys.argv[3:]))
    # The children run in DIR: paths given relative to this process's cwd are made absolute.
    args = list(sys.argv[1:])
    for name in ('--root', '--config'):
        if name in args and args.index(name) + 1 < len(args):
            i = args.index(name) + 1
            args[i] = os.path.abspath(args[i])
    sys.exit(asyncio.run(main(args)))
