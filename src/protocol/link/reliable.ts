// Exactly-once, in-order delivery over a link that breaks (protocol.md §10.4). Pure state, no
// I/O: the link endpoint feeds it what it sends, receives and commits, on either side.
import { seqDelta, seqNext, seqPrev } from './seq.js';

export interface Outgoing<T> {
  readonly seq: number;
  readonly body: T;
}

export interface OutboxOptions<T = unknown> {
  /** Messages held at most: queued plus sent-but-unacknowledged. */
  capacity: number;
  /** Messages sent and not yet acknowledged at most; the rest wait (flow control). */
  window: number;
  /** Told about the messages an acknowledgement freed, oldest first (the hub deletes them from disk). */
  onAcked?: (acked: ReadonlyArray<Outgoing<T>>) => void;
  /** How queued messages may share one number (a board's `batch` event, protocol.md §10.4); absent: never. */
  batch?: Batcher<T>;
}

/** How several queued messages become one. */
export interface Batcher<T> {
  /** Whether a message may go in a batch. */
  joinable(body: T): boolean;
  /** Its size as the batch counts it (bytes on the wire, say). */
  size(body: T): number;
  /** The most a batch's members may add up to in size(). */
  maxSize: number;
  /** The one message that carries these, in order. */
  join(bodies: T[]): T;
}

export class OutboxFull extends Error {
  constructor(capacity: number) {
    super(`the outbox holds ${capacity} messages already and none of them may be dropped`);
    this.name = 'OutboxFull';
  }
}

/**
 * Messages waiting to be sent, and those sent until the peer acknowledges them. A number is
 * given only when a message is first sent, so dropping a queued one never leaves a gap.
 */
export class Outbox<T> {
  private queued: Array<{ body: T; droppable: boolean }> = [];
  private inflight: Array<Outgoing<T>> = [];
  private lastSeq: number;
  private droppedCount = 0;
  /** The messages each numbered batch carries, by its number, until it is acknowledged. */
  private readonly joined = new Map<number, T[]>();
  /**
   * The most messages one batch may carry, as the peer said for this connection (its welcome's
   * `batch`); 1 (the default) sends every message alone.
   */
  batchLimit = 1;

  constructor(
    private readonly options: OutboxOptions<T>,
    /** The last number used in this stream (0 for a new stream). */
    lastSeq = 0,
    /**
     * Messages numbered and sent before a restart of this side (the hub keeps them on disk),
     * oldest first: they are unacknowledged again and go out first on the next connection.
     */
    restored: ReadonlyArray<Outgoing<T>> = [],
  ) {
    this.lastSeq = restored.length > 0 ? (restored[restored.length - 1] as Outgoing<T>).seq : lastSeq;
    this.inflight = [...restored];
  }

  /** Messages held, a batch's members each counted: capacity bounds messages, not numbers. */
  get size(): number {
    let size = this.queued.length + this.inflight.length;
    for (const members of this.joined.values()) size += members.length - 1;
    return size;
  }

  /** Droppable messages evicted because the outbox was full, since the last take. */
  takeDropped(): number {
    const n = this.droppedCount;
    this.droppedCount = 0;
    return n;
  }

  /**
   * Queues a message. When full, the oldest queued droppable message (a reading) makes room;
   * if there is none, OutboxFull is thrown and nothing changes.
   */
  push(body: T, droppable = false): void {
    if (this.size >= this.options.capacity) {
      const victim = this.queued.findIndex((m) => m.droppable);
      if (victim === -1) throw new OutboxFull(this.options.capacity);
      this.queued.splice(victim, 1);
      this.droppedCount++;
    }
    this.queued.push({ body, droppable });
  }

  /** Numbers and returns the queued messages the window lets out now. */
  sendable(): Array<Outgoing<T>> {
    const out: Array<Outgoing<T>> = [];
    while (this.queued.length > 0 && this.inflight.length < this.options.window) {
      const members = this.next(this.options.window - this.inflight.length);
      this.lastSeq = seqNext(this.lastSeq);
      const msg = { seq: this.lastSeq, body: members.length === 1 ? (members[0] as T) : (this.options.batch as Batcher<T>).join(members) };
      if (members.length > 1) this.joined.set(msg.seq, members);
      this.inflight.push(msg);
      out.push(msg);
    }
    return out;
  }

