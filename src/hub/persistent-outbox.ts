// The hub's stream to one board, kept on disk as well as in memory (protocol.md §10.4: "the hub
// persists … its own stream id and last number sent"), so a hub restart resends what the board
// has not acknowledged and the board's inbox drops what it already has.
import type { JsonObject } from '../protocol/codec.js';
import { Outbox, type OutboxOptions, type Outgoing } from '../protocol/link/reliable.js';
import { seqNext } from '../protocol/link/seq.js';

/** The part of the store this outbox writes to. */
export interface OutboxStore {
  /** Keeps the message and records `seq` as the last number of the stream, in one transaction. */
  outboxAdd(device: string, seq: number, body: JsonObject): void;
  outboxAck(device: string, ack: number): void;
}

export class PersistentOutbox extends Outbox<JsonObject> {
  /** The number the last pushed message will get: the hub never drops, so numbers follow push order. */
  private lastPushed: number;
  private readonly store: OutboxStore;
  private readonly device: string;

  constructor(store: OutboxStore, device: string, options: OutboxOptions<JsonObject>, lastSeq: number, restored: ReadonlyArray<Outgoing<JsonObject>>) {
    super({ ...options, onAcked: (acked) => store.outboxAck(device, (acked[acked.length - 1] as Outgoing<JsonObject>).seq) }, lastSeq, restored);
    this.store = store;
    this.device = device;
    this.lastPushed = restored.length > 0 ? (restored[restored.length - 1] as Outgoing<JsonObject>).seq : lastSeq;
  }

  /** The last number given to a message of this stream, sent or about to be. */
  get lastAssigned(): number {
    return this.lastPushed;
  }

  override push(body: JsonObject, droppable = false): void {
    if (droppable) throw new Error('the hub never sends droppable messages: their numbers are written down when queued');
    const seq = seqNext(this.lastPushed);
    // Written before it is queued: a message the hub took is never lost to a crash.
    this.store.outboxAdd(this.device, seq, body);
    super.push(body);
    this.lastPushed = seq;
  }

  override restart(): JsonObject[] {
    this.lastPushed = 0;
    return super.restart();
  }
}
