# The running board: start-up (tether/start.py, unloaded once done), then the health watch that
# confirms an OTA update (tether/ota.py) and feeds the watchdog, for as long as the board runs.
# main.py runs app.main().
import asyncio
import gc
import machine
from tether import boards
from tether.errors import say
from tether.clock import Clock
from tether.led import Led

# The watch loop's period: the watchdog is fed this often.
_WATCH_MS = 500
# [machine.WDT, board support module, Timer feeding it at the REPL, its timeout in ms] while the
# watchdog runs.
_wd = [None, None, None, 0]
# An ESP32's watchdog, lengthened for a call that holds the loop (hold_watchdog).
_HOLD_MS = 60000


def collect_every(free):
    # Bytes allocated between two collections (gc.threshold counts what was allocated since the
    # last one): a quarter of the free heap, so each request's garbage is swept before it spreads
    # over the whole heap and the long-lived objects made meanwhile split the block a TLS
    # handshake needs. Left alone, MicroPython collects only when an allocation fails
    # (docs/firmware.md, RAM; docs/benchmarks.md, the soak).
    return free // 4


def restart(how, arg):
    if how == 'deepsleep':
        # rp2 sleeps with its watchdog still counting (a light sleep, then a reset): stopped first.
        stop_watchdog()
        try:
            machine.deepsleep(arg)
        except Exception as e:
            # A port refusing the length (or the call) must not leave the board up half-reset.
            say('deep_sleep_failed', (e,))
    machine.reset()


def start_watchdog(seconds, support):
    # Resets the board when the event loop stops turning (a task stuck in a loop, a driver that
    # never returns): watch() feeds it every _WATCH_MS. docs/firmware.md (Watchdog) says why the
    # default is 8 s.
    if seconds:
        _wd[3] = int(seconds * 1000)
        _wd[0] = machine.WDT(timeout=_wd[3])
        _wd[1] = support
    return _wd[0]


def _rp2():
    return _wd[1] is not None and _wd[1].PLATFORM == 'rp2'


def _rp2_off():
    # rp2's machine.WDT has no way to stop it, but its control register does (RP2040 datasheet
    # §4.7.6, CTRL.ENABLE is bit 30; RP2350: the same register at another base).
    import sys
    base = 0x400d8000 if 'RP2350' in getattr(sys.implementation, '_machine', '') else 0x40058000
    machine.mem32[base] &= ~(1 << 30)


def hold_watchdog(on):
    # Around a call that may hold the event loop longer than the watchdog allows: a name lookup
    # while DNS does not answer (lwIP waits about 7 s per server, in C). rp2's watchdog (8.388 s
    # at most) is stopped, an ESP32's lengthened; then armed again as it was, and fed.
    if _wd[0] is None:
        return
    if not on:
        machine.WDT(timeout=_wd[3]).feed()
    elif _rp2():
        _rp2_off()
    else:
        machine.WDT(timeout=_HOLD_MS)


def stop_watchdog():
    # For a deep sleep, and for the REPL after Ctrl-C (main.py): nothing feeds the watchdog then.
    # ESP32's cannot be stopped: a timer feeds it instead (it runs at the REPL, not after a soft
    # reset).
    wdt = _wd[0]
    if wdt is None:
        return
    if _rp2():
        _rp2_off()
    else:
        _wd[2] = machine.Timer(0, period=1000, callback=lambda t: wdt.feed())
    _wd[0] = None


async def main():
    support = boards.detect()
    led = Led(support.LED)
    asyncio.create_task(led.run())
    clock = Clock()
    asyncio.create_task(clock.run())
    from tether import start
    board, net, server, link = await start.run(support, led, clock)
    start.unload()
    del start
    gc.collect()
    gc.threshold(collect_every(gc.mem_free()))
    board.restart = restart
    board.hold_watchdog = hold_watchdog
    board.use_led(led)
    wdt = start_watchdog(board.cfg['watchdog_s'], support)
    await watch(board, net, server, link, led, clock, wdt)


def _on_trial():
    # Only a board trying out an update needs tether/ota.py resident; a small read tells.
    try:
        with open('ota/state.json') as fh:
            return '"trial"' in fh.read()
    except OSError:
        return False


async def watch(board, net, server, link, led, clock, wdt=None):
    # Health: network up and server listening, or the hub session up. An update on trial that
    # never gets healthy is reset, and boot.py rolls it back after too many tries.
    updater = None
    if _on_trial():
        from tether.ota import Updater
        updater = Updater()
    deadline = clock.now() + (updater.health_deadline_s() * 1000 if updater else 0)
    while True:
        if wdt is not None:
            wdt.feed()
        online = net is None or net.up()
        healthy = (online and server.srv is not None) or (link is not None and link.up)
        if updater is not None:
            if healthy:
                updater.confirm()
                updater = None
            elif clock.now() > deadline:
                say('update_unhealthy')
                machine.reset()
        if link is not None and link.bad_hub:
            led.show('bad_hub')
        elif board.sensors_down:
            led.show('sensor_down')
        elif online:
            led.show('active' if server.sessions else 'idle')
        await asyncio.sleep_ms(_WATCH_MS)
