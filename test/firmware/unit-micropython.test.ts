// The firmware's Python unit tests (firmware/tests/mp/test_*.py) under real MicroPython 1.27
// (the WebAssembly port): 32-bit small ints and ticks like the RP2040, MicroPython's asyncio.
// One fresh interpreter per module, with the Pico W's free heap as its first heap (the port
// grows its heap on demand, so this does not limit memory; see test/support/micropython.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firmwareTestModules, mapLimit, runFirmwareTestsUnderMicroPython } from '../support/micropython.js';

const PICO_W_FREE_HEAP = 192 * 1024;

const modules = firmwareTestModules();
const results = await mapLimit(modules, (m) => runFirmwareTestsUnderMicroPython([m], PICO_W_FREE_HEAP));

describe('firmware unit tests under MicroPython (WebAssembly)', { timeout: 30_000 }, () => {
  modules.forEach((module, i) => {
    describe(module, () => {
      for (const r of results[i] ?? []) {
        test(r.name, () => {
          if (!r.ok) assert.fail(r.message);
        });
      }
    });
  });
});
