# The running board: start-up (tether/start.py, unloaded once done), then the health watch that
# confirms an OTA update (tether/ota.py), for as long as the board runs. main.py runs app.main().
import asyncio
import machine
from tether import boards
from tether.clock import Clock
from tether.led import Led


def restart(how, arg):
    if how == 'deepsleep':
        try:
            machine.deepsleep(arg)
        except Exception as e:
            # A port refusing the length (or the call) must not leave the board up half-reset.
            print('tether: deep sleep failed (%r); resetting instead' % (e,))
    machine.reset()


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
    board.restart = restart
    await watch(board, net, server, link, led, clock)


def _on_trial():
    # Only a board trying out an update needs tether/ota.py resident; a small read tells.
    try:
        with open('ota/state.json') as fh:
            return '"trial"' in fh.read()
    except OSError:
        return False


async def watch(board, net, server, link, led, clock):
    # Health: network up and server listening, or the hub session up. An update on trial that
    # never gets healthy is reset, and boot.py rolls it back after too many tries.
    updater = None
    if _on_trial():
        from tether.ota import Updater
        updater = Updater()
    deadline = clock.now() + (updater.health_deadline_s() * 1000 if updater else 0)
    while True:
        online = net is None or net.up()
        healthy = (online and server.srv is not None) or (link is not None and link.up)
        if updater is not None:
            if healthy:
                updater.confirm()
                updater = None
            elif clock.now() > deadline:
                print('tether: not healthy within the update health check; resetting')
                machine.reset()
        if link is not None and link.bad_hub:
            led.show('bad_hub')
        elif online:
            led.show('active' if server.sessions else 'idle')
        await asyncio.sleep_ms(500)