  /**
   * The next message to number, with `free` places left in the window: the oldest queued, or a
   * batch of the oldest when more wait than the window lets out one by one. Batches are only as
   * large as it takes to get the backlog into the window: a sender that keeps up sends each
   * message alone and at once.
   */
  private next(free: number): T[] {
    const first = (this.queued.shift() as { body: T }).body;
    const batcher = this.options.batch;
    const wanted = Math.min(this.batchLimit, Math.ceil((this.queued.length + 1) / free));
    if (batcher === undefined || wanted < 2 || !batcher.joinable(first)) return [first];
    const members = [first];
    let size = batcher.size(first);
    for (let head = this.queued[0]; head !== undefined && members.length < wanted && batcher.joinable(head.body); head = this.queued[0]) {
      size += batcher.size(head.body);
      if (size > batcher.maxSize) break;
      members.push(head.body);
      this.queued.shift();
    }
    return members;
  }

  /**
   * After a new connection's acknowledgement: takes apart every unacknowledged batch larger than
   * batchLimit (a peer that takes fewer, or none, than the one it was numbered for), and numbers
   * its members, and everything numbered after it, again from there. Safe because the peer has
   * committed nothing past its acknowledgement, and a new connection resends all of it anyway.
   */
  splitBatches(): void {
    const first = this.inflight.findIndex((m) => (this.joined.get(m.seq)?.length ?? 1) > this.batchLimit);
    if (first === -1) return;
    const undone = this.inflight.splice(first);
    this.lastSeq = seqPrev((undone[0] as Outgoing<T>).seq);
    const again: Array<{ body: T; droppable: boolean }> = [];
    for (const m of undone) {
      for (const body of this.joined.get(m.seq) ?? [m.body]) again.push({ body, droppable: false });
      this.joined.delete(m.seq);
    }
    this.queued.unshift(...again);
  }

  /** Everything sent and not acknowledged, oldest first: what a new connection sends again. */
  unacknowledged(): ReadonlyArray<Outgoing<T>> {
    return this.inflight;
  }

  /** A cumulative acknowledgement: every message up to `seq` arrived. Returns how many it freed. */
  ack(seq: number): number {
    let freed = 0;
    while (freed < this.inflight.length && seqDelta((this.inflight[freed] as Outgoing<T>).seq, seq) >= 0) freed++;
    if (freed > 0) {
      const acked = this.inflight.splice(0, freed);
      for (const m of acked) this.joined.delete(m.seq);
      this.options.onAcked?.(acked);
    }
    return freed;
  }

  /** Drops everything and starts a new stream at 1 (the peer restarted and lost its state). */
  restart(): Array<T> {
    const lost = [...this.inflight.flatMap((m) => this.joined.get(m.seq) ?? [m.body]), ...this.queued.map((m) => m.body)];
    this.inflight = [];
    this.joined.clear();
    this.queued = [];
    this.lastSeq = 0;
    return lost;
  }
}

export type Arrival = 'deliver' | 'duplicate' | 'gap';

/** The receiving side of a stream: delivers each number once, in order. */
export class Inbox {
  /** The last number delivered; the sender resumes after the last one acknowledged. */
  private last: number;

  constructor(lastDelivered = 0) {
    this.last = lastDelivered;
  }

  get lastDelivered(): number {
    return this.last;
  }

  /**
   * Classifies an arriving number: the next one is delivered (and counted), an old one is a
   * duplicate to acknowledge again, and a later one means something was skipped: it is
   * refused, and the acknowledgement sent back makes the sender resend from the gap.
   */
  accept(seq: number): Arrival {
    const d = seqDelta(this.last, seq);
    if (d === 1) {
      this.last = seq;
      return 'deliver';
    }
    return d <= 0 ? 'duplicate' : 'gap';
  }

  /** Forgets deliveries after `seq` (they were not committed): the sender will resend them. */
  rewind(seq: number): void {
    if (seqDelta(seq, this.last) > 0) this.last = seq;
  }

  restart(): void {
    this.last = 0;
  }
}
