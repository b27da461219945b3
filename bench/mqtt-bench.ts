// npm run bench:mqtt — the MQTT bridge (src/hub/mqtt/) against a real broker, Debian's mosquitto
// (test/support/mosquitto.ts), each figure beside a baseline measured in the same run:
//
//   1. baseline: a plain publish → subscribe round trip through mosquitto (two MQTT.js clients, QoS 0);
//   2. an MQTT command to a board: `ON`/`OFF` on tether/<board>/pin/15/set, timed to the simulated
//      board's pin changing and to the new state arriving on tether/<board>/pin/15/state — a hub in
//      this process with the bridge on and a real board (HubLink on sim hardware) linked to it;
//      sequential, in blocks interleaved with 1.'s so that both see the same machine;
//   3. the readings the bridge publishes with 1,000 boards linked (bench/hub/swarm.ts in a process
//      of its own, a reading a second each), counted by a subscriber of tether/+/sensor/# in
//      another process, and the hub's CPU meanwhile (process.cpuUsage of this process, which runs
//      nothing else then), beside the same hub and swarm without the bridge.
//
//   node dist/bench/mqtt-bench.js [--quick]
//   (node dist/bench/mqtt-bench.js --counter is the subscriber process of 3., started by the bench)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { SystemClock } from '../src/common/clock.js';
import { silentLogger } from '../src/device/logger.js';
import { parseHubConfig } from '../src/hub/config.js';
import { startHub, type Hub } from '../src/hub/hub.js';
import { Broker, mosquittoPath } from '../test/support/mosquitto.js';
import { MqttWatch } from '../test/support/mqtt-watch.js';
import { RELAY_BOARD, startLinkedBoard, untilLinked } from '../test/support/linked-board.js';
import { percentile, ROOT, RpcChild, serveRpc, sleep, table } from './hub/common.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const BOARDS = Number(process.env['BENCH_MQTT_BOARDS'] ?? 1000);
const S = QUICK
  ? { blocks: 5, pingsPerBlock: 40, togglesPerBlock: 12, warmup: 50, settleMs: 3000, windowMs: 5000 }
  : { blocks: 10, pingsPerBlock: 100, togglesPerBlock: 30, warmup: 100, settleMs: 3000, windowMs: 10_000 };
const PIN = 15;
const BOARD = 'shed';
const WAIT_MS = 5000;

const fmtMs = (ms: number) => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

// ---- 3.'s subscriber, in a process of its own so that its work is not counted as the hub's ----

interface CounterStats {
  /** Live sensor messages (not the retained ones a subscription gets first). */
  messages: number;
  /** Distinct sensor topics seen live. */
  topics: number;
  /** Retained discovery configs of `t_temperature` sensors: one per board the bridge described. */
  described: number;
}

function serveCounter(): void {
  let client: mqtt.MqttClient | undefined;
  let messages = 0;
  const topics = new Set<string>();
  const described = new Set<string>();
  serveRpc({
    connect: async (args) => {
      client = await mqtt.connectAsync(String(args['url']), { protocolVersion: 5, reconnectPeriod: 0 });
      client.on('message', (topic, payload, packet) => {
        if (topic.endsWith('/config')) {
          if (payload.length > 0) described.add(topic);
          else described.delete(topic);
        } else if (!packet.retain) {
          messages++;
          topics.add(topic);
        }
      });
      await client.subscribeAsync(['tether/+/sensor/#', 'homeassistant/sensor/+/t_temperature/config'], { qos: 0 });
    },
    stats: (): CounterStats => ({ messages, topics: topics.size, described: described.size }),
    close: async () => {
      await client?.endAsync(true);
    },
  });
}

// ---- 1. and 2. ------------------------------------------------------------------------------

/** A hub in this process on its own data folder; with the bridge when `broker` is given. */
async function hubOn(broker: Broker | undefined): Promise<{ hub: Hub; close: () => Promise<void> }> {
  const data = fs.mkdtempSync(path.join(tmpdir(), 'tether-mqtt-bench-'));
  const config = parseHubConfig(
    { data, link: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, ...(broker !== undefined ? { mqtt: { url: broker.url } } : {}) },
    'bench hub',
  );
  const hub = await startHub({ config, logger: silentLogger, clock: new SystemClock() });
  return {
    hub,
    close: async () => {
      await hub.close();
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

/**
 * Resolves at the first arrival on `topic` (with `payload`, when given) after the call, with its
 * time; one waiter at a time per client, as the runs are sequential.
 */
class Arrivals {
  private waiter: { topic: string; payload: string | undefined; resolve: (at: number) => void } | undefined;

  constructor(client: mqtt.MqttClient) {
    client.on('message', (topic, payload) => {
      const at = performance.now();
      const w = this.waiter;
      if (w === undefined || w.topic !== topic || (w.payload !== undefined && payload.toString('utf8') !== w.payload)) return;
      this.waiter = undefined;
      w.resolve(at);
    });
  }

  next(topic: string, payload?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`nothing${payload !== undefined ? ` (${payload})` : ''} on ${topic} within ${WAIT_MS} ms`));
      }, WAIT_MS);
      this.waiter = {
        topic,
        payload,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }
}

