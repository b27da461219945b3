// The firmware's heap under a long run of requests (bench:firmware's soak, and its test): a real
// Session (framing, dispatcher, board, pipe) under MicroPython 1.27 (WebAssembly), with the
// collector set as app.main() sets it.
import { loadFirmwareMicroPython } from './micropython.js';

/** The board of the firmware's RAM figures and soak: pins, an actuator, an I2C sensor, like a real bench. */
export const GREENHOUSE_BOARD = {
  name: 'greenhouse',
  i2c: [{ bus: 0, sda: 4, scl: 5 }],
  pins: [{ pin: 20, name: 'led', mode: 'output', value: 0 }, { pin: 22, name: 'door', mode: 'input', pull: 'up' }],
  actuators: [{ name: 'fan', driver: 'pwm', pin: 16, max_lease_s: 600 }],
  sensors: [{ name: 'air', driver: 'aht10', address: '0x38' }],
  auth: { tokens: [{ token: 'admin-token-0123456789', scope: 'admin' }] },
};

/** What one TLS session (mbedTLS handshake buffers) needs in one piece on a Pico W. */
export const TLS_BLOCK_KB = 17;

/** The soak's first heap area, about what a Pico W's firmware leaves for Python. */
export const SOAK_HEAP = 192 * 1024;

export interface HeapFigure {
  frames: number;
  used: number;
  largest: number;
  total: number;
}

/**
 * One client's requests through a real Session (framing, dispatcher, board, pipe), `batch` at a
 * time, the board's collector set as app.main() sets it (gc.threshold: a collection each time a
 * quarter of the free heap has been allocated). This port cannot collect inside a running call:
 * past the threshold it marks a collection due and does it when the call returns to JavaScript.
 * So the session runs as a task on the port's JavaScript-timer loop, JavaScript hands it each
 * batch with a short synchronous call, and the fake socket gives a batch one TCP segment per read
 * with a return to JavaScript between two reads: a due collection runs at most one segment's
 * requests late. (A runPythonAsync per batch would not do: each one leaves ~170 bytes of the
 * port's own behind.) The port adds heap areas instead of raising MemoryError, so the figure that
 * tells a split heap is micropython.mem_info()'s largest free block, and "total" says whether it
 * grew.
 */
export async function soak(frames: number, batch: number, every: number, report: (f: HeapFigure) => void): Promise<{ replies: number; failed: number; area: number }> {
  const fw = await loadFirmwareMicroPython({ heapsize: SOAK_HEAP });
  // The first heap area's size as mem_info() counts it: a figure past it means the heap grew.
  const area = Number(/total: (\d+)/.exec(fw.run('import micropython\nmicropython.mem_info()'))?.[1] ?? NaN);
  await fw.runAsync(`
import gc, micropython, json, asyncio, simchips
from tether import app, start, boards
from tether.session import Session
raw = json.loads(${JSON.stringify(JSON.stringify(GREENHOUSE_BOARD))})
simchips.populate(raw)
support = boards.detect()
cfg = start.config.normalize(raw, support)
del raw
board, server, link = await start.build(cfg, app.Clock(), support, None, None, False)
start.unload()
del start
# A client's mix: reads, writes and PWM with 5 s leases, state, pings; an AHT10
# reading (80 ms) every 500th request, get_info (tether/extras.py compiled for it) every 5000th,
# halfway between two figures: this port adds a heap area for the compile, and lets it go later.
MIX = (b'{"id":%d,"action":"read_pin","pin":20}\\n', b'{"id":%d,"action":"write_pin","pin":20,"value":1,"timeout":5}\\n',
       b'{"id":%d,"action":"get_state"}\\n', b'{"id":%d,"action":"pwm","pin":16,"freq":1000,"duty":0.25,"timeout":5}\\n',
       b'{"id":%d,"action":"read_pin","pin":22}\\n', b'{"id":%d,"action":"write_pin","pin":20,"value":0}\\n',
       b'{"id":%d,"action":"pwm","pin":16,"freq":2000,"duty":0,"timeout":5}\\n', b'{"id":%d,"action":"ping"}\\n')


class Client:
    def __init__(self):
        self.i = 0
        self.left = 0
        self.idle = False
        self.replies = 0
        self.failed = 0

    def frame(self, i):
        if i == 0:
            return b'{"action":"auth","token":"${GREENHOUSE_BOARD.auth.tokens[0]?.token ?? ''}"}\\n'
        if i % 5000 == 2499:
            return b'{"id":%d,"action":"get_info"}\\n' % i
        if i % 500 == 499:
            return b'{"id":%d,"action":"read_sensor","name":"air"}\\n' % i
        return MIX[i % 8] % i

    async def readinto(self, mv):
        # What a socket gives: the batch's requests as they fit in one TCP segment. Between two
        # segments the loop goes back to JavaScript, where this port collects if the threshold
        # was passed meanwhile.
        if self.left:
            await asyncio.sleep_ms(1)
        while not self.left:
            self.idle = True
            await asyncio.sleep_ms(2)
        self.idle = False
        n = 0
        room = min(len(mv), SEGMENT)
        while self.left:
            f = self.frame(self.i)
            if n + len(f) > room:
                break
            mv[n:n + len(f)] = f
            n += len(f)
            self.i += 1
            self.left -= 1
        return n

    def write(self, b):
        self.replies += b.count(b'\\n')
        self.failed += b.count(b'"ok":false')

    async def drain(self):
        pass

    def close(self):
        pass

    async def wait_closed(self):
        pass


# The collector as app.main() sets it, from the free part of this port's first heap area (its
# gc.mem_free() counts the areas it may still add).
SEGMENT = 1460
gc.collect()
gc.threshold(app.collect_every(${SOAK_HEAP} - gc.mem_alloc()))
client = Client()
session = Session(board, server.dispatcher, client, client, cfg['max_frame_bytes'])
soak_task = asyncio.create_task(session.run())
await asyncio.sleep_ms(10)
`);
  const figure = (n: number): HeapFigure => {
    fw.run('gc.collect()');
    const out = fw.run('gc.collect()\nmicropython.mem_info()');
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
    // mem_info counts the largest free block in 16-byte blocks.
    return { frames: n, used: num(/used: (\d+)/), total: num(/total: (\d+)/), largest: num(/max free sz: (\d+)/) * 16 };
  };
  report(figure(0));
  for (let done = 0; done < frames; ) {
    const n = Math.min(batch, frames - done);
    fw.run(`client.left = ${n}\nclient.idle = False`);
    while (fw.run('print(client.idle and not client.left)').trim() !== 'True') await new Promise((r) => setTimeout(r, 1));
    done += n;
    if (done % every === 0 || done === frames) report(figure(done));
  }
  const [replies, failed] = fw.run('print(client.replies, client.failed)').trim().split(' ').map(Number);
  // The session polls its fake socket on JavaScript timers: stopped, and the leases' timers given
  // back, so that nothing keeps the process alive.
  fw.run('soak_task.cancel()\nboard.safe_all()');
  return { replies: replies ?? 0, failed: failed ?? 0, area };
}
