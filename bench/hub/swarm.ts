// A swarm of light fake boards in one process: each one a TCP connection to the hub's link port
// that speaks the link protocol (protocol.md §10) as a board does — a real hello, the challenge
// and response with its own registered token's key and sealed frames after it (§10.5, §10.6),
// numbered `msg` frames with piggybacked acks, a reply to every request the hub sends,
// keepalive pings when idle — but with no board behind it, so that thousands of them fit on
// one core beside the bench. A board whose link is lost dials again as HubLink does
// (src/device/hub-link.ts): the product's Backoff, and its 750 ms limits on the dial, the
// challenge and the welcome (protocol.md §10.3). Driven by the bench over IPC (serveRpc):
//
//   connect {port, boards: [{id, token}], concurrency,   dial every board, resolve when all are welcomed
//            first?, keepaliveMs?}                       (first: the index of the first board's source
//                                                        address, when several swarms share the work)
//   readings {changing?, intervalMs?}                    each board sends a reading once a second (or
//                                                        every intervalMs; changing: a new temperature
//                                                        each time, not always 21.5)
//   quiet {}                                             readings stop (keepalives go on)
//   saturate {window, durationMs, batch?}                readings as fast as the hub acks them (batch:
//                                                        readings per message, as `batch` events, for a
//                                                        hub whose welcome takes them; default 1)
//   stats {}                                             counters and this process's CPU and memory
//   relinked {since}                                     for each board, when it was last welcomed after
//                                                        `since` (epoch ms) and the dials it took
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../src/device/hub-link.js';
import { keyOfToken, newNonce, proofEquals } from '../../src/protocol/auth.js';
import { Backoff, DEFAULT_BACKOFF } from '../../src/protocol/link/backoff.js';
import { linkProofs, linkSeal, type LinkSeal } from '../../src/protocol/link/link-auth.js';
import { serveRpc, type ProcessStats } from './common.js';

interface BoardSpec {
  id: string;
  token: string;
}

const started = performance.now();
const uptime = () => Math.round(performance.now() - started);
/** Milliseconds since the epoch, to the fraction: comparable with the bench's and the hub's. */
const epochMs = () => performance.timeOrigin + performance.now();
/** The keepalive each board asks for and keeps (connect's keepaliveMs; the hub's default). */
let keepaliveMs = 1000;
let readingMs = 1000;

const counters = {
  readingsSent: 0,
  readingsAcked: 0,
  msgsSent: 0,
  commandsAnswered: 0,
  /** Readings not sent because the board's window was full (the hub is behind). */
  readingsSkipped: 0,
  /** Connections the hub closed or lost after their welcome. */
  closedAfterWelcome: 0,
  /** Attempts to link, and how those that failed ended (protocol.md §10.3). */
  dials: 0,
  dialTimeouts: 0,
  /** Of dialTimeouts: no connection, no challenge, no welcome in time. */
  noConnection: 0,
  noChallenge: 0,
  noWelcome: 0,
  refused: 0,
  closedBeforeWelcome: 0,
  rejected: 0,
};

/** An attempt that got no connection, challenge or welcome in time: HubLink's Backoff.timedOut case. */
class AttemptTimeout extends Error {}

let mode: 'quiet' | 'readings' | 'saturate' = 'quiet';
/** Whether a reading's value moves from one reading to the next (the MQTT bridge publishes only changes). */
let changing = false;
let saturation: { window: number; batch: number; sendUntil: number; lastAckAt: number; onDrained: (() => void) | undefined } | undefined;