async function roundTrips(): Promise<{ base: Latency; pin: Latency; state: Latency; loop: { p99: number; max: number } }> {
  const broker = await Broker.start();
  const { hub, close } = await hubOn(broker);
  const { token } = await hub.store.addDevice(BOARD);
  const board = await startLinkedBoard({ port: hub.link.port, token, id: BOARD, config: RELAY_BOARD, keepaliveMs: null });
  const publisher = await MqttWatch.connect(broker.url);
  const subscriber = await MqttWatch.connect(broker.url);
  try {
    await untilLinked(board.link);
    const arrivals = new Arrivals(subscriber.client);
    const PING = 'bench/ping';
    const STATE = `tether/${BOARD}/pin/${PIN}/state`;
    const SET = `tether/${BOARD}/pin/${PIN}/set`;
    await subscriber.client.subscribeAsync([PING, STATE], { qos: 0 });
    // The bridge has described the board and offers its relay: the state is on the broker.
    await until('the relay state on the broker', 10_000, () => subscriber.latest(STATE));

    let pinAt = NaN;
    board.hardware.gpio.watch(PIN, () => (pinAt = performance.now()));
    let on = subscriber.latest(STATE) === 'ON';
    const ping = async (): Promise<number> => {
      const arrived = arrivals.next(PING);
      const t0 = performance.now();
      publisher.client.publish(PING, 'ping', { qos: 0 });
      return (await arrived) - t0;
    };
    const toggle = async (): Promise<{ pin: number; state: number }> => {
      on = !on;
      const payload = on ? 'ON' : 'OFF';
      const stated = arrivals.next(STATE, payload);
      pinAt = NaN;
      const t0 = performance.now();
      publisher.client.publish(SET, payload, { qos: 0 });
      const stateAt = await stated;
      const pinChangedAt = await until(`pin ${PIN} ${payload}`, WAIT_MS, () => (Number.isNaN(pinAt) ? undefined : pinAt));
      return { pin: pinChangedAt - t0, state: stateAt - t0 };
    };

    for (let i = 0; i < S.warmup; i++) await ping();
    for (let i = 0; i < S.warmup / 5; i++) await toggle();
    const base: number[] = [];
    const pin: number[] = [];
    const state: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    for (let b = 0; b < S.blocks; b++) {
      for (let i = 0; i < S.pingsPerBlock; i++) base.push(await ping());
      for (let i = 0; i < S.togglesPerBlock; i++) {
        const t = await toggle();
        pin.push(t.pin);
        state.push(t.state);
      }
    }
    loop.disable();
    // The histogram counts its own resolution in each tick; the delay is what exceeds it.
    const beyond = (ns: number) => Math.max(0, ns / 1e6 - 5);
    return { base: latency(base), pin: latency(pin), state: latency(state), loop: { p99: beyond(loop.percentile(99)), max: beyond(loop.max) } };
  } finally {
    await publisher.close();
    await subscriber.close();
    await board.close();
    await close();
    await broker.close();
  }
}

// ---- 3. -------------------------------------------------------------------------------------

interface SwarmStats {
  counters: { readingsAcked: number; readingsSkipped: number };
  up: number;
}

const OFF = 'bridge off (baseline), readings changing';
const ON_CHANGING = 'bridge on, readings changing';
const ON_STEADY = 'bridge on, readings steady';

interface Window {
  label: string;
  seconds: number;
  readingsIn: number;
  published: number | undefined;
  topics: number | undefined;
  cpu: number;
  loopP99: number;
}

/** The mean of windows of one kind (the loop's p99: the worst). */
function averaged(windows: Window[]): Window {
  const avg = (f: (w: Window) => number) => windows.reduce((sum, w) => sum + f(w), 0) / windows.length;
  const first = windows[0];
  if (first === undefined) throw new Error('no window');
  return {
    label: first.label,
    seconds: avg((w) => w.seconds),
    readingsIn: avg((w) => w.readingsIn),
    published: first.published === undefined ? undefined : avg((w) => w.published ?? NaN),
    topics: first.topics === undefined ? undefined : Math.min(...windows.map((w) => w.topics ?? NaN)),
    cpu: avg((w) => w.cpu),
    loopP99: Math.max(...windows.map((w) => w.loopP99)),
  };
}

