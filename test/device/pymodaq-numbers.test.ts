// Numbers as the original PyMoDAQ server reads them (Python's int() and int(x, 16)), and what a
// board says when the zeromq package cannot load.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pythonHexInt, pythonInt } from '../../src/device/pymodaq/python-int.js';
import { zeromqMissing } from '../../src/device/transport/zeromq-module.js';

describe('python int()', { timeout: 30_000 }, () => {
  test('int(x): whole strings with blanks, signs and underscores; floats truncated toward zero; nothing else', () => {
    const cases: Array<[unknown, number | undefined]> = [
      [18, 18],
      ['18', 18],
      [' 18\n', 18],
      ['+7', 7],
      ['-3', -3],
      ['1_000', 1000],
      [200.0, 200],
      [200.9, 200],
      [-0.5, 0],
      [-2.7, -2],
      ['18.0', undefined],
      ['0x12', undefined],
      ['1__0', undefined],
      ['_1', undefined],
      ['', undefined],
      ['abc', undefined],
      [true, undefined],
      [null, undefined],
      [undefined, undefined],
      [Number.NaN, undefined],
      [Number.POSITIVE_INFINITY, undefined],
      [[18], undefined],
    ];
    for (const [input, expected] of cases) assert.equal(pythonInt(input), expected, JSON.stringify(input) ?? String(input));
    assert.ok(Object.is(pythonInt(-0.5), 0), 'no negative zero');
  });

  test('int(x, 16): a hex string with or without 0x, any case; a number is refused', () => {
    const cases: Array<[unknown, number | undefined]> = [
      ['0x48', 0x48],
      ['0X4C', 0x4c],
      ['4c', 0x4c],
      [' 0x4d ', 0x4d],
      ['0x_4d', 0x4d],
      ['-0x1', -1],
      [72, undefined],
      ['0x', undefined],
      ['0x4g', undefined],
      ['', undefined],
      [null, undefined],
    ];
    for (const [input, expected] of cases) assert.equal(pythonHexInt(input), expected, JSON.stringify(input));
  });
});

describe('when zeromq does not load', { timeout: 30_000 }, () => {
  test('32-bit Raspberry Pi OS is told to install the 64-bit OS or drop pymodaq:', () => {
    const m = zeromqMissing(new Error('Cannot find addon'), 'linux', 'arm');
    assert.match(m, /no build for linux-arm \(32-bit Raspberry Pi OS\); install the 64-bit OS/);
    assert.match(m, /remove pymodaq: from the board config/);
  });

  test('a missing package is told how to install it; any other failure quotes it', () => {
    const notFound = Object.assign(new Error("Cannot find package 'zeromq' imported from /x.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    assert.match(zeromqMissing(notFound, 'linux', 'x64'), /the zeromq package is not installed .*npm install zeromq@6/);
    assert.match(zeromqMissing(new Error('GLIBC_2.38 not found'), 'linux', 'arm64'), /did not load on linux-arm64: GLIBC_2\.38 not found; reinstall it/);
  });
});
