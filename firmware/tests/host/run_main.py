# CPython only: runs the firmware as a board does, main.py and all, on the machine/network shims,
# with ROOT as the board's flash: its config/ (device.json, wifi.json, hub.json), and its code
# when it holds main.py and tether/ (else the repository's).
#   python3 run_main.py ROOT
# The simulated access point is simhw's default ("tether-lab" / "tether-pass"), and the
# simulated I2C chips are the ones config/device.json names. What the firmware prints (the
# listening line, or why it cannot start) goes to stdout, and then how main.py ended: a reset
# ("run_main: the board reset: [...calls]") or an exception left at the REPL.
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cpython_compat  # noqa: E402

cpython_compat.install()
root = os.path.abspath(sys.argv[1])
os.chdir(root)
sys.path.insert(0, root)
sys.argv = [os.path.join(root, 'main.py')]
import simchips  # noqa: E402
import simhw  # noqa: E402

simhw.wifi()
try:
    with open('config/device.json') as fh:
        simchips.populate(json.load(fh))
except (OSError, ValueError):
    pass  # the firmware reports a missing or broken config itself
sys.stdout.reconfigure(line_buffering=True)
try:
    import main  # noqa: E402,F401  (runs asyncio.run(app.main()))
except SystemExit:
    print('run_main: the board reset: %r' % (simhw.calls,))
    raise
except BaseException:
    # What a board does when main.py lets an exception out: it stays at the REPL.
    print('run_main: main.py raised; the board stays at the REPL')
    raise
