// The link port's waiting room (protocol.md §10.8): connections still in their handshake, at most
// 8 per address and 256 in all; when a bound is reached the oldest that has sent nothing yet
// gives way to the newcomer, and a handshake that takes over 5 s is closed. So a flood of
// silent sockets neither starves the boards that dial in nor piles up.
//
// A connection is judged silent only once the hub has had a chance to read it: a burst of boards
// accepted in one turn of the event loop (a hub restarting with thousands of boards dialling back)
// has not been read yet, and must not push itself out as if it were a flood. Those that find all
// 256 slots taken by connections that spoke (or are too new to judge) wait for one, up to 4,096
// (the listen backlog), newest first: a board gives up a handshake that takes longer than its own
// timeout (750 ms, §10.3) and dials again, so the newest is the one still waiting for it; one
// whose board gave up leaves the room when its end is read.
import type net from 'node:net';
import type { Clock, Timer } from '../common/clock.js';
import { TimedSlots } from '../common/connection-slots.js';
import { LogTally } from '../common/log-tally.js';
import type { Logger } from '../device/logger.js';

export const HANDSHAKE_LIMITS = { perAddress: 8, total: 256, waiting: 4096, timeoutMs: 5000 } as const;

export interface HandshakeGateOptions {
  clock: Clock;
  logger: Logger;
  perAddress?: number;
  total?: number;
  /** Connections waiting for a slot at most (default 4,096). */
  waiting?: number;
  timeoutMs?: number;
}

/** How many of the oldest waiting connections are looked at for a silent one when the room is full. */
const OLDEST_LOOKED_AT = 256;

/** What a waiting connection may send before its handshake: a hello is far shorter (link/handshake.ts reads at most this). */
const MAX_HELD_BYTES = 64 * 1024;

interface Waiter {
  socket: net.Socket;
  key: string;
  start: () => void;
  since: number;
  timer: Timer;
  /** What it sent while it waited (its hello), given back to the socket for the handshake. */
  held: Buffer[];
  heldBytes: number;
  detach: () => void;
}

export class HandshakeGate {
  private readonly slots: TimedSlots<net.Socket>;
  private readonly tally: LogTally;
  private readonly timeoutMs: number;
  private readonly perAddress: number;
  private readonly maxWaiting: number;
  /** Oldest first; served from the end. */
  private waiters: Waiter[] = [];
  private readonly waiting = new Map<net.Socket, Waiter>();
  private readonly waitingPerAddress = new Map<string, number>();
  /** Accepted in this turn of the event loop, and in the one before: not read yet, so not silent yet. */
  private fresh = new Set<net.Socket>();
  private young = new Set<net.Socket>();
  private aging = false;
  private readonly total: number;
  /**
   * False once a look through the full slots found none silent; true again when the loop turns
   * (a connection can only become silent by ageing). Spares a scan of every slot at each newcomer
   * while a burst waits.
   */
  private mayEvict = true;

  constructor(private readonly options: HandshakeGateOptions) {
    this.perAddress = options.perAddress ?? HANDSHAKE_LIMITS.perAddress;
    this.maxWaiting = options.waiting ?? HANDSHAKE_LIMITS.waiting;
    this.total = options.total ?? HANDSHAKE_LIMITS.total;
    this.slots = new TimedSlots({ total: this.total, perKey: this.perAddress }, options.clock);
    this.timeoutMs = options.timeoutMs ?? HANDSHAKE_LIMITS.timeoutMs;
    this.tally = new LogTally(options.clock, (address, count, last) =>
      options.logger.warn(
        `link: closed ${count} connection${count === 1 ? '' : 's'} from ${address} in the last minute before a handshake (last: ${last}); if ${address} is one of your boards, check its hub address and port, otherwise something there holds connections open without speaking (docs/hub.md, fairness)`,
      ),
    );
  }

  /** Connections in their handshake now. */
  get size(): number {
    return this.slots.size;
  }

  /** Connections waiting for a handshake slot now. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /**
   * Takes a new connection: `start` runs when it has a handshake slot, now or once one frees up.
   * A connection refused (its address holds every slot it may) is closed and `start` never runs.
   */
  admit(socket: net.Socket, start: () => void): void {
    const key = addressOf(socket);
    this.markFresh(socket);
    const held = this.slots.countOf(key);
    const waitingHere = this.waitingPerAddress.get(key) ?? 0;
    if (held < this.perAddress && held + waitingHere >= this.perAddress) {
      this.drop(socket, 'refused: every handshake slot of its address is taken or waited for');
      return;
    }
    if (this.waiting.size === 0 || held >= this.perAddress) {
      const result = this.take(socket, key, this.timeoutMs);
      if (result === 'admitted') return start();
      if (held >= this.perAddress) {
        this.drop(socket, 'refused: every handshake slot is held by a connection that has sent something');
        return;
      }
    }
    this.wait(socket, key, start);
    this.pump();
  }

  /** The handshake is over (the board attached, or it was refused, or it went away). */
  release(socket: net.Socket): void {
    this.fresh.delete(socket);
    this.young.delete(socket);
    if (this.slots.release(socket)) this.pump();
    else this.unwait(socket);
  }

  close(): void {
    this.slots.close();
    this.tally.close();
    for (const w of this.waiting.values()) this.options.clock.clearTimer(w.timer);
    this.waiting.clear();
    this.waiters = [];
    this.waitingPerAddress.clear();
  }

