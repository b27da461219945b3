// The firmware's heap under a pipelining client, under real MicroPython 1.27 (WebAssembly): with
// the collector set as app.main() sets it, a few thousand requests leave the heap as they found
// it, in its first area, with nothing more in use and its largest free block still big enough for
// a TLS session. bench:firmware runs the same for 100,000 requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SOAK_HEAP, TLS_BLOCK_KB, soak, type HeapFigure } from '../support/firmware-soak.js';

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

test('a client pipelining 50 requests at a time leaves the heap ungrown, nothing kept, and room for a TLS session', { timeout: 60_000 }, async () => {
  const seen: HeapFigure[] = [];
  const { replies, failed, area } = await soak(3000, 50, 1000, (f) => seen.push(f));
  assert.equal(replies, 3000);
  assert.equal(failed, 0);
  const first = seen[0] as HeapFigure;
  for (const f of seen) {
    // A collection that comes only when an allocation fails lets each batch's garbage spread over
    // the whole heap, and the port then adds a heap area.
    assert.equal(f.total, area, `after ${f.frames} requests the heap had grown past its first ${kb(SOAK_HEAP)} area`);
    assert.ok(f.used - first.used < 2048, `after ${f.frames} requests ${kb(f.used - first.used)} more is in use: a leak`);
    // What lives on after a request (a lease's timer task once, the last reply held by the
    // session's suspended coroutine) lands where that moment's garbage left room, often inside
    // this block.
    assert.ok(f.largest >= TLS_BLOCK_KB * 1024, `after ${f.frames} requests the largest free block is ${kb(f.largest)}, under the ${TLS_BLOCK_KB} KB a TLS session needs`);
  }
});
