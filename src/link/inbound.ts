// The receiving side of a link stream across connections (protocol.md §10.4): numbers are
// checked by the Inbox, deliveries run one after another even when a new connection starts
// while an old one's commit is still running, and only committed numbers are acknowledged.
import type { JsonObject } from '../protocol/codec.js';
import { Inbox, type Arrival } from '../protocol/link/reliable.js';

export type Deliver = (body: JsonObject) => void | Promise<void>;

export class Inbound {
  readonly inbox: Inbox;
  private lastCommitted: number;
  private tail: Promise<void> = Promise.resolve();
  /** Bumped by a failed commit: deliveries queued before it are dropped, to be resent. */
  private generation = 0;

  constructor(lastCommitted = 0) {
    this.inbox = new Inbox(lastCommitted);
    this.lastCommitted = lastCommitted;
  }

  /** The last number whose delivery completed: what an acknowledgement may name. */
  get committed(): number {
    return this.lastCommitted;
  }

  /**
   * Takes an arriving message. A new one is queued for `deliver`; `committed` runs when it
   * completed, `failed` when it threw (the inbox then forgets it and everything after it, so
   * the sender's resend from the last acknowledgement brings them again).
   */
  receive(seq: number, body: JsonObject, deliver: Deliver, committed: (seq: number) => void, failed: (err: unknown) => void): Arrival {
    const arrival = this.inbox.accept(seq);
    if (arrival !== 'deliver') return arrival;
    const generation = this.generation;
    this.tail = this.tail.then(async () => {
      if (generation !== this.generation) return;
      try {
        await deliver(body);
      } catch (err) {
        this.generation++;
        this.inbox.rewind(this.lastCommitted);
        failed(err);
        return;
      }
      this.lastCommitted = seq;
      committed(seq);
    });
    return arrival;
  }

  /** Resolves when every queued delivery has completed or failed: call before a handshake. */
  settle(): Promise<void> {
    return this.tail;
  }

  restart(): void {
    this.generation++;
    this.inbox.restart();
    this.lastCommitted = 0;
  }
}
