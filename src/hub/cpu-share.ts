// What the hub does differently when it has one CPU to itself (taskset, a container's cpuset, a
// single-core board): its affinity, as availableParallelism() reads it, decides.
//
// On one CPU, V8's concurrent garbage collection is not concurrent: its marking and sweeping
// threads take turns on the core with the hub's event loop, and the kernel gives each a slice of
// several ms. At saturation that held the loop for up to 28 ms at a time (a 64 KB marking step
// "took" 24 ms of wall time) and put REST → board p99 at 24–28 ms; with the collection on the
// loop's own thread, in small incremental steps, it was 17 ms, at the same ingest rate
// (docs/benchmarks.md). V8 takes the flag only at start, so it goes on node's command line.
import { availableParallelism } from 'node:os';

/** The flag that keeps all of V8's garbage collection on the thread that runs JavaScript. */
export const SINGLE_THREADED_GC = '--single-threaded-gc';

/** How many CPUs this process may run on. */
export function cpusForHub(): number {
  return availableParallelism();
}

/**
 * Whether work can move off the hub's thread and gain (SQLite's checkpoints on a worker): on one
 * core the worker would preempt the hub's thread anyway, and cost a context switch more.
 */
export function hasSpareCore(cpus: number = cpusForHub()): boolean {
  return cpus > 1;
}

/** The node flags a hub should be started with on `cpus` CPUs (`tether service install hub` writes them). */
export function hubNodeFlags(cpus: number): string[] {
  return hasSpareCore(cpus) ? [] : [SINGLE_THREADED_GC];
}

/** The warning to log when this process lacks the flags hubNodeFlags gives its CPUs; undefined when it has them. */
export function nodeFlagsWarning(cpus: number, execArgv: readonly string[]): string | undefined {
  // V8 takes either spelling of a flag: --single_threaded_gc is the same one.
  const given = new Set(execArgv.map((arg) => arg.replaceAll('_', '-')));
  const missing = hubNodeFlags(cpus).filter((flag) => !given.has(flag));
  if (missing.length === 0) return undefined;
  return (
    `this hub may run on ${cpus} CPU only, and node was started without ${missing.join(' ')}: V8's background garbage collection will take ` +
    `that CPU from the event loop for several ms at a time, and boards and API clients wait meanwhile. Start it as \`node ${missing.join(' ')} ` +
    '.../bin/tether.js hub …` (NODE_OPTIONS cannot carry the flag; in a systemd unit, put it before bin/tether.js in ExecStart=, or run ' +
    '`tether service install hub` again from a shell limited to the CPUs the service gets), or give the hub a second CPU'
  );
}
