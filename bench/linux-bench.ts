// npm run bench:linux: what the Linux backend adds to an edge, from the moment the kernel has an
// event to the moment a LinuxGpio.watch listener (and, past the board, a Board.watchPin
// subscription) runs, measured through the fake kernel
// (test/support/fake-kernel.ts) against baselines taken in the same run: a bare setImmediate
// hop (the fake's own "fd is readable" wake-up) and the fake's watch callback reading the raw
// event without decoding it. The real kernel seam's wake-up (koffi, a FIFO) is measured too.
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../src/common/clock.js';
import { mapPins } from '../src/device/backends/linux/gpio-chips.js';
import * as uapi from '../src/device/backends/linux/gpio-uapi.js';
import { LinuxGpio } from '../src/device/backends/linux/gpio.js';
import { openLinuxHardware } from '../src/device/backends/linux/index.js';
import { loadKoffiKernel } from '../src/device/backends/linux/koffi-kernel.js';
import { ROOT_VARIABLES } from '../src/device/backends/linux/roots.js';
import { Board } from '../src/device/board.js';
import { parseBoardConfig } from '../src/device/config.js';
import { silentLogger } from '../src/device/logger.js';
import { devNode, tempRoots } from '../test/device/linux/fake-sysfs.js';
import { FakeKernel, type FakeGpioChip } from '../test/support/fake-kernel.js';

const EDGES = Number(process.env['BENCH_EDGES'] ?? 5000);

/** Latencies in ns of one measurement. */
type Samples = number[];

