// What a user of the hub feels while it ingests as fast as it can: REST → board command round
// trips (beside the echo route, by the same client) timed during the saturation window, and the
// goals the saturation section is held to (event-loop delay, round trip, readings per second).
import { performance } from 'node:perf_hooks';
import type { HttpAnswer } from './http-client.js';
import { percentile } from './common.js';

export interface ProbeTarget {
  send(): Promise<HttpAnswer>;
  check(answer: HttpAnswer): void;
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

/**
 * Sequential round trips to each target in turn (echo, hub, echo, …) until `ms` have passed:
 * the same client and the same moments for both, so the baseline sees the same machine.
 */
export async function probeFor(ms: number, targets: readonly ProbeTarget[]): Promise<Latency[]> {
  const samples: number[][] = targets.map(() => []);
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i] as ProbeTarget;
      const t0 = performance.now();
      const answer = await target.send();
      (samples[i] as number[]).push(performance.now() - t0);
      target.check(answer);
    }
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, n: s.length };
  });
}

export const SATURATION_GOALS = { loopP99Ms: 50, commandP99Ms: 20, readingsPerSecond: 200_000 } as const;

export interface SaturationFigures {
  readingsPerSecond: number;
  storagePerSecond: number;
  loop: { p50: number; p99: number; max: number };
  firstSecondMax: number;
  echo: Latency;
  command: Latency;
}

/** The saturation section's goal lines and its summary lines, for the pass `label` names (how the boards send). */
export function saturationVerdicts(f: SaturationFigures, fmtMs: (ms: number) => string, fmtInt: (n: number) => string, label: string): { lines: string[]; summary: string[] } {
  const g = SATURATION_GOALS;
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rateOk = f.readingsPerSecond >= g.readingsPerSecond;
  const loopOk = f.loop.p99 <= g.loopP99Ms;
  const cmdOk = f.command.p99 <= g.commandP99Ms;
  const rate = `${fmtInt(f.readingsPerSecond)} readings/s (storage alone ${fmtInt(f.storagePerSecond)}/s, ratio ${(f.readingsPerSecond / f.storagePerSecond).toFixed(2)})`;
  const loop = `event-loop delay p50 ${fmtMs(f.loop.p50)}, p99 ${fmtMs(f.loop.p99)}, max ${fmtMs(f.loop.max)} (max ${fmtMs(f.firstSecondMax)} in the first second)`;
  const cmd = `REST → board p50 ${fmtMs(f.command.p50)}, p99 ${fmtMs(f.command.p99)}, max ${fmtMs(f.command.max)}, n ${f.command.n} (echo route p50 ${fmtMs(f.echo.p50)}, p99 ${fmtMs(f.echo.p99)})`;
  return {
    lines: [
      `   goal: ≥ ${fmtInt(g.readingsPerSecond)} readings/s committed: ${rate} — ${verdict(rateOk)}`,
      `   goal: event-loop delay p99 ≤ ${g.loopP99Ms} ms while ingesting: ${loop} — ${verdict(loopOk)}`,
      `   goal: REST → board round trip p99 ≤ ${g.commandP99Ms} ms while ingesting: ${cmd} — ${verdict(cmdOk)}`,
    ],
    summary: [
      `4. readings/s at saturation, ${label}: ${rate} — goal ≥ ${fmtInt(g.readingsPerSecond)}: ${verdict(rateOk)}`,
      `4. event-loop delay at saturation, ${label}: p99 ${fmtMs(f.loop.p99)} — goal ≤ ${g.loopP99Ms} ms: ${verdict(loopOk)}`,
      `4. REST → board round trip at saturation, ${label}: p99 ${fmtMs(f.command.p99)} (echo ${fmtMs(f.echo.p99)}) — goal ≤ ${g.commandP99Ms} ms: ${verdict(cmdOk)}`,
    ],
  };
}
