// The real Kernel on this machine, as far as it goes without a GPIO chip or an I2C adapter:
// errno mapping, read, list, addressOf through a syscall that follows a pointer, watching a
// FIFO with both fd watchers (libuv's epoll and the poll() worker), and the clock the kernel
// stamps GPIO edges with.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import type { FdWatcherKind } from '../../../src/device/backends/linux/fd-watch.js';
import { KernelError, type Kernel } from '../../../src/device/backends/linux/kernel.js';
import { loadKoffiKernel } from '../../../src/device/backends/linux/koffi-kernel.js';
import { compileC, runProbe } from '../../support/c-probe.js';

const HANG_GUARD_MS = 5000;

/** Resolves on the next call of the returned callback; rejects if none comes (the test would otherwise hang). */
function nextCall(): { callback: () => void; called: Promise<void>; count: () => number } {
  let n = 0;
  let resolve!: () => void;
  const called = new Promise<void>((res, rej) => {
    resolve = res;
    setTimeout(() => rej(new Error(`no callback within ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS).unref();
  });
  return {
    callback: () => {
      n++;
      resolve();
    },
    called,
    count: () => n,
  };
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function kernelErrorOf(fn: () => unknown): KernelError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to throw');
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-koffi-kernel-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const path = join(dir, name);
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}`);
  return path;
}

for (const watcher of ['uv', 'thread'] as const satisfies readonly FdWatcherKind[]) {
  void describe(`KoffiKernel with the "${watcher}" fd watcher`, { timeout: 60_000 }, () => {
    let kernel: Kernel;
    before(async () => {
      kernel = await loadKoffiKernel({ watcher });
    });
    after(() => kernel.dispose());

    void test('open of a missing path is ENOENT, with the errno, the call and the path', () => {
      const missing = join(dir, 'no-such-device');
      const err = kernelErrorOf(() => kernel.open(missing, 'read'));
      assert.equal(err.code, 'ENOENT');
      assert.equal(err.errno, 2);
      assert.equal(err.syscall, 'open');
      assert.equal(err.path, missing);
      assert.match(err.message, /no-such-device: ENOENT \(no such file or directory\)/);
    });

    void test('an ioctl a device does not have is ENOTTY', () => {
      const fd = kernel.open('/dev/null', 'readwrite');
      try {
        const err = kernelErrorOf(() => kernel.ioctl(fd, 0x541b /* FIONREAD */, Buffer.alloc(8)));
        assert.equal(err.code, 'ENOTTY');
        assert.equal(err.errno, 25);
      } finally {
        kernel.close(fd);
      }
    });

    void test('read returns the bytes read, then 0 at the end of a file', () => {
      const file = join(dir, `data-${watcher}`);
      writeFileSync(file, 'hello');
      const fd = kernel.open(file, 'read');
      try {
        const buf = Buffer.alloc(16);
        assert.equal(kernel.read(fd, buf), 5);
        assert.equal(buf.subarray(0, 5).toString(), 'hello');
        assert.equal(kernel.read(fd, buf), 0);
      } finally {
        kernel.close(fd);
      }
    });

    void test('list names a directory\'s entries, and a missing one is ENOENT', () => {
      writeFileSync(join(dir, `listed-${watcher}`), '');
      assert.ok(kernel.list(dir).includes(`listed-${watcher}`));
      assert.equal(kernelErrorOf(() => kernel.list(join(dir, 'nope'))).code, 'ENOENT');
    });

    void test('addressOf gives an address the kernel writes through (readv into a subarray)', () => {
      const libc = koffi.load(null);
      const readv = libc.func('intptr_t readv(int fd, const void *iov, int iovcnt)') as (fd: number, iov: Buffer, n: number) => number;
      const file = join(dir, `readv-${watcher}`);
      writeFileSync(file, 'abcdef');
      const target = Buffer.alloc(12, 0x2e);
      const iov = Buffer.alloc(16); // struct iovec on a 64-bit process: base, length
      iov.writeBigUInt64LE(kernel.addressOf(target.subarray(4)), 0);
      iov.writeBigUInt64LE(3n, 8);
      const fd = kernel.open(file, 'read');
      try {
        assert.equal(readv(fd, iov, 1), 3);
      } finally {
        kernel.close(fd);
      }
      assert.equal(target.toString(), '....abc.....');
    });

    void test('watch calls back when a FIFO has data, read then finds it, and nothing waiting reads as 0', async () => {
      const path = fifo(`watched-${watcher}`);
      const fd = kernel.open(path, 'readwrite');
      const writer = openSync(path, 'w');
      try {
        const call = nextCall();
        const stop = kernel.watch(fd, () => {
          const buf = Buffer.alloc(16);
          const n = kernel.read(fd, buf);
          if (n > 0) assert.equal(buf.subarray(0, n).toString(), 'ping');
          call.callback();
        });
        writeSync(writer, 'ping');
        await call.called;
        assert.equal(kernel.read(fd, Buffer.alloc(16)), 0, 'a watched fd is non-blocking: nothing waiting reads as 0');
        stop();
        writeSync(writer, 'late');
        await pause(100);
        assert.equal(call.count(), 1, 'no call after stop');
        const buf = Buffer.alloc(16);
        assert.equal(kernel.read(fd, buf), 4, 'the data was there to see');
        assert.equal(buf.subarray(0, 4).toString(), 'late');
      } finally {
        closeSync(writer);
        kernel.close(fd);
      }
    });

    void test('two fds watched at once: each call goes to its own fd, and stopping one leaves the other', async () => {
      const pathA = fifo(`a-${watcher}`);
      const pathB = fifo(`b-${watcher}`);
      const a = kernel.open(pathA, 'readwrite');
      const b = kernel.open(pathB, 'readwrite');
      const wa = openSync(pathA, 'w');
      const wb = openSync(pathB, 'w');
      try {
        const seen: string[] = [];
        const drain = (fd: number, name: string) => () => {
          while (kernel.read(fd, Buffer.alloc(16)) > 0) seen.push(name);
        };
        const stopA = kernel.watch(a, drain(a, 'a'));
        const callB = nextCall();
        const stopB = kernel.watch(b, () => {
          drain(b, 'b')();
          callB.callback();
        });
        stopA();
        writeSync(wa, 'x');
        writeSync(wb, 'y');
        await callB.called;
        await pause(50);
        assert.deepEqual(seen, ['b']);
        stopB();
      } finally {
        closeSync(wa);
        closeSync(wb);
        kernel.close(a);
        kernel.close(b);
      }
    });

    void test('monotonicNs is CLOCK_MONOTONIC: a C program reading it runs between two readings', (t) => {
      assert.ok(Math.abs(Number(kernel.monotonicNs() - process.hrtime.bigint())) < 1e6);
      const program = compileC(t, '#include <stdio.h>\n#include <time.h>\nint main(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); printf("now %llu\\n", (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec); return 0; }\n');
      if (program === undefined) return;
      try {
        const before = kernel.monotonicNs();
        const c = runProbe(program).get('now');
        const afterNs = kernel.monotonicNs();
        assert.ok(c !== undefined && before <= c && c <= afterNs, `${before} ≤ ${c} ≤ ${afterNs}`);
      } finally {
        program.dispose();
      }
    });
  });
}

void test('dispose ends every watch', { timeout: 60_000 }, async () => {
  for (const watcher of ['uv', 'thread'] as const) {
    const kernel = await loadKoffiKernel({ watcher });
    const path = fifo(`disposed-${watcher}`);
    const fd = kernel.open(path, 'readwrite');
    const writer = openSync(path, 'w');
    let calls = 0;
    kernel.watch(fd, () => calls++);
    kernel.dispose();
    writeSync(writer, 'x');
    await pause(100);
    assert.equal(calls, 0, `${watcher}: no call after dispose`);
    closeSync(writer);
    kernel.close(fd);
  }
});
