// A swarm of light fake boards in one process: each one a TCP connection to the hub's link port
// that speaks the link protocol (protocol.md §10) as a board does — a real hello, the challenge
// and response with its own registered token's key and sealed frames after it (§10.5, §10.6),
// numbered `msg` frames with piggybacked acks, a reply to every request the hub sends,
// keepalive pings when idle — but with no board behind it, so that a thousand of them
// fit on one core beside the bench. Driven by the bench over IPC (serveRpc):
//
//   connect {port, boards: [{id, token}], concurrency}   dial every board, resolve when all are welcomed
//   readings {changing?}                                 each board sends a reading once a second
//                                                        (changing: a new temperature each time, not always 21.5)
//   quiet {}                                             readings stop (keepalives go on)
//   saturate {window, durationMs}                        readings as fast as the hub acks them
//   stats {}                                             counters and this process's CPU and memory
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { keyOfToken, newNonce, proofEquals } from '../../src/protocol/auth.js';
import { linkProofs, linkSeal, type LinkSeal } from '../../src/protocol/link/link-auth.js';
import { serveRpc, type ProcessStats } from './common.js';

interface BoardSpec {
  id: string;
  token: string;
}

const KEEPALIVE_MS = 1000;
const started = performance.now();
const uptime = () => Math.round(performance.now() - started);

const counters = {
  readingsSent: 0,
  readingsAcked: 0,
  msgsSent: 0,
  commandsAnswered: 0,
  /** Readings not sent because the board's window was full (the hub is behind). */
  readingsSkipped: 0,
  /** Connections the hub closed or lost after their welcome. */
  closedAfterWelcome: 0,
};

let mode: 'quiet' | 'readings' | 'saturate' = 'quiet';
/** Whether a reading's value moves from one reading to the next (the MQTT bridge publishes only changes). */
let changing = false;
let saturation: { window: number; sendUntil: number; lastAckAt: number; onDrained: (() => void) | undefined } | undefined;

class FakeBoard {
  readonly boot = randomUUID();
  private socket: net.Socket | undefined;
  private buffer = '';
  up = false;
  /** The last number this board gave a message. */
  private txSeq = 0;
  /** The last number the hub acknowledged (committed). */
  private peerAck = 0;
  /** The last hub message delivered here. */
  private rxLast = 0;
  /** Numbers of messages that are not readings (the state event, replies), oldest first. */
  private notReadings: number[] = [];
  lastSent = 0;
  /** Readings this board sent once a second. */
  private readings = 0;
  private welcome: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** This connection's hello and its nonce, which the proofs cover; the seals once both proved. */
  private hello: { text: string; nonce: string } | undefined;
  private seal: LinkSeal | undefined;
  private interval: NodeJS.Timeout | undefined;
  private phase: NodeJS.Timeout | undefined;

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

  connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${this.spec.id}: no welcome within 20 s`)), 20_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.welcome = undefined;
        this.socket?.destroy();
        reject(err);
      };
      this.welcome = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: fail,
      };
      this.seal = undefined;
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: this.localAddress }, () => {
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
          rx: { stream: null, last: 0 },
          uptime_ms: uptime(),
          keepalive_ms: KEEPALIVE_MS,
        });
        this.hello = { text, nonce };
        this.write(`${text}\n`);
      });
      this.socket = socket;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => this.receive(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (this.up) counters.closedAfterWelcome++;
        this.up = false;
        this.stopReadings();
        this.welcome?.reject(new Error(`${this.spec.id}: the hub closed the connection before its welcome`));
      });
    });
  }

  close(): void {
    this.stopReadings();
    this.up = false;
    this.socket?.destroy();
  }

  /** One reading a second, starting at a random point of the first second. */
  startReadings(): void {
    this.stopReadings();
    this.phase = setTimeout(() => {
      this.sendReading();
      this.interval = setInterval(() => this.sendReading(), 1000);
    }, Math.random() * 1000);
  }

  stopReadings(): void {
    clearTimeout(this.phase);
    clearInterval(this.interval);
  }

  keepalive(now: number): void {
    if (this.up && now - this.lastSent >= KEEPALIVE_MS) this.write(this.sealed('{"link":"ping"}'));
  }

  /** Saturation: fills the window with readings, in one write. */
  topUp(window: number): void {
    if (!this.up) return;
    let out = '';
    const ts = uptime();
    while (this.txSeq - this.peerAck < window) {
      out += this.frame(reading(ts, this.boot, STEADY));
      counters.readingsSent++;
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
    return `${this.seal.sealer.seal(frame).toString('utf8')}\n`;
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
      case 'welcome':
        this.peerAck = m.ack ?? 0;
        this.up = true;
        // After every welcome a board reports its state (protocol.md §10.4).
        this.sendOther(JSON.stringify({ event: 'state', ts: uptime(), boot_id: this.boot, pins: [], leases: [], sensors: [] }));
        this.welcome?.resolve();
        this.welcome = undefined;
        return;
      case 'reject':
        this.welcome?.reject(new Error(`${this.spec.id}: rejected: ${JSON.stringify(m.error)}`));
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
      this.welcome?.reject(new Error(`${this.spec.id}: rejected: ${JSON.stringify(m.error)}`));
      return;
    }
    if (m.link !== 'challenge' || this.hello === undefined) return;
    const key = keyOfToken(this.spec.token);
    const transcript = { boardNonce: this.hello.nonce, hubNonce: String(m.nonce), hello: this.hello.text };
    const proofs = linkProofs(key, transcript);
    if (!proofEquals(m.proof, proofs.hub)) {
      this.welcome?.reject(new Error(`${this.spec.id}: the hub did not prove it knows this board's key`));
      return;
    }
    this.write(`{"link":"auth","proof":"${proofs.board}"}\n`);
    this.seal = linkSeal(key, transcript, 'board');
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
    const t0 = performance.now();
    const fresh = specs.map((s, i) => new FakeBoard(s, sourceAddress(boards.length + i)));
    boards.push(...fresh);
    let next = 0;
    const worker = async () => {
      while (next < fresh.length) {
        const b = fresh[next++] as FakeBoard;
        await b.connect(port);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, fresh.length) }, worker));
    return { ms: performance.now() - t0, up: boards.filter((b) => b.up).length };
  },
  readings: (args) => {
    mode = 'readings';
    changing = args['changing'] === true;
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
    const durationMs = Number(args['durationMs'] ?? 5000);
    const before = stats();
    const startAt = performance.now();
    const sat = { window, sendUntil: startAt + durationMs, lastAckAt: startAt, onDrained: undefined as (() => void) | undefined };
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
