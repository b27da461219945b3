// A fault-injecting TCP proxy for tests: it sits between boards and the hub (or any client
// and server) and, on command, black-holes, drops, refuses, delays or splits the traffic, so
// outage and framing tests run over real sockets. Random choices come from a seeded PRNG, so a
// run with the same seed makes the same choices.
import net from 'node:net';
import { prng } from './prng.js';

/** Where the proxy forwards each accepted connection. */
export interface FaultProxyTarget {
  host: string;
  port: number;
}

export interface FaultProxyOptions {
  /** The server that accepted connections are piped to. */
  target: FaultProxyTarget;
  /** Address to listen on; the port is always picked by the OS (read `proxy.port`). */
  listenHost?: string;
  /** Seed for jitter and split positions (default 1). */
  seed?: number;
}

/** Bytes delivered in each direction: up is client → target, down is target → client. */
export interface FaultProxyBytes {
  readonly up: number;
  readonly down: number;
}

type Direction = 'up' | 'down';

/** The fault settings and counters shared by every lane of one proxy. */
interface Shared {
  delayMs: number;
  jitterMs: number;
  split: boolean;
  bytes: { up: number; down: number };
  swallowed: number;
}

const END = Symbol('end');

interface Pending {
  data: Buffer | typeof END;
  /** performance.now() at or after which it may be delivered. */
  due: number;
}


/** Cuts data into 2–4 pieces at random byte positions (1-byte chunks stay whole). */
function cut(data: Buffer, random: () => number): Buffer[] {
  const want = Math.min(data.length - 1, 1 + Math.floor(random() * 3));
  const cuts = new Set<number>();
  while (cuts.size < want) cuts.add(1 + Math.floor(random() * (data.length - 1)));
  const pieces: Buffer[] = [];
  let start = 0;
  for (const end of [...[...cuts].sort((a, b) => a - b), data.length]) {
    pieces.push(data.subarray(start, end));
    start = end;
  }
  return pieces;
}

/** One direction of one connection: delivers chunks in order, each after its delay. */
class Lane {
  private queue: Pending[] = [];
  /** The rest of a chunk being written piece by piece in split mode. */
  private pieces: Buffer[] = [];
  /** Set while waiting on a timer or setImmediate; cancels it. */
  private cancel: (() => void) | undefined;
  private paused = false;

  constructor(
    private readonly shared: Shared,
    private readonly dir: Direction,
    private readonly random: () => number,
    private readonly from: net.Socket,
    private readonly to: net.Socket,
  ) {}

  push(data: Buffer | typeof END): void {
    const jitter = this.shared.jitterMs > 0 ? Math.floor(this.random() * (this.shared.jitterMs + 1)) : 0;
    this.queue.push({ data, due: performance.now() + this.shared.delayMs + jitter });
    this.pump();
  }

  /** Loses everything not yet delivered (blackhole), counting it as swallowed. */
  drop(): void {
    for (const p of [...this.pieces, ...this.queue.map((q) => q.data)]) {
      if (p !== END) this.shared.swallowed += p.length;
    }
    this.stop();
    this.from.resume();
  }

  /** Forgets everything not yet delivered and stops all timers. */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.queue = [];
    this.pieces = [];
  }

  private pump(): void {
    while (this.cancel === undefined) {
      const piece = this.pieces.shift();
      if (piece !== undefined) {
        this.write(piece);
        if (this.pieces.length > 0) this.wait(undefined);
        continue;
      }
      const next = this.queue[0];
      if (next === undefined) return;
      const wait = next.due - performance.now();
      if (wait > 0) {
        this.wait(wait);
        return;
      }
      this.queue.shift();
      if (next.data === END) {
        if (this.to.writable) this.to.end();
      } else {
        this.pieces = this.shared.split ? cut(next.data, this.random) : [next.data];
      }
    }
  }

  /** Pauses the pump for ms, or until the next setImmediate when ms is undefined. */
  private wait(ms: number | undefined): void {
    const resume = (): void => {
      this.cancel = undefined;
      this.pump();
    };
    if (ms === undefined) {
      const handle = setImmediate(resume);
      this.cancel = () => clearImmediate(handle);
    } else {
      const handle = setTimeout(resume, Math.ceil(ms));
      this.cancel = () => clearTimeout(handle);
    }
  }

  private write(data: Buffer): void {
    if (!this.to.writable) return;
    this.shared.bytes[this.dir] += data.length;
    if (!this.to.write(data) && !this.paused) {
      // Backpressure: stop reading the source until the other side catches up.
      this.paused = true;
      this.from.pause();
      this.to.once('drain', () => {
        this.paused = false;
        this.from.resume();
      });
    }
  }
}

/** A client socket and, unless it arrived during a blackhole, its connection to the target. */
class Pair {
  /** Dead pairs swallow every byte and never pass on an end or a close. */
  dead: boolean;
  private readonly lanes: Lane[] = [];
  private open: number;
  private gone = false;