class FakeBoard {
  readonly boot = randomUUID();
  private socket: net.Socket | undefined;
  private buffer = '';
  up = false;
  /** The last number this board gave a message. */
  private txSeq = 0;
  /** The last number the hub acknowledged (committed). */
  private peerAck = 0;
  /** The hub's stream to this board and the last number delivered in it (the hello's `rx`). */
  private rxStream: string | null = null;
  private rxLast = 0;
  /** Numbers of messages that are not readings (the state event, replies), oldest first. */
  private notReadings: number[] = [];
  /** Numbers of the messages that carry a batch of readings, with how many, oldest first. */
  private batches = new Map<number, number>();
  /** The most events the hub takes in one batch (its welcome's `batch`; 1 when it takes none). */
  private hubBatch = 1;
  lastSent = 0;
  /** Readings this board sent once a second. */
  private readings = 0;
  /** The attempt in its handshake: what moves it on. */
  private attempt: { challenged: () => void; welcomed: () => void; rejected: (why: string) => void } | undefined;
  /** This connection's hello and its nonce, which the proofs cover; the seals once both proved. */
  private hello: { text: string; nonce: string } | undefined;
  private seal: LinkSeal | undefined;
  private interval: NodeJS.Timeout | undefined;
  private phase: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ ...DEFAULT_BACKOFF, random: Math.random });
  private running = false;
  private retry: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private firstUp: Array<() => void> = [];
  /** Epoch ms of the latest welcome and loss; the dials made since the last welcome, and the dials the latest welcome took. */
  upAt = 0;
  downAt = 0;
  private dialsSinceUp = 0;
  dialsToUp = 0;

  /**
   * Its own loopback source address, as every board on a LAN has its own: the hub bounds
   * handshakes per address (protocol.md §10.8), and 1,000 boards behind one address would be a flood.
   */
  constructor(
    readonly spec: BoardSpec,
    private readonly localAddress: string,
  ) {}

  get inflight(): number {
    return this.txSeq - this.peerAck;
  }

  /** Starts the dial loop; resolves at the first welcome. */
  start(port: number): Promise<void> {
    const up = new Promise<void>((resolve) => this.firstUp.push(resolve));
    if (!this.running) {
      this.running = true;
      void this.run(port);
    }
    return up;
  }

  /** HubLink.run's loop: an attempt, then the product's Backoff (protocol.md §10.3). */
  private async run(port: number): Promise<void> {
    while (this.running) {
      let silent = false;
      try {
        await this.connectOnce(port);
      } catch (err) {
        silent = err instanceof AttemptTimeout;
      }
      if (!this.running) break;
      const wait = silent ? this.backoff.timedOut() : this.backoff.next();
      await new Promise<void>((resolve) => (this.retry = { timer: setTimeout(resolve, wait), resolve }));
      this.retry = undefined;
    }
  }

  /** One connection: resolves when it closes after its welcome, rejects when it fails before. */
  private connectOnce(port: number): Promise<void> {
    counters.dials++;
    this.dialsSinceUp++;
    return new Promise((resolve, reject) => {
      let welcomed = false;
      // Settled by its own flag: a close of this attempt's socket may come after the next attempt began.
      let failed = false;
      const timeout = (what: 'noConnection' | 'noChallenge' | 'noWelcome') => () => {
        if (!failed && !welcomed) counters[what]++;
        fail(new AttemptTimeout(what), 'dialTimeouts');
      };
      let timer = setTimeout(timeout('noConnection'), DEFAULT_HANDSHAKE_TIMEOUT_MS);
      const next = (what: 'noChallenge' | 'noWelcome') => {
        clearTimeout(timer);
        timer = setTimeout(timeout(what), DEFAULT_HANDSHAKE_TIMEOUT_MS);
      };
      const fail = (err: Error, count: 'dialTimeouts' | 'refused' | 'closedBeforeWelcome' | 'rejected') => {
        if (welcomed || failed) return;
        failed = true;
        clearTimeout(timer);
        counters[count]++;
        if (this.attempt === attempt) this.attempt = undefined;
        socket.destroy();
        reject(err);
      };
      const attempt = {
        challenged: () => next('noWelcome'),
        welcomed: () => {
          clearTimeout(timer);
          welcomed = true;
          this.attempt = undefined;
          this.backoff.reset();
          this.upAt = epochMs();
          this.dialsToUp = this.dialsSinceUp;
          this.dialsSinceUp = 0;
          for (const up of this.firstUp.splice(0)) up();
        },
        rejected: (why: string) => fail(new Error(why), 'rejected'),
      };
      this.attempt = attempt;
      this.seal = undefined;
      this.buffer = '';
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: this.localAddress }, () => {
        next('noChallenge');
        socket.setNoDelay(true);
        const nonce = newNonce();
        const text = JSON.stringify({
          link: 'hello',
          protocol: 2,
          device_id: this.spec.id,
          nonce,
          boot_id: this.boot,
          firmware: 'bench-swarm 0',
          capabilities: ['gpio'],
          rx: { stream: this.rxStream, last: this.rxLast },
          uptime_ms: uptime(),
          keepalive_ms: keepaliveMs,
        });
        this.hello = { text, nonce };
        this.write(`${text}\n`);
      });
      this.socket = socket;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => this.receive(chunk));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') fail(err, 'refused');
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
        if (!welcomed) return fail(new Error('closed before the welcome'), 'closedBeforeWelcome');
        if (this.up) counters.closedAfterWelcome++;
        this.up = false;
        this.downAt = epochMs();
        this.stopReadings();
        resolve();
      });
    });
  }

  close(): void {
    this.running = false;
    if (this.retry !== undefined) {
      clearTimeout(this.retry.timer);
      this.retry.resolve();
    }
    this.stopReadings();
    this.up = false;
    this.socket?.destroy();
  }

  /** One reading every readingMs, starting at a random point of the first interval. */
  startReadings(): void {
    this.stopReadings();
    this.phase = setTimeout(() => {
      this.sendReading();
      this.interval = setInterval(() => this.sendReading(), readingMs);
    }, Math.random() * readingMs);
  }

  stopReadings(): void {
    clearTimeout(this.phase);
    clearInterval(this.interval);
  }

  keepalive(now: number): void {
    if (this.up && now - this.lastSent >= keepaliveMs) this.write(this.sealed('{"link":"ping"}'));
  }

  /** Saturation: fills the window with readings, in one write. */
  topUp(window: number): void {
    if (!this.up) return;
    let out = '';
    const ts = uptime();
    const batch = Math.min(saturation?.batch ?? 1, this.hubBatch);
    while (this.txSeq - this.peerAck < window) {
      if (batch > 1) {
        const one = reading(ts, this.boot, STEADY);
        out += this.frame(`{"event":"batch","events":[${Array.from({ length: batch }, () => one).join(',')}]}`);
        this.batches.set(this.txSeq, batch);
      } else out += this.frame(reading(ts, this.boot, STEADY));
      counters.readingsSent += batch;
    }
    if (out !== '') this.write(out);
  }

  private sendReading(): void {
    if (!this.up) return;
    if (this.inflight >= 64) {
      counters.readingsSkipped++;
      return;
    }
    counters.readingsSent++;
    this.readings++;
    // 20.0, 20.1, … 29.9 and round again: each reading differs from the board's one before.
    this.write(this.frame(reading(uptime(), this.boot, changing ? (200 + (this.readings % 100)) / 10 : STEADY)));
  }

  private sendOther(body: string): void {
    const frame = this.frame(body);
    this.notReadings.push(this.txSeq);
    this.write(frame);
  }

  /** Numbers a message; every msg carries the ack of what this board delivered. */
  private frame(body: string): string {
    this.txSeq++;
    counters.msgsSent++;
    return this.sealed(`{"link":"msg","seq":${this.txSeq},"ack":${this.rxLast},"body":${body}}`);
  }

  /** A frame as a sealed line: sealed in the order they are written, as the numbering needs. */
  private sealed(frame: string): string {
    if (this.seal === undefined) throw new Error(`${this.spec.id}: a frame before the handshake`);
    return `${this.seal.sealer.sealText(frame)}\n`;
  }

  private write(text: string): void {
    if (this.socket === undefined || !this.socket.writable) return;
    this.socket.write(text);
    this.lastSent = performance.now();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl === -1) break;
      const line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.length > 0) this.onLine(line);
    }
    this.buffer = this.buffer.slice(start);
    if (saturation !== undefined && performance.now() < saturation.sendUntil) this.topUp(saturation.window);
  }

  private onLine(line: string): void {
    if (this.seal === undefined) return this.onHandshake(line);
    const text = line.startsWith('{"mac":"') ? this.seal.unsealer.open(Buffer.from(line, 'utf8')).toString('utf8') : line;
    const m = JSON.parse(text) as { link: string; seq?: number; ack?: number; body?: Record<string, unknown>; error?: unknown };
    switch (m.link) {
      case 'welcome': {
        // Readings the hub had not committed are given up, not resent: the numbering goes on
        // from what it acknowledged, as the board's resent ones would.
        this.peerAck = m.ack ?? 0;
        this.txSeq = this.peerAck;
        this.notReadings = [];
        this.batches.clear();
        this.hubBatch = (m as { batch?: number }).batch ?? 1;
        const stream = (m as { stream?: string }).stream ?? null;
        if (stream !== this.rxStream) {
          this.rxStream = stream;
          this.rxLast = 0;
        }
        this.up = true;
        this.attempt?.welcomed();
        // After every welcome a board reports its state (protocol.md §10.4).
        this.sendOther(JSON.stringify({ event: 'state', ts: uptime(), boot_id: this.boot, pins: [], leases: [], sensors: [] }));
        if (mode === 'readings') this.startReadings();
        return;
      }
      case 'reject':
        this.attempt?.rejected(`${this.spec.id}: rejected: ${JSON.stringify(m.error)}`);
        return;
      case 'ack':
        this.onAck(m.ack ?? 0);
        return;
      case 'msg': {
        if (m.ack !== undefined) this.onAck(m.ack);
        const seq = m.seq ?? 0;
        if (seq !== this.rxLast + 1) {
          // A duplicate (or a gap, which one TCP connection never has): ack what was delivered.
          this.write(this.sealed(`{"link":"ack","ack":${this.rxLast}}`));
          return;
        }
        this.rxLast = seq;
        const body = m.body ?? {};
        if (typeof body['action'] === 'string') this.answer(body);
        else this.write(this.sealed(`{"link":"ack","ack":${this.rxLast}}`));
        return;
      }
      default:
        return; // ping, close (the socket's close follows)
    }
  }

  /** The hub's challenge: its proof checked, the board's sent, the seals derived (protocol.md §10.5). */
  private onHandshake(line: string): void {
    const m = JSON.parse(line) as { link: string; nonce?: string; proof?: string; error?: unknown };
    if (m.link === 'reject') {
      this.attempt?.rejected(`${this.spec.id}: rejected: ${JSON.stringify(m.error)}`);
      return;
    }
    if (m.link !== 'challenge' || this.hello === undefined) return;
    const key = keyOfToken(this.spec.token);
    const transcript = { boardNonce: this.hello.nonce, hubNonce: String(m.nonce), hello: this.hello.text };
    const proofs = linkProofs(key, transcript);
    if (!proofEquals(m.proof, proofs.hub)) {
      this.attempt?.rejected(`${this.spec.id}: the hub did not prove it knows this board's key`);
      return;
    }
    this.write(`{"link":"auth","proof":"${proofs.board}"}\n`);
    this.seal = linkSeal(key, transcript, 'board');
    this.attempt?.challenged();
  }

  /**
   * A reply to a request from the hub: the request's fields, ok, and what get_state, get_info and
   * list_sensors return (the MQTT bridge describes each board with the last two). get_info has no
   * rssi, so the hub stores no signal for these boards.
   */
  private answer(request: Record<string, unknown>): void {
    counters.commandsAnswered++;
    this.sendOther(JSON.stringify({ ...request, ...this.replyFields(request['action']), ok: true }));
  }

  private replyFields(action: unknown): Record<string, unknown> {
    switch (action) {
      case 'get_state':
        return { pins: [], leases: [], sensors: [], boot_id: this.boot, uptime_s: uptime() / 1000 };
      case 'get_info':
        return { info: { name: this.spec.id, board: 'bench swarm', platform: 'bench', firmware_version: '0', boot_id: this.boot, uptime_s: uptime() / 1000, capabilities: ['gpio', 'sensors'] } };
      case 'list_sensors':
        return { sensors: [{ name: SENSOR, driver: 'bench', quantities: { temperature: '°C' } }] };
      default:
        return {};
    }
  }

  private onAck(ack: number): void {
    if (ack <= this.peerAck) return;
    let readings = ack - this.peerAck;
    for (const [seq, n] of this.batches) {
      if (seq > ack) break;
      readings += n - 1;
      this.batches.delete(seq);
    }
    while (this.notReadings.length > 0 && (this.notReadings[0] as number) <= ack) {
      this.notReadings.shift();
      readings--;
    }
    counters.readingsAcked += readings;
    this.peerAck = ack;
    if (saturation !== undefined && this.peerAck === this.txSeq) {
      const now = performance.now();
      if (now >= saturation.sendUntil) {
        saturation.lastAckAt = now;
        if (boards.every((b) => b.inflight === 0)) saturation.onDrained?.();
      }
    }
  }
}

