# CPython only: runs the firmware's real modules on loopback for the TypeScript tests, on the
# machine/network shims. Prints one JSON line {"port", "control"} once it accepts connections.
#   python3 run_board.py --config board.json [--manual-clock] [--port P] [--root DIR] [--machine NAME]
#                        [--hub HOST:PORT --id ID --token T [--keepalive-ms N] [--fingerprint F] [--no-listen]]
# The control port takes lines "advance <ms>" (answers "ok") for a manual clock, "drive <pin>
# <level>" and "chip_temp <celsius>" (answer "ok"), and "state" (answers one JSON line: the hub
# link's state, the shims' pin levels and PWM duties).
import sys
import os

HERE = os.path.dirname(os.path.abspath(__file__))
START_DIR = os.getcwd()
sys.path.insert(0, HERE)
import cpython_compat  # noqa: E402

cpython_compat.install()
# The machine the shims pass for (sys.implementation._machine, which tether/boards reads): a plain
# Pico unless --machine says otherwise, because the shared vectors' board (test/vectors/board.json)
# drives GP25 as its LED, as a plain Pico does; a Pico W keeps GP25 for its WiFi chip.
sys.implementation._machine = sys.argv[sys.argv.index('--machine') + 1] if '--machine' in sys.argv else 'Raspberry Pi Pico with RP2040'
if '--root' in sys.argv:
    # The firmware tree to run is --root's, as on a board's flash after an update, not the repo's.
    sys.path.insert(0, os.path.abspath(sys.argv[sys.argv.index('--root') + 1]))

import asyncio  # noqa: E402
import json  # noqa: E402
from tether import app, config, start, clock as clock_mod  # noqa: E402
from tether.led import Led  # noqa: E402
from tether import boards  # noqa: E402
from manual_clock import ManualClock  # noqa: E402  (tests/shims)
import simchips  # noqa: E402
import simhw  # noqa: E402


def arg(name, default=None):
    if name in sys.argv:
        i = sys.argv.index(name)
        return sys.argv[i + 1] if i + 1 < len(sys.argv) else True
    return default


async def control(clock, link, reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            return
        words = line.decode().split()
        if words and words[0] == 'advance' and isinstance(clock, ManualClock):
            clock.advance(int(words[1]))
            # Let the tasks the timers woke (event writers) run before answering.
            for _ in range(5):
                await asyncio.sleep(0)
            writer.write(b'ok\n')
        elif words and words[0] in ('drive', 'chip_temp'):
            # Inputs and the chip's temperature as the world sets them (boards following this one).
            if words[0] == 'drive':
                simhw.drive(int(words[1]), int(words[2]))
            else:
                simhw.set_chip_temp(float(words[1]))
            writer.write(b'ok\n')
        elif words and words[0] == 'state':
            st = {'link': None if link is None else {'up': link.up, 'connections': link.connections, 'error': link.last_error,
                                                     'queued': len(link.outbox.queued), 'inflight': len(link.outbox.inflight)},
                  'levels': {str(p): simhw.level(p) for p in range(30)},
                  'duty': {str(p): simhw.pwm(p)[1] / 65535 for p in range(30) if simhw.pwm(p)}}
            writer.write(json.dumps(st).encode() + b'\n')
        else:
            writer.write(b'error unknown command\n')
        await writer.drain()


async def main():
    # The firmware's console messages (print, start-up warnings included) go to stderr, where the
    # tests collect them; stdout carries only the ports line.
    ports_out = sys.stdout
    sys.stdout = sys.stderr
    if arg('--root'):
        os.chdir(arg('--root'))
    support = boards.detect()
    with open(os.path.join(START_DIR, arg('--config'))) as fh:
        raw = json.load(fh)
    cfg = config.normalize(raw, support, arg('--config'))
    cfg['listen'] = {'host': '127.0.0.1', 'port': int(arg('--port', 0))}
    clock = ManualClock() if arg('--manual-clock') else clock_mod.Clock()
    simchips.populate(raw)
    hub = None
    if arg('--hub'):
        host, hub_port = arg('--hub').rsplit(':', 1)
        hub = {'host': host, 'port': int(hub_port), 'device_id': arg('--id'), 'token': arg('--token')}
        if arg('--keepalive-ms'):
            hub['keepalive_ms'] = int(arg('--keepalive-ms'))
        if arg('--fingerprint'):
            hub['fingerprint'] = arg('--fingerprint')
        hub = config.hub(hub, 'hub')
    # OTA updates act on the firmware tree in the working directory (--root), as on the board;
    # a reset ends this process (machine.reset), and the test starts the next boot.
    b, srv, link = await start.build(cfg, clock, support, None, hub, not arg('--no-listen'), start.tls_context(cfg))
    b.restart = app.restart
    port = srv.srv.sockets[0].getsockname()[1] if srv.srv else None
    # As on the board: confirm an update on trial once healthy, reset if it never gets there.
    asyncio.create_task(app.watch(b, None, srv, link, Led(None), clock_mod.Clock()))
    ctl = await asyncio.start_server(lambda r, w: control(clock, link, r, w), '127.0.0.1', 0)
    print(json.dumps({'port': port, 'control': ctl.sockets[0].getsockname()[1]}), file=ports_out, flush=True)
    await asyncio.Event().wait()


if __name__ == '__main__':
    asyncio.run(main())
