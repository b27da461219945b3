// npm run bench:soft-pwm: software PWM (src/device/backends/linux/soft-pwm.ts) on this machine's
// real clock, toggling a GPIO that only records. For each frequency: the frequency and duty it
// achieves, how far its edges land from their ideal deadlines (jitter p50/p99/max, early or
// late), and the CPU share it takes; measured in the same run against bare setTimeout calls
// asking for the same waits, and a bare setImmediate loop (the event loop's own turn time).
// BENCH_FREQS=10,100,200,500,1000 and BENCH_SECONDS=5 change what runs.
import { SystemClock } from '../src/common/clock.js';
import type { Gpio, Level } from '../src/device/hal/types.js';
import { SOFT_PWM_MAX_HZ, SoftPwm, type SoftPwmEdge } from '../src/device/backends/linux/soft-pwm.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const DUTY = 0.25;
const FREQS = (process.env['BENCH_FREQS'] ?? '100,200,1000').split(',').map(Number);

/** A GPIO whose writes cost nothing but a store, so what is measured is the scheduling. */
class RecordingGpio implements Gpio {
  writes = 0;
  has = () => true;
  setupInput(): void {}
  setupOutput(): void {}
  read = (): Level => 0;
  write(): void {
    this.writes++;
  }
  watch = () => () => {};
  release(): void {}
}

interface Run {
  label: string;
  freq: number | undefined;
  duty: number | undefined;
  /** How far each edge (or timer) came from its deadline, either way, ms. */
  late: number[];
  cpuShare: number;
  droppedCycles?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function measureCpu(ms: number, start: () => () => void): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = start();
  await new Promise((r) => setTimeout(r, ms));
  stop();
  const wall = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / wall;
}

async function softPwmRun(freq: number): Promise<Run> {
  const clock = new SystemClock();
  const edges: SoftPwmEdge[] = [];
  const pwm = new SoftPwm({ gpio: new RecordingGpio(), clock, maxHz: 100_000, onEdge: (e) => edges.push(e) });
  const cpuShare = await measureCpu(SECONDS * 1000, () => {
    pwm.set(5, freq, DUTY);
    return () => pwm.stop(5);
  });
  const cycle = edges.slice(1, -1); // the first rise and the stop's write are not scheduled edges
  const rises = cycle.filter((e) => e.level === 1);
  const first = rises[0];
  const last = rises[rises.length - 1];
  let high = 0;
  let total = 0;
  for (let i = 0; i + 1 < cycle.length; i++) {
    const a = cycle[i]!;
    const b = cycle[i + 1]!;
    total += b.at - a.at;
    if (a.level === 1) high += b.at - a.at;
  }
  const period = 1000 / freq;
  const dueSpan = first && last ? last.due - first.due : 0;
  return {
    label: `software PWM ${freq} Hz`,
    freq: first && last && rises.length > 1 ? ((rises.length - 1) * 1000) / (last.at - first.at) : Number.NaN,
    duty: total > 0 ? high / total : Number.NaN,
    late: cycle.map((e) => Math.abs(e.at - e.due)).sort((a, b) => a - b),
    cpuShare,
    droppedCycles: Math.round(dueSpan / period) + 1 - rises.length,
  };
}

/**
 * Bare setTimeout calls asking for the waits a PWM at `freq` and DUTY asks for (high time, then
 * low time, in turn), each one's lateness measured against its own request: the precision of
 * Node's timers here, with no PWM logic around them.
 */
async function timeoutBaseline(freq: number): Promise<Run> {
  const late: number[] = [];
  const period = 1000 / freq;
  const cpuShare = await measureCpu(SECONDS * 1000, () => {
    let stopped = false;
    let high = true;
    const next = () => {
      if (stopped) return;
      const wait = high ? period * DUTY : period * (1 - DUTY);
      const due = performance.now() + wait;
      setTimeout(() => {
        if (stopped) return;
        late.push(Math.abs(performance.now() - due));
        high = !high;
        next();
      }, wait);
    };
    next();
    return () => void (stopped = true);
  });
  return { label: `bare setTimeout, ${freq} Hz waits`, freq: undefined, duty: undefined, late: late.sort((a, b) => a - b), cpuShare };
}

/** The time between turns of a setImmediate loop: the finest step Node's event loop takes. */
async function immediateBaseline(): Promise<Run> {
  const gaps: number[] = [];
  const cpuShare = await measureCpu(1000, () => {
    let stopped = false;
    let prev = performance.now();
    const spin = () => {
      if (stopped) return;
      const now = performance.now();
      gaps.push(now - prev);
      prev = now;
      setImmediate(spin);
    };
    setImmediate(spin);
    return () => void (stopped = true);
  });
  return { label: 'bare setImmediate loop (turn time)', freq: undefined, duty: undefined, late: gaps.sort((a, b) => a - b), cpuShare };
}

function fmt(ms: number): string {
  return Math.abs(ms) < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}

function row(r: Run): string {
  const cells = [
    r.label.padEnd(38),
    (r.freq === undefined ? '' : `${r.freq.toFixed(1)} Hz`).padStart(11),
    (r.duty === undefined ? '' : `${(r.duty * 100).toFixed(1)} %`).padStart(8),
    fmt(quantile(r.late, 0.5)).padStart(10),
    fmt(quantile(r.late, 0.99)).padStart(9),
    fmt(r.late[r.late.length - 1] ?? Number.NaN).padStart(9),
    `${(r.cpuShare * 100).toFixed(1)} %`.padStart(7),
    r.droppedCycles === undefined ? '' : String(r.droppedCycles).padStart(7),
  ];
  return cells.join(' ');
}

console.log(`software PWM bench: duty ${DUTY * 100} %, ${SECONDS} s per run, Node ${process.version}, ${process.platform}/${process.arch}; SOFT_PWM_MAX_HZ is ${SOFT_PWM_MAX_HZ}`);
console.log(['run'.padEnd(38), 'frequency'.padStart(11), 'duty'.padStart(8), 'jitter p50'.padStart(10), 'p99'.padStart(9), 'max'.padStart(9), 'CPU'.padStart(7), 'dropped'.padStart(7)].join(' '));
const immediate = await immediateBaseline();
console.log(row(immediate));
for (const freq of FREQS) {
  const base = await timeoutBaseline(freq);
  const soft = await softPwmRun(freq);
  console.log(row(base));
  console.log(row(soft));
  const ratio = (q: number) => (quantile(soft.late, q) / quantile(base.late, q)).toFixed(2);
  const freqErr = soft.freq === undefined ? Number.NaN : ((soft.freq - freq) / freq) * 100;
  const dutyErr = soft.duty === undefined ? Number.NaN : (soft.duty - DUTY) * 100;
  console.log(
    `  ${freq} Hz: frequency error ${freqErr.toFixed(2)} %, duty error ${dutyErr.toFixed(2)} points; edge jitter vs bare setTimeout: p50 ×${ratio(0.5)}, p99 ×${ratio(0.99)}; CPU ${(soft.cpuShare * 100).toFixed(1)} % vs ${(base.cpuShare * 100).toFixed(1)} %`,
  );
}
