// The firmware's Python unit tests (firmware/tests/mp/test_*.py) under CPython 3.11 with the
// MicroPython stand-ins of firmware/tests/host/cpython_compat.py: quicker tracebacks, and a
// check that the tests do not depend on one interpreter. One process per module.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firmwareTestModules, mapLimit, runFirmwareTestsUnderCPython, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';

const skip = SKIP_WITHOUT_PYTHON3;

const modules = firmwareTestModules();
const results = skip === false ? await mapLimit(modules, (m) => runFirmwareTestsUnderCPython([m])) : [];

describe('firmware unit tests under CPython', { skip, timeout: 30_000 }, () => {
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
