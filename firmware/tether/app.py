# Start-up: config, network, board, direct-mode server, hub link, LED, and the health check that
# confirms an OTA update (tether/ota.py). main.py runs app.main().
import asyncio
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
    try:
        from tether.ota import Updater
        updater = Updater()
    except ImportError:
        updater = None
    dispatcher = Dispatcher(board, updater, net)
    server = Server(board, dispatcher, cfg, tls_context(cfg))
    await server.start()
    link = None
    if hub:
        from tether.link import HubLink
        link = HubLink(board, dispatcher, hub)
        link.start()
    print('tether %s: %s listening on port %d%s' % (VERSION, cfg['name'], cfg['listen']['port'], ', hub ' + hub['host'] if hub else ''))
    await watch(board, net, server, link, updater, led, clock)


async def watch(board, net, server, link, updater, led, clock):
    # Health: network up and server listening, or the hub session up. An update on trial that
    # never gets healthy is reset, and boot.py rolls it back after too many tries.
    deadline = clock.now() + (updater.health_deadline_s() * 1000 if updater else 0)
    confirmed = updater is None
    while True:
        online = net is None or net.up()
        healthy = (online and server.srv is not None) or (link is not None and link.up)
        if not confirmed:
            if healthy:
                updater.confirm()
                confirmed = True
            elif clock.now() > deadline:
                print('tether: not healthy within the update health check; resetting')
                machine.reset()
        if online:
            led.show('active' if server.sessions else 'idle')
        await asyncio.sleep_ms(500)
