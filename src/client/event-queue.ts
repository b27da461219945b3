// A bounded buffer between the socket and one async-iterator consumer. When the consumer is
// slower than the board, the oldest buffered item is dropped and counted in `dropped`, so a
// stalled loop never grows memory without bound.

export const DEFAULT_EVENT_BUFFER = 1000;

export class EventQueue<T> implements AsyncIterableIterator<T> {
  /** Items discarded because the buffer was full. */
  dropped = 0;
  private buffer: T[] = [];
  private waiters: ((result: IteratorResult<T>) => void)[] = [];
  private ended = false;
  private readonly capacity: number;
  private readonly onReturn: (() => Promise<void>) | undefined;

  constructor(capacity: number = DEFAULT_EVENT_BUFFER, onReturn?: () => Promise<void>) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event buffer size must be an integer ≥ 1, got ${capacity}`);
    this.capacity = capacity;
    this.onReturn = onReturn;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter({ value: item, done: false });
      return;
    }
    this.buffer.push(item);
    if (this.buffer.length > this.capacity) {
      this.buffer.shift();
      this.dropped++;
    }
  }

  /** No more items; the consumer still receives what is buffered, then `done`. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called by `break` in a for-await loop: ends the queue and runs the owner's cleanup. */
  async return(): Promise<IteratorResult<T>> {
    this.end();
    this.buffer = [];
    if (this.onReturn !== undefined) await this.onReturn();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