/** One row of the report: what is measured, and the function that measures it in this run. */
interface Measurement {
  name: string;
  run(): Promise<Samples>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface EdgeRig {
  edge(i: number): void;
  teardown(): void;
}

/** Runs `edge(i)` EDGES times, each after the previous one's callback, timing from just before it to `done()`. */
async function timedEdges(setup: (done: () => void) => EdgeRig | Promise<EdgeRig>): Promise<Samples> {
  const samples: Samples = [];
  let t0 = 0n;
  let resolve: (() => void) | undefined;
  const rig = await setup(() => {
    samples.push(Number(process.hrtime.bigint() - t0));
    resolve?.();
  });
  for (let i = 0; i < EDGES; i++) {
    await new Promise<void>((res) => {
      resolve = res;
      t0 = process.hrtime.bigint();
      rig.edge(i);
    });
  }
  rig.teardown();
  return samples;
}

function fakeRig(): { kernel: FakeKernel; chip: FakeGpioChip } {
  const kernel = new FakeKernel({ clock: new SystemClock() });
  const chip = kernel.addChip({ label: 'pinctrl-bcm2711', lines: 58 });
  return { kernel, chip };
}

const level = (i: number) => (i % 2 === 0 ? 1 : 0);

// --- edges ------------------------------------------------------------------------------------

const bareHop: Measurement = {
  name: 'setImmediate hop (baseline)',
  run: () =>
    timedEdges((done) => ({
      edge: () => setImmediate(done),
      teardown() {},
    })),
};

const fakeWatch: Measurement = {
  name: 'fake kernel watch, raw read',
  run: () =>
    timedEdges((done) => {
      const { kernel, chip } = fakeRig();
      const chipFd = kernel.open(chip.path, 'readwrite');
      const req = uapi.encodeLineRequest({ offsets: [17], consumer: 'bench', config: { flags: uapi.LineFlag.INPUT | uapi.LineFlag.EDGE_RISING | uapi.LineFlag.EDGE_FALLING, attrs: [] } });
      kernel.ioctl(chipFd, uapi.GPIO_V2_GET_LINE_IOCTL, req);
      const fd = uapi.requestFd(req);
      const buf = Buffer.alloc(uapi.LINE_EVENT.size * 16);
      const stop = kernel.watch(fd, () => {
        if (kernel.read(fd, buf) > 0) done();
      });
      return {
        edge: (i) => chip.drive(17, level(i)),
        teardown: stop,
      };
    }),
};

const linuxGpioWatch: Measurement = {
  name: 'LinuxGpio.watch listener',
  run: () =>
    timedEdges((done) => {
      const { kernel, chip } = fakeRig();
      const clock = new SystemClock();
      const { pins } = mapPins(kernel, kernel.devRoot, { gpioChip: 'auto', lines: {}, pinCount: 30 });
      const gpio = new LinuxGpio({ kernel, clock, pins });
      gpio.setupInput(17, 'none');
      const stop = gpio.watch(17, () => done());
      return {
        edge: (i) => chip.drive(17, level(i)),
        teardown() {
          stop();
          gpio.close();
        },
      };
    }),
};

/**
 * The whole path a subscriber sees: the backend opened by openLinuxHardware (pre-flight included)
 * on a prepared dev folder, under a started Board, to a Board.watchPin callback.
 */
const boardWatch: Measurement = {
  name: 'Board.watchPin callback',
  run: () =>
    timedEdges(async (done) => {
      const roots = tempRoots();
      const clock = new SystemClock();
      const kernel = new FakeKernel({ clock, devRoot: roots.dev });
      const chip = kernel.addChip({ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 });
      devNode(roots, 'gpiochip0');
      const config = parseBoardConfig({ name: 'bench', pins: [{ pin: 17, mode: 'input' }] }, 'linux-bench');
      const env = { [ROOT_VARIABLES.sys]: roots.sys, [ROOT_VARIABLES.dev]: roots.dev, [ROOT_VARIABLES.proc]: roots.proc };
      const hardware = await openLinuxHardware(config, { clock, source: 'linux-bench', env }, { kernel });
      const board = new Board(config, hardware, clock, silentLogger);
      await board.start();
      const stop = board.watchPin(17, 'both', () => done());
      return {
        edge: (i) => chip.drive(17, level(i)),
        teardown() {
          stop();
          board.close();
          hardware.close();
          roots.cleanup();
        },
      };
    }),
};

/** The real seam's wake-up: a byte written to a FIFO until the Kernel.watch callback runs. */
function koffiFifo(watcher: 'uv' | 'thread'): Measurement {
  return {
    name: `koffi Kernel.watch (${watcher}), FIFO`,
    run: async () => {
      const kernel = await loadKoffiKernel({ watcher });
      const dir = mkdtempSync(join(tmpdir(), 'tether-linux-bench-'));
      const path = join(dir, 'fifo');
      if (spawnSync('mkfifo', [path]).status !== 0) throw new Error('mkfifo failed');
      const fd = kernel.open(path, 'readwrite');
      const writer = openSync(path, 'w');
      const byte = Buffer.of(1);
      const buf = Buffer.alloc(64);
      try {
        return await timedEdges((done) => {
          const stop = kernel.watch(fd, () => {
            if (kernel.read(fd, buf) > 0) done();
          });
          return { edge: () => writeSync(writer, byte), teardown: stop };
        });
      } finally {
        closeSync(writer);
        kernel.close(fd);
        kernel.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

const EDGE_MEASUREMENTS: Measurement[] = [bareHop, fakeWatch, linuxGpioWatch, boardWatch, koffiFifo('uv'), koffiFifo('thread')];

// --- software PWM -----------------------------------------------------------------------------
// Software-PWM measurements go in this list (same Measurement shape; their samples are printed
// against the setImmediate baseline like the edges above).
const SOFTWARE_PWM_MEASUREMENTS: Measurement[] = [];

// --- report -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`tether Linux backend bench — node ${process.version}, ${process.arch}, ${EDGES} edges each, one at a time, after a warm-up pass\n`);
  const all = [...EDGE_MEASUREMENTS, ...SOFTWARE_PWM_MEASUREMENTS];
  // A first pass lets the JIT settle, so the first row is not the one that pays for it.
  for (const m of all) await m.run();
  const rows: { name: string; p50: number; p99: number }[] = [];
  for (const m of all) {
    const s = (await m.run()).sort((a, b) => a - b);
    rows.push({ name: m.name, p50: percentile(s, 50), p99: percentile(s, 99) });
  }
  const base = rows[0] as (typeof rows)[number];
  const raw = rows[1] as (typeof rows)[number];
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
  console.log(`  ${'edge → callback'.padEnd(36)} ${'p50'.padEnd(10)} ${'p99'.padEnd(10)} p50 / hop   p50 / raw read`);
  for (const r of rows) {
    console.log(`  ${r.name.padEnd(36)} ${us(r.p50).padEnd(10)} ${us(r.p99).padEnd(10)} ${(r.p50 / base.p50).toFixed(2).padEnd(11)} ${(r.p50 / raw.p50).toFixed(2)}`);
  }
}

await main();
