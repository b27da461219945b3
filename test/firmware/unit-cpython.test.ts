// The firmware's Python unit tests (firmware/tests/mp/test_*.py) under CPython 3.11 with the
// MicroPython stand-ins of firmware/tests/host/cpython_compat.py: quicker tracebacks, and a
// check that the tests do not depend on one interpreter. One process per module.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { firmwareTestModules, mapLimit, runFirmwareTestsUnderCPython } from '../support/micropython.js';

const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const skip = python.status === 0 ? false : 'python3 is not installed';

const modules = firmwareTestModules();
const results = skip === false ? await mapLimit(modules, (m) => runFirmwareTestsUnderCPython([m])) : [];

describe('firmware unit tests under CPython', { skip }, () => {
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
