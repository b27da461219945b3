// The link port's waiting room (protocol.md §10.8): connections still in their handshake, at most
// 8 per address and 256 in all; when a bound is reached the oldest that has sent nothing yet
// gives way to the newcomer, and a handshake that takes over 5 s is closed. So a flood of
// silent sockets neither starves the boards that dial in nor piles up.
import type net from 'node:net';
import type { Clock } from '../common/clock.js';
import { TimedSlots } from '../common/connection-slots.js';
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

export class HandshakeGate {
  private readonly slots: TimedSlots<net.Socket>;
  private readonly tally: LogTally;
  private readonly timeoutMs: number;

  constructor(private readonly options: HandshakeGateOptions) {
    this.slots = new TimedSlots({ total: options.total ?? HANDSHAKE_LIMITS.total, perKey: options.perAddress ?? HANDSHAKE_LIMITS.perAddress }, options.clock);
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
    // Silent so far: nothing read from it. A board sends its hello as soon as it connects.
    const result = this.slots.admit(socket, addressOf(socket), () => socket.bytesRead === 0, this.timeoutMs, () =>
      this.drop(socket, `no handshake within ${this.timeoutMs} ms`),
    );
    if (!result.admitted) {
      this.drop(socket, 'refused: every handshake slot is held by a connection that has sent something');
      return false;
    }
    if (result.evicted !== undefined) this.drop(result.evicted, 'closed to make room: it had sent nothing');
    return true;
  }

  /** The handshake is over (the board attached, or it was refused, or it went away). */
  release(socket: net.Socket): void {
    this.slots.release(socket);
  }

  close(): void {
    this.slots.close();
    this.tally.close();
  }

  private drop(socket: net.Socket, why: string): void {
    this.slots.release(socket);
    const address = addressOf(socket);
    this.options.logger.debug(`link ${address}:${socket.remotePort ?? '?'}: ${why}`);
    this.tally.note(address, why);
    socket.destroy();
  }
}

function addressOf(socket: net.Socket): string {
  return socket.remoteAddress ?? '?';
}
