// The link port's waiting room (protocol.md §10.8): connections still in their handshake, at most
// 8 per address and 256 in all; when a bound is reached the oldest that has sent nothing yet
// gives way to the newcomer, and a handshake that takes over 5 s is closed. So a flood of
// silent sockets neither starves the boards that dial in nor piles up.
import type net from 'node:net';
import type { Clock, Timer } from '../common/clock.js';
import { ConnectionSlots } from '../common/connection-slots.js';
import { LogTally } from '../common/log-tally.js';
import type { Logger } from '../device/logger.js';

export const HANDSHAKE_LIMITS = { perAddress: 8, total: 256, timeoutMs: 5000 } as const;

export interface HandshakeGateOptions {
  clock: Clock;
  logger: Logger;
  perAddress?: number;
  total?: number;
  timeoutMs?: number;
}

interface Entry {
  readonly key: string;
  readonly socket: net.Socket;
  readonly evictable: boolean;
  timer: Timer | undefined;
}

export class HandshakeGate {
  private readonly slots: ConnectionSlots<Entry>;
  private readonly entries = new Map<net.Socket, Entry>();
  private readonly tally: LogTally;
  private readonly timeoutMs: number;

  constructor(private readonly options: HandshakeGateOptions) {
    this.slots = new ConnectionSlots({ total: options.total ?? HANDSHAKE_LIMITS.total, perKey: options.perAddress ?? HANDSHAKE_LIMITS.perAddress });
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

  /** Takes a new connection into its handshake; false when it was refused and closed. */
  admit(socket: net.Socket): boolean {
    const entry: Entry = {
      key: socket.remoteAddress ?? '?',
      socket,
      // Silent so far: nothing read from it. A board sends its hello as soon as it connects.
      get evictable() {
        return socket.bytesRead === 0;
      },
      timer: undefined,
    };
    const result = this.slots.admit(entry);
    if (!result.admitted) {
      this.drop(entry, 'refused: every handshake slot is held by a connection that has sent something');
      return false;
    }
    if (result.evicted !== undefined) this.drop(result.evicted, 'closed to make room: it had sent nothing');
    this.entries.set(socket, entry);
    entry.timer = this.options.clock.setTimer(this.timeoutMs, () => {
      entry.timer = undefined;
      this.drop(entry, `no handshake within ${this.timeoutMs} ms`);
    });
    return true;
  }

  /** The handshake is over (the board attached, or it was refused, or it went away). */
  release(socket: net.Socket): void {
    const entry = this.entries.get(socket);
    if (entry === undefined) return;
    this.entries.delete(socket);
    if (entry.timer !== undefined) this.options.clock.clearTimer(entry.timer);
    this.slots.release(entry);
  }

  close(): void {
    for (const entry of this.entries.values()) if (entry.timer !== undefined) this.options.clock.clearTimer(entry.timer);
    this.entries.clear();
    this.tally.close();
  }

  private drop(entry: Entry, why: string): void {
    this.release(entry.socket);
    const peer = `${entry.key}:${entry.socket.remotePort ?? '?'}`;
    this.options.logger.debug(`link ${peer}: ${why}`);
    this.tally.note(entry.key, why);
    entry.socket.destroy();
  }
}
