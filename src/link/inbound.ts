// The receiving side of a link stream across connections (protocol.md §10.4): numbers are
// checked by the Inbox, deliveries complete in order even when a new connection starts while
// an old one's commit is still running, and only committed numbers are acknowledged.
import type { JsonObject } from '../protocol/codec.js';
import { Inbox, type Arrival } from '../protocol/link/reliable.js';

export type Deliver = (body: JsonObject, seq: number) => void | Promise<void>;

export interface InboundOptions {
  /**
   * Serial (the board): a delivery starts only after the one before it completed, because
   * commands must run one after another. Pipelined (the hub): each delivery is handed over at
   * once, in order, and only their completions are chained, so a burst of readings after an
   * outage shares one store transaction instead of waiting for one commit each.
   */
  pipelined?: boolean;
}

export class Inbound {
  readonly inbox: Inbox;
  private lastCommitted: number;
  private tail: Promise<void> = Promise.resolve();
  /** Bumped by a failed commit: deliveries queued before it are dropped, to be resent. */
  private generation = 0;
  private readonly pipelined: boolean;

  constructor(lastCommitted = 0, options: InboundOptions = {}) {
    this.inbox = new Inbox(lastCommitted);
    this.lastCommitted = lastCommitted;
    this.pipelined = options.pipelined === true;
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
    let done: Promise<void> | undefined;
    if (this.pipelined) {
      try {
        done = Promise.resolve(deliver(body, seq));
      } catch (err) {
        done = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      done.catch(() => undefined); // observed below, in order; this only keeps it from counting as unhandled
    }
    this.tail = this.tail.then(async () => {
      if (generation !== this.generation) return;
      try {
        await (done ?? deliver(body, seq));
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
