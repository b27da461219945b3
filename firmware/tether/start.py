# Start-up, run once: reads config/*.json, builds the board, the direct-mode server and the hub
# link. app.main() unloads this module (and tether.config) afterwards, so its bytecode goes back
# to the heap; tests/host/run_board.py builds through build() with its own config and clock.
import asyncio
from machine import Pin, I2C
from tether import VERSION, config, drivers, drop
from tether.board import Board, SensorEntry
from tether.dispatcher import Dispatcher
from tether.server import Server


async def run(support, led, clock):
    # The board's files; what cannot start blinks the error pattern, forever.
    try:
        cfg = config.load('config/device.json', support)
        wifi = config.read_json('config/wifi.json', False)
        hub = config.hub(config.read_json('config/hub.json', False))
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
    if cfg['auth'] is None:
        print('tether: warning: the board config says "auth": "none": any client on the network may drive this board; '
              'list tokens under auth.tokens to require one')
    board = Board(cfg, clock, support)
    await start_board(board)
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
    if cfg.get('peers'):
        # Boards this one follows (tether/peers.py): loaded only when the config names some.
        from tether import peers
        board.peers = peers.start(board, cfg['peers'])
    return board, server, link


async def start_board(board):
    # The buses, the config's pins and actuators, then every sensor is started. A config the
    # board cannot follow (an unknown driver, an undeclared bus, bad options) stops the start; a
    # sensor that does not answer yet does not: the board keeps it as down and starts it later.
    # The board's own setup helpers do the work: only this walk over the config lives here,
    # where its bytecode is freed once the board runs.
    cfg = board.cfg
    board.boot_id = new_boot_id()
    for b in cfg['i2c']:
        if b.get('sda') is not None:
            board.buses[b['bus']] = I2C(b['bus'], sda=Pin(b['sda']), scl=Pin(b['scl']), freq=b['freq'])
        else:
            board.buses[b['bus']] = I2C(b['bus'], freq=b['freq'])
    for p in cfg['pins']:
        if p['mode'] == 'input':
            board._setup_input(p['pin'], p.get('pull', 'none'), p.get('name'))
        else:
            safe = p.get('safe_value', p.get('value', 0))
            board._setup_output(p['pin'], p.get('name'), False, 'digital', {}, safe, board._max_lease(p['pin']))
    top = cfg['max_lease_s']
    for a in cfg['actuators']:
        ml = min(a.get('max_lease_s') or top, top)
        board._setup_output(a['pin'], a['name'], True, 'pwm' if a['driver'] == 'pwm' else 'digital', a.get('options') or {}, a.get('safe_value', 0), ml)
    for i, sc in enumerate(cfg['sensors']):
        mod = drivers.load_sensor(sc['driver'])
        bus = None
        addr = None
        if mod.BUS == 'i2c':
            bus = board.buses.get(sc.get('bus', 0))
            if bus is None:
                raise ValueError('sensors[%d] (%s): I2C bus %d is not declared in i2c' % (i, sc['name'], sc.get('bus', 0)))
            addr = sc.get('address') or mod.ADDRESSES[0]
        entry = SensorEntry(sc, mod, mod.Sensor(bus, addr, sc.get('options') or {}), addr)
        try:
            await entry.sensor.init()
        except Exception as err:
            board.add_sensor(entry, err)
            continue
        board.add_sensor(entry)
    board.run()


def new_boot_id():
    # A random UUID (version 4): the hub tells a reboot from a reconnect by it.
    try:
        from os import urandom
        b = urandom(16)
    except ImportError:
        from random import getrandbits
        b = bytes(getrandbits(8) for _ in range(16))
    h = ''.join('%02x' % x for x in b)
    return h[:8] + '-' + h[8:12] + '-4' + h[13:16] + '-' + h[16:20] + '-' + h[20:]


def tls_context(cfg):
    # config/cert.der + config/key.der (or the paths in "tls"); MicroPython loads DER bytes.
    t = cfg.get('tls')
    if not t:
        return None
    import ssl
    t = t if isinstance(t, dict) else {}
    der = []
    for what in ('cert', 'key'):
        path = t.get(what, 'config/%s.der' % what)
        try:
            with open(path, 'rb') as fh:
                der.append(fh.read())
        except OSError:
            raise ValueError('tls: cannot read %s; put the %s there in DER form (docs/firmware.md, TLS)' % (path, 'certificate' if what == 'cert' else 'private key'))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(der[0], der[1])
    return ctx


async def fail(led, message):
    # The board cannot serve: say why on the console and blink the error pattern, forever.
    print('tether:', message)
    led.show('error')
    while True:
        await asyncio.sleep_ms(60000)


def unload():
    for name in ('start', 'config', 'peer_config'):
        drop(name)