  /** Into a slot if there is room or a silent one gives way (it is closed); 'full' otherwise. */
  private take(socket: net.Socket, key: string, timeoutMs: number): 'admitted' | 'full' {
    const full = this.slots.size >= this.total && this.slots.countOf(key) < this.perAddress;
    if (full && !this.mayEvict) return 'full';
    const result = this.slots.admit(socket, key, () => this.silent(socket), timeoutMs, () => this.drop(socket, `no handshake within ${this.timeoutMs} ms`));
    if (!result.admitted) {
      if (full) this.mayEvict = false;
      return 'full';
    }
    if (result.evicted !== undefined) this.drop(result.evicted, 'closed to make room: it had sent nothing');
    return 'admitted';
  }

  /** Nothing read from it, though the hub has read since it came: a board sends its hello as soon as it connects. */
  private silent(socket: net.Socket): boolean {
    return socket.bytesRead === 0 && !this.fresh.has(socket) && !this.young.has(socket);
  }

  private wait(socket: net.Socket, key: string, start: () => void): void {
    if (this.waiting.size >= this.maxWaiting) {
      // The room is full: the oldest silent one goes, else the oldest (its board has most likely given up).
      const out = this.oldestToDrop();
      if (out !== undefined) this.drop(out.socket, 'closed to make room: it had waited longest for a handshake slot');
    }
    // Read while it waits, its hello kept for the handshake: a board that gives up (its own
    // handshake timeout is 750 ms, §10.3) ends the connection, and it leaves the room at once
    // instead of costing a handshake later.
    const onData = (chunk: Buffer) => {
      waiter.held.push(chunk);
      waiter.heldBytes += chunk.length;
      if (waiter.heldBytes > MAX_HELD_BYTES) this.drop(socket, `sent over ${MAX_HELD_BYTES} bytes while it waited for a handshake slot`);
    };
    const onEnd = () => {
      this.unwait(socket);
      this.options.logger.debug(`link ${addressOf(socket)}:${socket.remotePort ?? '?'}: closed by its peer while it waited for a handshake slot`);
      socket.destroy();
    };
    const waiter: Waiter = {
      socket,
      key,
      start,
      since: this.options.clock.now(),
      timer: this.options.clock.setTimer(this.timeoutMs, () => this.drop(socket, `no handshake slot within ${this.timeoutMs} ms`)),
      held: [],
      heldBytes: 0,
      detach: () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
      },
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    this.waiters.push(waiter);
    this.waiting.set(socket, waiter);
    this.waitingPerAddress.set(key, (this.waitingPerAddress.get(key) ?? 0) + 1);
  }

  /** The oldest silent one among the oldest waiting, else the oldest; without a look at the whole room. */
  private oldestToDrop(): Waiter | undefined {
    // Those dropped before were the oldest: gone from the front, they are not looked at again.
    while (this.waiters.length > 0 && !this.waiting.has((this.waiters[0] as Waiter).socket)) this.waiters.shift();
    let oldest: Waiter | undefined;
    let looked = 0;
    for (const w of this.waiters) {
      if (!this.waiting.has(w.socket)) continue;
      oldest ??= w;
      if (this.silent(w.socket)) return w;
      if (++looked >= OLDEST_LOOKED_AT) break;
    }
    return oldest;
  }

  private unwait(socket: net.Socket): Waiter | undefined {
    const waiter = this.waiting.get(socket);
    if (waiter === undefined) return undefined;
    this.waiting.delete(socket);
    this.options.clock.clearTimer(waiter.timer);
    waiter.detach();
    const left = (this.waitingPerAddress.get(waiter.key) ?? 1) - 1;
    if (left === 0) this.waitingPerAddress.delete(waiter.key);
    else this.waitingPerAddress.set(waiter.key, left);
    // The array keeps the order; entries gone from the map are skipped, and trimmed when it doubles.
    if (this.waiters.length > 2 * this.waiting.size + 64) this.waiters = this.waiters.filter((w) => this.waiting.has(w.socket));
    return waiter;
  }

  /** Gives free (or freed) slots to waiting connections, the newest first. */
  private pump(): void {
    while (this.waiting.size > 0) {
      let waiter: Waiter | undefined;
      while (waiter === undefined && this.waiters.length > 0) {
        const last = this.waiters[this.waiters.length - 1] as Waiter;
        if (this.waiting.has(last.socket)) waiter = last;
        else this.waiters.pop();
      }
      if (waiter === undefined) return;
      const left = this.timeoutMs - (this.options.clock.now() - waiter.since);
      if (this.take(waiter.socket, waiter.key, Math.max(0, left)) === 'full') return;
      this.waiters.pop();
      this.unwait(waiter.socket);
      // Paused, its hello put back: the handshake reads it first (link/handshake.ts resumes).
      waiter.socket.pause();
      if (waiter.heldBytes > 0) waiter.socket.unshift(Buffer.concat(waiter.held));
      waiter.start();
    }
  }

  /** Connections accepted now are not judged silent until the event loop has turned twice (read, then judged). */
  private markFresh(socket: net.Socket): void {
    this.fresh.add(socket);
    if (this.aging) return;
    this.aging = true;
    setImmediate(() => this.age());
  }

  private age(): void {
    this.young = this.fresh;
    this.fresh = new Set();
    this.mayEvict = true;
    // Silent ones may give way now to connections that wait.
    if (this.waiting.size > 0) this.pump();
    if (this.young.size > 0 || this.fresh.size > 0) setImmediate(() => this.age());
    else this.aging = false;
  }

  private drop(socket: net.Socket, why: string): void {
    this.slots.release(socket);
    this.unwait(socket);
    this.fresh.delete(socket);
    this.young.delete(socket);
    const address = addressOf(socket);
    this.options.logger.debug(`link ${address}:${socket.remotePort ?? '?'}: ${why}`);
    this.tally.note(address, why);
    socket.destroy();
  }
}

function addressOf(socket: net.Socket): string {
  return socket.remoteAddress ?? '?';
}
