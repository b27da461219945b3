# Start-up, run once: reads config/*.json, builds the board, the direct-mode server and the hub
# link. app.main() unloads this module (and tether.config) afterwards, so its bytecode goes back
# to the heap; tests/host/run_board.py builds through build() with its own config and clock.
import asyncio
import sys
from tether import VERSION, config
from tether.board import Board
from tether.dispatcher import Dispatcher
from tether.server import Server


async def run(support, led, clock):
    # The board's files; what cannot start blinks the error pattern, forever.
    try:
        cfg = config.load('config/device.json', support)
        wifi = config.read_json('config/wifi.json', False)
        hub = config.read_json('config/hub.json', False)
    except config.ConfigError as err:
        await fail(led, str(err))
    net = None
    if wifi:
        from tether.net import Net
        net = Net(wifi, led)
        asyncio.create_task(net.keep_up())
    try:
        board, server, link = await build(cfg, clock, support, net, hub, True, tls_context(cfg))
    except Exception as err:
        await fail(led, 'cannot start: %s' % err)
    print('tether %s: %s listening on port %d%s' % (VERSION, cfg['name'], cfg['listen']['port'], ', hub ' + hub['host'] if hub else ''))
    return board, net, server, link


async def build(cfg, clock, support, net=None, hub=None, listen=True, ssl=None):
    board = Board(cfg, clock, support)
    await board.start()
    # Nothing built here may keep a function of this module: that would keep it all in RAM.
    dispatcher = Dispatcher(board, net, True)
    server = Server(board, dispatcher, cfg, ssl)
    if listen:
        await server.start()
    link = None
    if hub:
        from tether.link import HubLink
        link = HubLink(board, dispatcher, hub)
        link.start()
    return board, server, link


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


async def fail(led, message):
    # The board cannot serve: say why on the console and blink the error pattern, forever.
    print('tether:', message)
    led.show('error')
    while True:
        await asyncio.sleep_ms(60000)


def unload():
    # The module table and the package both hold each module.
    import tether
    for name in ('start', 'config'):
        sys.modules.pop('tether.' + name, None)
        if name in tether.__dict__:
            delattr(tether, name)
