# Start-up: config, network, board, direct-mode server, hub link, LED, and the health check that
# confirms an OTA update (tether/ota.py). main.py runs app.main().
import asyncio
import sys
import machine
from tether import VERSION, boards, config
from tether.board import Board
from tether.clock import Clock
from tether.dispatcher import Dispatcher
from tether.led import Led
from tether.server import Server


def tls_context(cfg):
    # config/cert.der + config/key.der (or the paths in "tls"); MicroPython loads DER bytes.
    t = cfg.get('tls')
    if not t:
        return None
    import ssl
    t = t if isinstance(t, dict) else {}
    with open(t.get('cert', 'config/cert.der'), 'rb') as fh:
        cert = fh.read()
    with open(t.get('key', 'config/key.der'), 'rb') as fh:
        key = fh.read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def restart(how, arg):
    if how == 'deepsleep':
        machine.deepsleep(arg)
    machine.reset()


async def fail(led, message):
    # The board cannot serve: say why on the console and blink the error pattern, forever.
    print('tether:', message)
    led.show('error')
    while True:
        await asyncio.sleep_ms(60000)


async def main():
    support = boards.detect()
    led = Led(support.LED)
    asyncio.create_task(led.run())
    try:
        cfg = config.load('config/device.json', support)
        wifi = config.read_json('config/wifi.json', False)
        hub = config.read_json('config/hub.json', False)
    except config.ConfigError as err:
        await fail(led, str(err))
        return
    net = None
    if wifi:
        from tether.net import Net
        net = Net(wifi, led)
        asyncio.create_task(net.keep_up())
    clock = Clock()
    board = Board(cfg, clock, support)
    try:
        await board.start()
    except Exception as err:
        await fail(led, 'cannot start the board: %s' % err)
        return
    board.restart = restart
    frame = cfg['max_frame_bytes']

    def make_updater():
        from tether.ota import Updater
        return Updater(max_frame_bytes=frame)
    dispatcher = Dispatcher(board, make_updater, net)
    server = Server(board, dispatcher, cfg, tls_context(cfg))
    await server.start()
    link = None
    if hub:
        from tether.link import HubLink
        link = HubLink(board, dispatcher, hub)
        link.start()
    print('tether %s: %s listening on port %d%s' % (VERSION, cfg['name'], cfg['listen']['port'], ', hub ' + hub['host'] if hub else ''))
    # The config checker is needed once: give its bytecode back to the heap.
    del sys.modules['tether.config']
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
        healthy = (online and server is not None and server.srv is not None) or (link is not None and link.up)
        if updater is not None:
            if healthy:
                updater.confirm()
                updater = None
            elif clock.now() > deadline:
                print('tether: not healthy within the update health check; resetting')
                machine.reset()
        if online:
            led.show('active' if server is not None and server.sessions else 'idle')
        await asyncio.sleep_ms(500)
