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

/** A link in the completion chain: the delivery it waits for, and the last number that completes with it. */
interface Link {
  done: Promise<void>;
  seq: number;
}

export class Inbound {
  readonly inbox: Inbox;
  private lastCommitted: number;
  private tail: Promise<void> = Promise.resolve();
  /** The newest link of the chain, while it still waits: see receive. */
  private open: Link | undefined;
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
    if (!this.pipelined) {
      this.chain(undefined, seq, () => deliver(body, seq), committed, failed);
      return arrival;
    }
    let done: Promise<void>;
    try {
      const delivered = deliver(body, seq);
      done = delivered instanceof Promise ? delivered : Promise.resolve(delivered);
    } catch (err) {
      done = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // The hub's ingest gives a board's messages in one commit the same promise: the newest
    // link, still waiting for it, takes this number too, instead of a link (and promises) per message.
    const open = this.open;
    if (open !== undefined && open.done === done) {
      open.seq = seq;
      return arrival;
    }
    done.catch(() => undefined); // observed in the chain, in order; this only keeps it from counting as unhandled
    this.chain(done, seq, undefined, committed, failed);
    return arrival;
  }

  /** Appends to the completion chain: `committed` runs for the link's last number once its delivery completed. */
  private chain(done: Promise<void> | undefined, seq: number, run: (() => void | Promise<void>) | undefined, committed: (seq: number) => void, failed: (err: unknown) => void): void {
    const generation = this.generation;
    const link: Link | undefined = done === undefined ? undefined : { done, seq };
    this.open = link;
    this.tail = this.tail.then(async () => {
      if (generation !== this.generation) {
        if (this.open === link) this.open = undefined;
        return;
      }
      try {
        await (link?.done ?? run?.());
      } catch (err) {
        if (this.open === link) this.open = undefined;
        this.generation++;
        this.inbox.rewind(this.lastCommitted);
        failed(err);
        return;
      }
      // From here on the link's number is read: a later message must start a link of its own.
      if (this.open === link) this.open = undefined;
      const last = link?.seq ?? seq;
      this.lastCommitted = last;
      committed(last);
    });
  }

  /** Resolves when every queued delivery has completed or failed: call before a handshake. */
  settle(): Promise<void> {
    return this.tail;
  }

  restart(): void {
    this.open = undefined;
    this.generation++;
    this.inbox.restart();
    this.lastCommitted = 0;
  }
}
