# Figures for the hub link's authentication on the board (not a test: no goals here). Under the
# WebAssembly MicroPython 1.27, from the repository after `npm run build`:
#   node --input-type=module -e "import {loadFirmwareMicroPython as l} from './dist/test/support/micropython.js';
#     const fw = await l(); console.log(await fw.runAsync('import asyncio, bench_auth\nawait asyncio.create_task(bench_auth.main())'))"
# Prints one JSON line:
#   board_us: the board's own work in one handshake (nonce, hello, its digest, checking the hub's
#     proof, its own proof, the session key, the sealer and opener), per handshake, and
#     board_alloc_bytes, what that work allocates;
#   handshake_us: a whole handshake through HubLink against fake_hub.py in the same interpreter
#     (the hub's work included), dial to link up, the mean of 10;
#   alloc_bytes: bytes allocated from the link's creation to link up (the hub's included; this
#     port collects only when JavaScript calls in, so nothing is freed in between);
#   held_bytes: what an up link holds after a collection (LineBuffer, key, pads, pipe, tasks);
#   seal_us, open_us: sealing and opening one 200-byte frame.
import asyncio
import gc
import json
import time
from tether import auth
from tether.codec import dumps


def _per(n, fn):
    t = time.ticks_us()
    for _ in range(n):
        fn()
    return time.ticks_diff(time.ticks_us(), t) / n


def _board_side(key, hub_key_proofs):
    # The steps of HubLink._once and _handshake that are the board's own work.
    nb = auth.nonce()
    hello = dumps({'link': 'hello', 'protocol': 2, 'device_id': 'pico', 'nonce': nb, 'boot_id': '6f1c2a',
                   'firmware': 'tether-mpy 0.1.0', 'capabilities': ['gpio', 'leases'], 'rx': {'stream': None, 'last': 0},
                   'uptime_ms': 5000, 'max_frame': 4096})
    th = auth.digest_hex(hello)
    nh, given = hub_key_proofs
    auth.proof_ok(given, auth.proof(key, auth.LINK_HUB, nb, nh, th))
    auth.proof(key, auth.LINK_BOARD, nb, nh, th)
    ks = auth.session_key(key, auth.LINK_SESSION, nb, nh)
    auth.Sealer(ks, 'b2h')
    o = auth.Opener(ks, 'h2b')
    return o


def _frame(size):
    head = b'{"link":"msg","seq":1,"ack":1,"body":{"action":"ping","pad":"'
    tail = b'"}}'
    return head + b'x' * (size - len(head) - len(tail)) + tail


async def _handshake(hub_token, rounds):
    import simhw
    from fake_hub import Hub
    from manual_clock import ManualClock
    from tether import config
    from tether.board import Board
    from tether.boards import pico_w
    from tether.dispatcher import Dispatcher
    from tether.link import HubLink
    from tether.start import start_board
    simhw.reset()
    b = Board(config.normalize({'auth': {'tokens': [{'token': hub_token, 'scope': 'admin'}]}}, pico_w), ManualClock(), pico_w)
    await start_board(b)
    d = Dispatcher(b)
    took = 0
    for i in range(rounds):
        hub = Hub(hub_token)
        # This port's heap grows on demand, so its mem_free moves with it: held RAM is counted
        # as mem_alloc after a collection (mem_free falls by as much on a board's fixed heap).
        await asyncio.sleep_ms(5)
        gc.collect()
        alloc0 = gc.mem_alloc()
        t = time.ticks_us()
        link = HubLink(b, d, {'host': '127.0.0.1', 'port': 7341, 'device_id': 'pico', 'token': hub_token})
        link._dial = hub.dial
        link.start()
        conn = await hub.accept()
        await conn.handshake()
        while not link.up:
            await asyncio.sleep_ms(0)
        took += time.ticks_diff(time.ticks_us(), t)
        alloc = gc.mem_alloc() - alloc0
        await conn.frame()
        await asyncio.sleep_ms(5)
        gc.collect()
        held = gc.mem_alloc() - alloc0
        link.stop()
        link.task.cancel()
        link.worker.cancel()
        b.listeners.remove(link)
        b.reset_listeners.remove(link._reset)
        del link, conn, hub
    return took / rounds / 1000, alloc, held


async def main(rounds=200):
    token = 'pico-hub-token-0123456789abcdef'
    key = auth.key_of(token)
    nh = auth.nonce()
    proofs = (nh, '0' * 64)
    await asyncio.sleep_ms(5)
    gc.collect()
    a = gc.mem_alloc()
    _board_side(key, proofs)
    board_alloc = gc.mem_alloc() - a
    board_us = _per(rounds, lambda: _board_side(key, proofs))
    ms, alloc, held = await _handshake(token, 10)
    frame = _frame(200)
    ks = bytes(32)
    s = auth.Sealer(ks, 'b2h')
    seal_us = _per(rounds * 5, lambda: s.line((frame, b'\n')))
    line = bytearray(auth.Sealer(ks, 'b2h').line((frame, b'\n'))[:-1])
    mv = memoryview(line)
    o = auth.Opener(ks, 'b2h')

    def open_once():
        o.n = 0
        line[41] = 0x2C  # the seal's ',' that opening rewrote to '{'
        o.open(mv)
    open_us = _per(rounds * 5, open_once)
    print(json.dumps({'board_us': round(board_us), 'board_alloc_bytes': board_alloc, 'handshake_us': round(ms * 1000), 'alloc_bytes': alloc, 'held_bytes': held,
                      'seal_us': round(seal_us), 'open_us': round(open_us), 'frame_bytes': len(frame)}))