/** The hub with BOARDS swarm boards, bridged (a fresh broker) or not; one window per readings mode. */
async function swarmRun(bridged: boolean, modes: Array<{ label: string; changing: boolean }>): Promise<{ windows: Window[]; setup: string }> {
  const broker = bridged ? await Broker.start() : undefined;
  const { hub, close } = await hubOn(broker);
  const swarm = RpcChild.start('swarm', 'swarm.js', []);
  const counter = broker !== undefined ? RpcChild.start('counter', path.join('..', 'mqtt-bench.js'), ['--counter']) : undefined;
  try {
    if (broker !== undefined) {
      await until('the bridge connected to the broker', 10_000, () => (hub.facade.hub().mqtt?.state === 'connected' ? true : undefined));
      await counter?.call('connect', { url: broker.url });
    }
    const ids: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < BOARDS; i++) {
      const id = `board-${String(i).padStart(4, '0')}`;
      ids.push({ id, token: (await hub.store.addDevice(id)).token });
    }
    const t0 = performance.now();
    const linked = await swarm.call<{ ms: number; up: number }>('connect', { port: hub.link.port, boards: ids, concurrency: 100 });
    await until(`${BOARDS} boards online`, 60_000, () => (hub.facade.devices().filter((d) => d.online).length >= BOARDS ? true : undefined));
    let setup = `${linked.up} boards linked in ${fmtMs(linked.ms)}`;
    if (counter !== undefined) {
      await until(`discovery configs for ${BOARDS} boards`, 60_000, async () => ((await counter.call<CounterStats>('stats')).described >= BOARDS ? true : undefined));
      setup += `, all described (discovery configs on the broker) ${fmtMs(performance.now() - t0)} after the first dial`;
    }
    const windows: Window[] = [];
    for (const mode of modes) {
      await swarm.call('readings', { changing: mode.changing });
      await sleep(S.settleMs);
      const loop = monitorEventLoopDelay({ resolution: 5 });
      const s0 = await swarm.call<SwarmStats>('stats');
      const c0 = await counter?.call<CounterStats>('stats');
      const cpu0 = process.cpuUsage();
      const at0 = performance.now();
      loop.enable();
      await sleep(S.windowMs);
      loop.disable();
      const cpu1 = process.cpuUsage(cpu0);
      const at1 = performance.now();
      const c1 = await counter?.call<CounterStats>('stats');
      const s1 = await swarm.call<SwarmStats>('stats');
      const seconds = (at1 - at0) / 1000;
      windows.push({
        label: mode.label,
        seconds,
        readingsIn: (s1.counters.readingsAcked - s0.counters.readingsAcked) / seconds,
        published: c0 !== undefined && c1 !== undefined ? (c1.messages - c0.messages) / seconds : undefined,
        topics: c1?.topics,
        cpu: (cpu1.user + cpu1.system) / 1000 / (at1 - at0),
        loopP99: Math.max(0, loop.percentile(99) / 1e6 - 5),
      });
      if (s1.up < BOARDS) console.log(`   NOTE: only ${s1.up} of ${BOARDS} boards were up at the end of the window (${mode.label})`);
    }
    return { windows, setup };
  } finally {
    await counter?.call('close').catch(() => undefined);
    await counter?.stop();
    await swarm.call('close').catch(() => undefined);
    await swarm.stop();
    await close();
    await broker?.close();
  }
}

