// The hub under test, in a process of its own: startHub with the config `tether hub --data DIR
// --http-port 0 --link-port 0` would build, and its console logger (on the stderr the bench
// gives it). It answers the bench's calls over IPC: its ports and API token, its own CPU and
// memory figures, how its store commits went, and a CPU profile on request.
//
//   node dist/bench/hub/hub-process.js DATA_DIR [LINK_PORT]   (started by hub-bench.js; the link
//   port given when a hub restarts on the port its boards dial, default any free one)
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createConsoleLogger } from '../../src/cli/console-logger.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { startHub } from '../../src/hub/hub.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';
import type { CommitBatch } from '../../src/hub/store/port.js';
import type { ProcessStats } from './common.js';
import { serveRpc } from './common.js';
import { summarizeProfile, type Profile } from './profile.js';

const data = process.argv[2];
if (data === undefined) throw new Error('usage: hub-process.js DATA_DIR');

// Counts the store's commits from outside: how many, how big, and how long they held the
// thread. A wrapper around the prototype method: the hub's code is unchanged.
const commits = { count: 0, readings: 0, events: 0, linkStates: 0, ms: 0 };
// SQLite's commit does all its work before it returns its promise: the time to that return is
// the time it held the thread.
const commit = SqliteStore.prototype.commit; // eslint-disable-line @typescript-eslint/unbound-method
SqliteStore.prototype.commit = function (this: SqliteStore, batch: CommitBatch) {
  const t0 = performance.now();
  try {
    return commit.call(this, batch);
  } finally {
    commits.ms += performance.now() - t0;
    commits.count++;
    commits.readings += batch.readings.length;
    commits.events += batch.events.length;
    commits.linkStates += batch.linkStates.length;
  }
};

// The histogram records the time between its timer's ticks, resolution included; the delay is what exceeds it.
const LOOP_RESOLUTION_MS = 5;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loopDelay.enable();
const beyond = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

const linkPort = Number(process.argv[3] ?? 0);
const config = parseHubConfig({ data, link: { host: '127.0.0.1', port: linkPort }, http: { host: '127.0.0.1', port: 0 } }, 'bench hub');
const started = startHub({ config, logger: createConsoleLogger() });
/** Epoch ms when startHub resolved: the link port is listening from then on. */
const startedAt = started.then(() => performance.timeOrigin + performance.now());
let profiler: Session | undefined;

const gc = (globalThis as { gc?: () => void }).gc;

serveRpc({
  info: async () => {
    const hub = await started;
    return { link: hub.link.port, http: hub.http.port, token: hub.apiToken.token, pid: process.pid, processStartedAt: performance.timeOrigin, startedAt: await startedAt };
  },
  stats: (args): ProcessStats & { heapAfterGc?: number; loop: { p50: number; p99: number; max: number }; commits: typeof commits } => {
    let heapAfterGc: number | undefined;
    if (args['gc'] === true && gc !== undefined) {
      gc();
      heapAfterGc = process.memoryUsage().heapUsed;
    }
    const loop = { p50: beyond(loopDelay.percentile(50)), p99: beyond(loopDelay.percentile(99)), max: beyond(loopDelay.max) };
    if (args['resetLoop'] === true) loopDelay.reset();
    return { at: performance.now(), cpu: process.cpuUsage(), mem: process.memoryUsage(), loop, commits: { ...commits }, ...(heapAfterGc !== undefined ? { heapAfterGc } : {}) };
  },
  profileStart: async () => {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
  },
  profileStop: async (args) => {
    if (profiler === undefined) throw new Error('no profile running');
    const { profile } = (await profiler.post('Profiler.stop')) as { profile: Profile };
    profiler.disconnect();
    profiler = undefined;
    const file = typeof args['file'] === 'string' ? args['file'] : undefined;
    if (file !== undefined) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, JSON.stringify(profile));
    }
    return summarizeProfile(profile, Number(args['top'] ?? 25));
  },
  close: async () => {
    const hub = await started;
    await hub.close();
    setImmediate(() => process.exit(0));
  },
});

started.catch((err: unknown) => {
  console.error(`bench hub: cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
