// One subscription's events (protocol.md §7): an async iterable fed by the connection with the
// events whose `sub` matches. Breaking out of a for-await loop unsubscribes.
import { EventQueue } from './event-queue.js';
import type { TetherEvent } from './types.js';

export class Subscription implements AsyncIterable<TetherEvent> {
  /** The board's subscription number (`sub` in its events). */
  readonly id: number;
  private readonly queue: EventQueue<TetherEvent>;
  private readonly release: (sub: Subscription) => Promise<void>;
  private closing: Promise<void> | undefined;

  /** Made by BoardClient.subscribe(); not meant to be constructed directly. */
  constructor(id: number, bufferSize: number, release: (sub: Subscription) => Promise<void>) {
    this.id = id;
    this.release = release;
    this.queue = new EventQueue<TetherEvent>(bufferSize, () => this.close().catch(() => undefined));
  }

  /** Events discarded because this subscription's buffer was full (the consumer was too slow). */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** @internal Called by the connection. */
  push(event: TetherEvent): void {
    this.queue.push(event);
  }

  /** @internal Ends iteration without telling the board (the connection closed). */
  end(): void {
    this.queue.end();
  }

  /** Sends unsubscribe and ends iteration; buffered events are still delivered. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.release(this);
    return this.closing;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TetherEvent> {
    return this.queue;
  }
}

/** Every event on a connection, for one consumer. */
export class EventStream implements AsyncIterable<TetherEvent> {
  private readonly queue: EventQueue<TetherEvent>;
  private readonly detach: (stream: EventStream) => void;

  /** Made by BoardClient.events(); not meant to be constructed directly. */
  constructor(bufferSize: number, detach: (stream: EventStream) => void) {
    this.detach = detach;
    this.queue = new EventQueue<TetherEvent>(bufferSize, () => {
      this.close();
      return Promise.resolve();
    });
  }

  /** Events discarded because the buffer was full (the consumer was too slow). */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** @internal Called by the connection. */
  push(event: TetherEvent): void {
    this.queue.push(event);
  }

  /** Stops receiving; buffered events are still delivered, then iteration ends. */
  close(): void {
    this.queue.end();
    this.detach(this);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TetherEvent> {
    return this.queue;
  }
}
