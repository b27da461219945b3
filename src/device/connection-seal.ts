// The challenge–response state of one direct connection (protocol.md §8.1): the nonces of its
// last challenge and, once an auth with seal is accepted, the seal on every later frame in both
// directions (§10.6 format, directions c2b and b2c).
import { LABELS, Sealer, Unsealer } from '../protocol/auth.js';
import type { Handshake, NoncePair } from './dispatcher.js';

export class ConnectionSeal implements Handshake {
  private pair: NoncePair | undefined;
  private sealer: Sealer | undefined;
  private unsealer: Unsealer | undefined;
  /** The session key of an accepted auth, until its reply is out. */
  private pendingKey: Buffer | undefined;
  private closing = false;

  get sealed(): boolean {
    return this.unsealer !== undefined || this.pendingKey !== undefined;
  }

  remember(pair: NoncePair): void {
    this.pair = pair;
  }

  takePair(): NoncePair | undefined {
    const pair = this.pair;
    this.pair = undefined;
    return pair;
  }

  sealAfterReply(key: Buffer): void {
    this.pendingKey = key;
  }

  closeAfterReply(): void {
    this.closing = true;
  }

  /**
   * Called once the reply to the frame just handled is encoded: the auth reply itself goes out
   * unsealed, everything after it sealed. Returns true when the connection must now end.
   */
  replied(): boolean {
    if (this.pendingKey !== undefined) {
      this.sealer = new Sealer(this.pendingKey, LABELS.direct.toClient);
      this.unsealer = new Unsealer(this.pendingKey, LABELS.direct.toBoard);
      this.pendingKey = undefined;
    }
    return this.closing;
  }

  /** A received frame without its seal, on a sealed connection; throws SealError when it fails. */
  open(frame: Buffer): Buffer {
    return this.unsealer === undefined ? frame : this.unsealer.open(frame);
  }

  /** One encoded line (JSON and `\n`), sealed when the connection is. */
  seal(line: string): string {
    if (this.sealer === undefined) return line;
    return `${this.sealer.sealText(line.slice(0, -1))}\n`;
  }
}