  constructor(
    private readonly shared: Shared,
    random: (dir: Direction) => () => number,
    private readonly client: net.Socket,
    private readonly target: net.Socket | undefined,
    private readonly onGone: (pair: Pair) => void,
  ) {
    this.dead = target === undefined;
    this.open = target === undefined ? 1 : 2;
    let up: Lane | undefined;
    let down: Lane | undefined;
    if (target !== undefined) {
      up = new Lane(shared, 'up', random('up'), client, target);
      down = new Lane(shared, 'down', random('down'), target, client);
      this.lanes.push(up, down);
    }
    this.wire(client, up);
    if (target !== undefined) this.wire(target, down);
  }

  /** Blackhole: from now on this pair carries nothing, ever; its sockets stay open. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    for (const lane of this.lanes) lane.drop();
  }

  destroy(): void {
    for (const lane of this.lanes) lane.stop();
    this.client.destroy();
    this.target?.destroy();
    this.forget();
  }

  private wire(socket: net.Socket, lane: Lane | undefined): void {
    socket.setNoDelay(true); // so that split pieces leave as separate segments
    socket.on('data', (chunk: Buffer) => {
      if (this.dead || lane === undefined) this.shared.swallowed += chunk.length;
      else lane.push(chunk);
    });
    socket.on('end', () => {
      // A dead link carries no FIN: close only the socket whose endpoint hung up.
      if (this.dead || lane === undefined) socket.destroy();
      else lane.push(END);
    });
    socket.on('error', () => {
      if (this.dead) socket.destroy();
      else this.destroy();
    });
    socket.on('close', () => {
      if (--this.open === 0) this.forget();
    });
  }

  private forget(): void {
    if (this.gone) return;
    this.gone = true;
    this.onGone(this);
  }
}

export class FaultProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private readonly shared: Shared = { delayMs: 0, jitterMs: 0, split: false, bytes: { up: 0, down: 0 }, swallowed: 0 };
  private blackholed = false;
  private healTimer: NodeJS.Timeout | undefined;
  private refusing = false;
  private closing: Promise<void> | undefined;
  private accepted = 0;

  private constructor(
    private readonly target: FaultProxyTarget,
    private readonly seed: number,
  ) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  static async start({ target, listenHost = '127.0.0.1', seed = 1 }: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(target, seed);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, listenHost, () => {
        proxy.server.off('error', reject);
        resolve();
      });
    });
    proxy.server.on('error', () => undefined); // accept errors (EMFILE…) must not crash a test run
    return proxy;
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Client connections accepted so far, including refused and black-holed ones. */
  get connections(): number {
    return this.accepted;
  }

  /** Client connections currently open. */
  get active(): number {
    return this.pairs.size;
  }

  /** Bytes delivered so far in each direction. */
  get bytes(): FaultProxyBytes {
    return { ...this.shared.bytes };
  }

  /** Bytes lost to blackholes so far. */
  get swallowed(): number {
    return this.shared.swallowed;
  }

  /**
   * Silently loses every byte from now on, as a dead WiFi link does: no FIN, no RST. Connections
   * open now stay dead for good; new ones are accepted but never reach the target until heal().
   * With ms, heals by itself after ms.
   */
  blackhole(ms?: number): void {
    this.blackholed = true;
    for (const pair of this.pairs) pair.kill();
    clearTimeout(this.healTimer);
    this.healTimer = ms === undefined ? undefined : setTimeout(() => this.heal(), ms);
  }

  /** Ends a blackhole: new connections work again (old ones stay dead). */
  heal(): void {
    clearTimeout(this.healTimer);
    this.healTimer = undefined;
    this.blackholed = false;
  }

  /** Destroys every open connection on both sides at once. */
  dropAll(): void {
    for (const pair of [...this.pairs]) pair.destroy();
  }

  /** While on, new client connections are closed as soon as they are accepted. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Delivers each chunk ms (plus a random 0..jitterMs) after it arrived, in order. */
  setDelay(ms: number, jitterMs = 0): void {
    this.shared.delayMs = ms;
    this.shared.jitterMs = jitterMs;
  }

  /** While on, writes each chunk in 2–4 pieces cut at random byte positions. */
  setSplit(on: boolean): void {
    this.shared.split = on;
  }

  /** Destroys every connection and stops listening; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.heal();
      this.dropAll();
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  private accept(client: net.Socket): void {
    const index = this.accepted++;
    client.on('error', () => undefined);
    if (this.refusing || this.closing !== undefined) {
      client.destroy();
      return;
    }
    const target = this.blackholed
      ? undefined
      : net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    // One PRNG per connection and direction, so timing between lanes cannot change the choices.
    const random = (dir: Direction): (() => number) =>
      prng(Math.imul(this.seed, 0x9e3779b1) ^ (index * 2 + (dir === 'up' ? 0 : 1)));
    const pair = new Pair(this.shared, random, client, target, (p) => this.pairs.delete(p));
    this.pairs.add(pair);
  }
}
