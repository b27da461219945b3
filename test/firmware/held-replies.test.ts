// What a request leaves alive once it is answered, under real MicroPython 1.27 (WebAssembly):
// nothing of it. MicroPython's collector scans the whole state of a suspended coroutine, stack
// slots left over from its last expression included, so a loop that waits for the next request
// right after answering one (Session.run, the pipe's writer, the hub link's worker and connection) can keep the
// last reply alive for as long as nobody sends another, wherever it was made, often in the middle
// of the largest free block (docs/benchmarks.md, the soak). The heap's map
// (micropython.mem_info(1)) tells whether the reply's block is still allocated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadFirmwareMicroPython, type FirmwareMicroPython } from '../support/micropython.js';
import { GREENHOUSE_BOARD } from '../support/firmware-soak.js';

/** Whether the heap block at `address` is allocated, after two collections in calls of their own. */
function allocated(fw: FirmwareMicroPython, address: number): boolean {
  fw.run('import gc, micropython\ngc.collect()');
  const map = fw.run('gc.collect()\nmicropython.mem_info(1)');
  const base = parseInt(/GC memory layout; from ([0-9a-f]+)/.exec(map)?.[1] ?? 'NaN', 16);
  const block = (address - base) / 16;
  // The map has 64 blocks a line, after the line's offset; runs of free lines are folded.
  let at = 0;
  for (const line of map.split(/\r?\n/)) {
    const row = /^([0-9a-f]{8}): (.*)$/.exec(line);
    if (row !== null) {
      at = parseInt(row[1] ?? '', 16) / 16;
      const cells = row[2] ?? '';
      if (block >= at && block < at + cells.length) return cells[block - at] !== '.';
      at += cells.length;
      continue;
    }
    const free = /\((\d+) lines all free\)/.exec(line);
    if (free !== null) at += 64 * Number(free[1]);
  }
  throw new Error(`block ${block} (0x${address.toString(16)}) is not in the heap's map`);
}

/** Replies made from here on, by address: recorded without holding them. */
const RECORD_REPLIES = `
import tether.dispatcher as D
replies = []
_ok = D.ok_reply
def _recording(request, results):
    r = _ok(request, results)
    replies.append(id(r))
    return r
D.ok_reply = _recording
`;

/** Lets the board's tasks run on the port's JavaScript timers. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
}

test('direct mode: once a reply is sent, neither the session waiting for the next request nor its writer keeps anything of it', { timeout: 60_000 }, async () => {
  const fw = await loadFirmwareMicroPython();
  await fw.runAsync(`
import json, asyncio, simchips
from tether import app, start, boards
from tether.session import Session
raw = json.loads(${JSON.stringify(JSON.stringify({ ...GREENHOUSE_BOARD, auth: 'none' }))})
simchips.populate(raw)
support = boards.detect()
cfg = start.config.normalize(raw, support)
board, server, link = await start.build(cfg, app.Clock(), support, None, None, False)
${RECORD_REPLIES}
from scripted_session import ChunkReader, CollectingWriter
written = []
class Writer(CollectingWriter):
    # Keeps the address of what it is given, never the bytes: they must be free to go.
    ok = False
    def write(self, b):
        written.append(id(b))
        self.ok = self.ok or b'"ok":true' in b
# Two requests in one read: their replies go out in one write, which the pipe joins.
client = Writer()
session = Session(board, server.dispatcher, ChunkReader([b'{"id":1,"action":"get_state"}\\n{"id":2,"action":"read_pin","pin":20}\\n'], True), client, cfg['max_frame_bytes'])
task = asyncio.create_task(session.run())
`);
  try {
    await settle();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(fw.run('print(client.ok)').trim(), 'True', 'the requests were answered');
    const reply = Number(fw.run('print(replies[-1])').trim());
    assert.equal(allocated(fw, reply), false, "the session's suspended coroutine still holds the reply it sent");
    const sent = Number(fw.run('print(written[-1])').trim());
    assert.equal(allocated(fw, sent), false, "the pipe's writer task still holds the bytes it wrote");
  } finally {
    // The session waits on the port's JavaScript timers: stopped, so that the process can end.
    fw.run('task.cancel()\nboard.safe_all()');
  }
});

test('hub mode: once a reply is queued, the link keeps nothing of it, nor of the state it reported at link-up', { timeout: 60_000 }, async () => {
  const fw = await loadFirmwareMicroPython();
  await fw.runAsync(`
import asyncio
from test_link import Hub, TOKEN, started
${RECORD_REPLIES}
hub = Hub(TOKEN)
b, link, conn = await started(hub)
states = []
_state = b.state
def _recording_state():
    s = _state()
    states.append(id(s))
    return s
b.state = _recording_state
await conn.handshake()
await conn.frame()
conn.send({'link': 'msg', 'seq': 1, 'ack': 1, 'body': {'action': 'get_state', 'id': 'h1'}})
reply = await conn.frame()
print(reply['body']['id'], reply['body']['ok'])
`);
  try {
    await settle();
    const reply = Number(fw.run('print(replies[-1])').trim());
    const state = Number(fw.run('print(states[0])').trim());
    assert.equal(allocated(fw, reply), false, "the link's worker still holds the reply it queued");
    assert.equal(allocated(fw, state), false, "the link's connection still holds the state it reported at link-up");
  } finally {
    fw.run('link.stop()\nlink.task.cancel()\nlink.worker.cancel()');
  }
});
