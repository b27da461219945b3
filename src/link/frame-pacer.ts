// How the link connections of one process share its event loop. A board may keep a window of
// messages in flight (64 for HubLink), and a thousand boards' windows read in one turn held the
// hub's loop for a third of a second: acks, HTTP requests and every other board waited.
//
// So each turn of the loop handles at most `framesPerTurn` frames, or `msPerTurn` of them, all
// connections together, and a connection at most a `slice` before the others get theirs. Frames that must wait stay
// with their connection, its socket paused (TCP pushes back on the sender), in a round-robin
// queue served after the poll phase (setImmediate). A connection that had nothing waiting and
// brings only a few frames is handled at once (as fair queueing favours sparse flows): a
// command's reply or a lone reading never waits behind another board's backlog. Between two
// turns the loop runs its timers, reads the other sockets and answers HTTP. Round-robin, so a
// connection with a backlog is served within a round of the queue whatever keeps arriving.

/** A connection with frames read and not yet handled. */
export interface PacedReader {
  /**
   * Handles at most `max` waiting frames, in order, and no more once performance.now() has
   * passed `until` (after the first): frames differ in cost (one reading, or a batch of 64).
   * Returns how many it handled.
   */
  drain(max: number, until?: number): number;
  /** Whether frames still wait (false once the connection closed). */
  readonly backlogged: boolean;
  /** How many frames wait. */
  readonly backlog: number;
  /** How many bytes they hold. */
  readonly backlogBytes: number;
}

export interface FramePacerOptions {
  /** Frames a connection handles before another gets its turn (default 64, HubLink's window). */
  slice?: number;
  /** Frames handled per event-loop turn, all connections together (default 1024). */
  framesPerTurn?: number;
  /**
   * Milliseconds of frame handling per turn, all connections together (default 1; commits made
   * while handling count): whichever of the two budgets runs out first ends the turn's share.
   */
  msPerTurn?: number;
  /**
   * A connection that had nothing waiting and brings at most this many frames (default 4) of at
   * most `sparseBytes` together (default 2048) is handled at once even when the turn's share is
   * spent: a reply or a lone reading, not a burst, nor a batch of readings a board has caught up.
   */
  sparse?: number;
  sparseBytes?: number;
}

export class FramePacer {
  readonly slice: number;
  readonly framesPerTurn: number;
  readonly sparse: number;
  readonly sparseBytes: number;
  readonly msPerTurn: number;
  /** Frames handled since the last serve(): this turn's share so far. */
  private used = 0;
  /** performance.now() when this turn's share began. */
  private turnStart = 0;
  private readonly queue = new ReaderQueue();
  private scheduled = false;

  constructor(options: FramePacerOptions = {}) {
    this.slice = Math.max(1, options.slice ?? 64);
    this.framesPerTurn = Math.max(this.slice, options.framesPerTurn ?? 1024);
    this.sparse = Math.max(0, Math.min(this.slice, options.sparse ?? 4));
    this.sparseBytes = options.sparseBytes ?? 2048;
    this.msPerTurn = options.msPerTurn ?? 1;
  }

  /** Connections waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Lets a connection whose frames just arrived handle what this turn still allows of them (up
   * to a slice), and queues it with the rest: the reader pauses its socket while it is queued.
   * Returns whether it was queued.
   */
  arrived(reader: PacedReader): boolean {
    if (this.used === 0) this.turnStart = performance.now();
    const sparse = reader.backlog <= this.sparse && reader.backlogBytes <= this.sparseBytes;
    const allowed = sparse ? reader.backlog : this.spent() ? 0 : Math.min(this.slice, this.framesPerTurn - this.used);
    const handled = allowed > 0 ? reader.drain(allowed, sparse ? Infinity : this.turnStart + this.msPerTurn) : 0;
    this.charge(handled);
    if (!reader.backlogged) return false;
    this.queue.push(reader);
    this.schedule();
    return true;
  }

  private spent(): boolean {
    return this.used >= this.framesPerTurn || (this.used > 0 && performance.now() - this.turnStart >= this.msPerTurn);
  }

  private charge(frames: number): void {
    if (frames === 0) return;
    this.used += frames;
    // The turn's share starts again after this poll phase, whether or not anyone waits.
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.serve());
  }

  /** A new turn's share: a slice each, round-robin. */
  private serve(): void {
    this.scheduled = false;
    this.used = 0;
    this.turnStart = performance.now();
    while (!this.spent()) {
      const reader = this.queue.shift();
      if (reader === undefined) break;
      // At least one counted, so a reader that handles nothing cannot spin the turn.
      this.used += Math.max(1, reader.drain(Math.min(this.slice, this.framesPerTurn - this.used), this.turnStart + this.msPerTurn));
      if (reader.backlogged) this.queue.push(reader);
    }
    if (this.waiting > 0) this.schedule();
  }
}

/** A FIFO that does not copy on every shift. */
class ReaderQueue {
  private items: PacedReader[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(reader: PacedReader): void {
    this.items.push(reader);
  }

  shift(): PacedReader | undefined {
    if (this.head === this.items.length) return undefined;
    const reader = this.items[this.head] as PacedReader;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return reader;
  }
}

/** The process's pacer: the event loop is one per process, and so is the budget of its turns. */
export const defaultPacer = new FramePacer();