// ---- the run --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const bin = mosquittoPath();
  if (bin === undefined) throw new Error('no mosquitto found: apt-get install mosquitto (or set TETHER_MOSQUITTO to its binary)');
  const version = /mosquitto version (\S+)/.exec(spawnSync(bin, ['-h'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  const t0 = performance.now();
  console.log(`tether MQTT bench — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, mosquitto ${version}, MQTT.js ${mqttVersion()}${QUICK ? ', --quick' : ''}`);
  console.log(`not pinned to CPUs: hub (this process), boards, broker and clients share the cores; load average at the start: ${load()} (1, 5, 15 min)`);
  const summary: string[] = [];

  // 1. and 2.
  const r = await roundTrips();
  console.log(`\n1./2. round trips through mosquitto on loopback, QoS 0, one at a time; ${S.blocks} blocks of ${S.pingsPerBlock} baseline and ${S.togglesPerBlock} toggles, after a warm-up`);
  console.log(`   baseline: client A publishes on bench/ping, client B (subscribed) receives it`);
  console.log(`   bridge: A publishes ON/OFF on tether/${BOARD}/pin/${PIN}/set → hub (this process) → board (HubLink, sim hardware, this process) → state on …/pin/${PIN}/state → B`);
  const row = (what: string, l: Latency, base: Latency | undefined) => [
    what,
    String(l.n),
    fmtMs(l.p50),
    fmtMs(l.p99),
    fmtMs(l.max),
    base === undefined ? '1.00' : (l.p50 / base.p50).toFixed(1),
    base === undefined ? '1.00' : (l.p99 / base.p99).toFixed(1),
  ];
  console.log(
    table([
      ['', 'n', 'p50', 'p99', 'max', 'p50 / base', 'p99 / base'],
      row('baseline: publish → subscriber', r.base, undefined),
      row('set → board pin changed', r.pin, r.base),
      row('set → state published back', r.state, r.base),
    ]),
  );
  console.log(`   event-loop delay of this process (hub and board) during the runs: p99 ${fmtMs(r.loop.p99)}, max ${fmtMs(r.loop.max)}`);
  summary.push(`1. baseline publish → subscribe: p50 ${fmtMs(r.base.p50)}, p99 ${fmtMs(r.base.p99)}`);
  summary.push(
    `2. set → pin changed: p50 ${fmtMs(r.pin.p50)} (${(r.pin.p50 / r.base.p50).toFixed(1)} × base), p99 ${fmtMs(r.pin.p99)} (${(r.pin.p99 / r.base.p99).toFixed(1)} ×); ` +
      `set → state back: p50 ${fmtMs(r.state.p50)} (${(r.state.p50 / r.base.p50).toFixed(1)} ×), p99 ${fmtMs(r.state.p99)} (${(r.state.p99 / r.base.p99).toFixed(1)} ×)`,
  );

  // 3.
  console.log(`\n3. ${fmtInt(BOARDS)} swarm boards (bench/hub/swarm.ts, own process), one reading a second each; ${S.windowMs / 1000} s windows after ${S.settleMs / 1000} s of readings`);
  console.log('   readings in: acknowledged by the hub (swarm counters); published: live messages at a subscriber of tether/+/sensor/# (own process)');
  console.log('   hub CPU: process.cpuUsage of this process, which runs only the hub then');
  // Hubs one after another in one process drift (heap, JIT, the machine): the order alternates.
  const order = QUICK ? [false, true] : [false, true, true, false];
  const all: Window[] = [];
  for (const bridged of order) {
    const run = bridged
      ? await swarmRun(true, [
          { label: ON_CHANGING, changing: true },
          { label: ON_STEADY, changing: false },
        ])
      : await swarmRun(false, [{ label: OFF, changing: true }]);
    console.log(`   ${bridged ? 'with' : 'without'} the bridge: ${run.setup}; hub CPU ${run.windows.map((w) => pct(w.cpu)).join(', ')}`);
    all.push(...run.windows);
  }
  const mean = (label: string) => averaged(all.filter((w) => w.label === label));
  const base = mean(OFF);
  const added = (w: Window) => `${w.cpu >= base.cpu ? '+' : '−'}${pct(Math.abs(w.cpu - base.cpu))} (${(w.cpu / base.cpu).toFixed(2)} ×)`;
  const rows = [['hub (mean of its windows)', 'windows', 'readings in/s', 'published/s', 'sensor topics', 'hub CPU (one core)', 'CPU added', 'hub loop p99']];
  for (const label of [OFF, ON_CHANGING, ON_STEADY]) {
    const w = mean(label);
    rows.push([
      label,
      String(all.filter((x) => x.label === label).length),
      fmtInt(w.readingsIn),
      w.published === undefined ? '—' : fmtInt(w.published),
      w.topics === undefined ? '—' : fmtInt(w.topics),
      pct(w.cpu),
      label === OFF ? '—' : added(w),
      fmtMs(w.loopP99),
    ]);
  }
  console.log(table(rows));
  console.log("   steady: every board sends 21.5 each time; the bridge publishes every reading, the same value again included (Home Assistant's expire_after counts from the last message)");
  const changing = mean(ON_CHANGING);
  const steady = mean(ON_STEADY);
  summary.push(
    `3. ${fmtInt(BOARDS)} boards: ${fmtInt(changing.published ?? NaN)} sensor messages/s published for ${fmtInt(changing.readingsIn)} readings/s in; ` +
      `hub CPU ${pct(changing.cpu)} of a core with the bridge vs ${pct(base.cpu)} without: ${added(changing)}; steady readings: ${fmtInt(steady.published ?? NaN)}/s published, ${added(steady)}`,
  );

  console.log('\nsummary');
  for (const s of summary) console.log(`  ${s}`);
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s; load average at the end: ${load()} (the bench's own processes count in it)`);
}

function mqttVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'mqtt', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

if (argv.includes('--counter')) serveCounter();
else {
  for (const a of argv) {
    if (a !== '--quick') {
      console.error(`unknown argument ${a}; usage: mqtt-bench.js [--quick]`);
      process.exit(2);
    }
  }
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