const SENSOR = 't';
const STEADY = 21.5;

function reading(ts: number, boot: string, temperature: number): string {
  return `{"event":"reading","ts":${ts},"boot_id":"${boot}","sub":1,"sensor":"${SENSOR}","values":{"temperature":${temperature}},"units":{"temperature":"°C"}}`;
}

let boards: FakeBoard[] = [];
/** How late this process's own timers ran (a busy swarm makes the boards' handshakes look slow). */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const keepalives = setInterval(() => {
  const now = performance.now();
  for (const b of boards) b.keepalive(now);
}, 250);
keepalives.unref();

function stats(): ProcessStats & { counters: typeof counters; up: number; mode: string } {
  return { at: performance.now(), cpu: process.cpuUsage(), mem: process.memoryUsage(), counters: { ...counters }, up: boards.filter((b) => b.up).length, mode };
}

/** 127.1.0.1, 127.1.0.2, …: 250 boards per third octet, all on the loopback interface. */
function sourceAddress(i: number): string {
  return `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

serveRpc({
  connect: async (args) => {
    const port = Number(args['port']);
    const specs = args['boards'] as BoardSpec[];
    const concurrency = Number(args['concurrency'] ?? 100);
    const first = Number(args['first'] ?? boards.length);
    if (args['keepaliveMs'] !== undefined) keepaliveMs = Number(args['keepaliveMs']);
    const t0 = performance.now();
    const fresh = specs.map((s, i) => new FakeBoard(s, sourceAddress(first + i)));
    boards.push(...fresh);
    let next = 0;
    const worker = async () => {
      while (next < fresh.length) {
        const b = fresh[next++] as FakeBoard;
        await b.start(port);
      }
    };
    const timeoutMs = Number(args['timeoutMs'] ?? 120_000);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${boards.filter((b) => b.up).length} of ${boards.length} boards linked within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(Array.from({ length: Math.min(concurrency, fresh.length) }, worker)), late]);
    } finally {
      clearTimeout(timer);
    }
    return { ms: performance.now() - t0, up: boards.filter((b) => b.up).length };
  },
  /** For each board: its id, when it was last welcomed after `since` (epoch ms; null: not since) and the dials that took. */
  relinked: (args) => {
    const since = Number(args['since']);
    const loop = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
    if (args['resetLoop'] === true) loopDelay.reset();
    return {
      at: epochMs(),
      loop,
      counters: { ...counters },
      boards: boards.map((b) => ({ id: b.spec.id, upAt: b.up && b.upAt >= since ? b.upAt : null, dials: b.dialsToUp })),
    };
  },
  readings: (args) => {
    mode = 'readings';
    changing = args['changing'] === true;
    if (args['intervalMs'] !== undefined) readingMs = Number(args['intervalMs']);
    for (const b of boards) b.startReadings();
  },
  quiet: () => {
    mode = 'quiet';
    for (const b of boards) b.stopReadings();
  },
  /** Resolves when every reading sent is acknowledged, with the times (ms, this process's clock). */
  saturate: async (args) => {
    mode = 'saturate';
    for (const b of boards) b.stopReadings();
    const window = Number(args['window'] ?? 64);
    const batch = Number(args['batch'] ?? 1);
    const durationMs = Number(args['durationMs'] ?? 5000);
    const before = stats();
    const startAt = performance.now();
    const sat = { window, batch, sendUntil: startAt + durationMs, lastAckAt: startAt, onDrained: undefined as (() => void) | undefined };
    saturation = sat;
    const drained = new Promise<void>((resolve) => (sat.onDrained = resolve));
    for (const b of boards) b.topUp(window);
    // Boards whose last ack came before sendUntil are drained already; check once sending stops.
    const check = setTimeout(() => {
      if (boards.every((b) => b.inflight === 0)) sat.onDrained?.();
    }, durationMs + 1);
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), durationMs + 60_000).unref());
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timeout]);
    clearTimeout(check);
    saturation = undefined;
    mode = 'quiet';
    const after = stats();
    return { outcome, startAt, sendUntil: sat.sendUntil, lastAckAt: sat.lastAckAt, before, after, inflight: boards.reduce((n, b) => n + b.inflight, 0) };
  },
  stats,
  close: () => {
    for (const b of boards) b.close();
    boards = [];
  },
});
