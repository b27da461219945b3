// The hub's stream to one board, kept in the store as well as in memory (protocol.md §10.4: "the
// hub persists … its own stream id and last number sent"), so a hub restart resends what the
// board has not acknowledged and the board's inbox drops what it already has.
import type { JsonObject } from '../protocol/codec.js';
import { Outbox, type OutboxOptions, type Outgoing } from '../protocol/link/reliable.js';
import { seqNext } from '../protocol/link/seq.js';

/** The part of the store this outbox writes to. */
export interface OutboxStore {
  /** Keeps the message and records `seq` as the last number of the stream, in one transaction. */
  outboxAdd(device: string, seq: number, body: JsonObject): Promise<void>;
  outboxAck(device: string, ack: number): Promise<number>;
}

export class PersistentOutbox extends Outbox<JsonObject> {
  /** The number the last written message got: the hub never drops, so numbers follow write order. */
  private lastWritten: number;
  /** The writes in flight, one after the other: each message's number depends on the one before. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: OutboxStore,
    private readonly device: string,
    // No batches: each message written down must go out under the number it was written with.
    options: Omit<OutboxOptions<JsonObject>, 'batch'> & { ackFailed: (err: unknown) => void },
    lastSeq: number,
    restored: ReadonlyArray<Outgoing<JsonObject>>,
  ) {
    super(
      {
        ...options,
        onAcked: (acked) => void store.outboxAck(device, (acked[acked.length - 1] as Outgoing<JsonObject>).seq).catch(options.ackFailed),
      },
      lastSeq,
      restored,
    );
    this.lastWritten = restored.length > 0 ? (restored[restored.length - 1] as Outgoing<JsonObject>).seq : lastSeq;
  }

  /** The last number given to a message of this stream, sent or about to be. */
  get lastAssigned(): number {
    return this.lastWritten;
  }

  /**
   * Writes the message down under the stream's next number, then hands it to `queue` (the open
   * channel's send, or push while there is none), which numbers it the same. Nothing goes out
   * before its row has committed: a number sent and not stored would, after a crash, be given
   * to another message, which the board would drop as one it has.
   */
  write(body: JsonObject, queue: (body: JsonObject) => void): Promise<void> {
    const step = this.writes.then(async () => {
      const seq = seqNext(this.lastWritten);
      await this.store.outboxAdd(this.device, seq, body);
      this.lastWritten = seq;
      queue(body);
    });
    this.writes = step.catch(() => undefined);
    return step;
  }

  /** Resolves once every write begun has ended, one way or the other. */
  settled(): Promise<void> {
    return this.writes;
  }

  override push(body: JsonObject, droppable = false): void {
    if (droppable) throw new Error('the hub never sends droppable messages: their numbers are written down when queued');
    super.push(body);
  }

  override restart(): JsonObject[] {
    this.lastWritten = 0;
    return super.restart();
  }
}
