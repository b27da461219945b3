// The firmware's heap under a pipelining client, under real MicroPython 1.27 (WebAssembly): with
// the collector set as app.main() sets it, a few thousand requests leave the heap as they found
// it, in its first area and with nothing more in use. bench:firmware runs the same for 100,000
// requests and reports the largest free block too; a run this short is too sensitive to where one
// transient object lands for that figure to be a test (about 1 run in 25 saw a 13.7 KB block).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SOAK_HEAP, soak, type HeapFigure } from '../support/firmware-soak.js';

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

test('a client pipelining 50 requests at a time leaves the heap ungrown, with nothing kept', { timeout: 60_000 }, async () => {
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
  }
});
