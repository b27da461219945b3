// How the link channels of one process share its event loop. A board may keep a window of
// messages in flight (64 for HubLink), and a thousand boards' windows read in one turn held
// the hub's loop for a third of a second: acks, HTTP requests and every other board waited.
//
// So a connection's frames are handled in slices. A channel whose socket had nothing waiting
// handles the first slice of what arrives at once: a command's reply or a lone reading never
// waits behind another board's backlog. The rest waits, its socket paused (TCP pushes back on
// the sender), in a round-robin queue served after the poll phase (setImmediate), at most
// `framesPerTurn` frames a turn; the socket reads again once its backlog is handled. Between
// two such turns the loop runs timers (the acks), reads other sockets and answers HTTP.

/** A connection with frames read and not yet handled. */
export interface PacedReader {
  /** Handles at most `max` waiting frames, in order; returns how many it handled. */
  drain(max: number): number;
  /** Whether frames still wait (false once the connection closed). */
  readonly backlogged: boolean;
}

export interface FramePacerOptions {
  /** Frames a connection handles before another gets its turn (default 16). */
  slice?: number;
  /** Frames handled from the queue per event-loop turn, all connections together (default 512). */
  framesPerTurn?: number;
}

export class FramePacer {
  readonly slice: number;
  readonly framesPerTurn: number;
  private queue: PacedReader[] = [];
  private head = 0;
  private scheduled = false;

  constructor(options: FramePacerOptions = {}) {
    this.slice = Math.max(1, options.slice ?? 16);
    this.framesPerTurn = Math.max(this.slice, options.framesPerTurn ?? 512);
  }

  /** Connections waiting for their turn. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Queues a reader whose backlog outlasted its slice; it is served after the poll phase. */
  defer(reader: PacedReader): void {
    this.queue.push(reader);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.serve());
  }

  /** One turn's share: a slice each, round-robin, until the turn's frames are spent. */
  private serve(): void {
    this.scheduled = false;
    let left = this.framesPerTurn;
    while (left > 0 && this.head < this.queue.length) {
      const reader = this.queue[this.head] as PacedReader;
      this.head++;
      // At least one counted, so a reader that handles nothing cannot spin the turn.
      left -= Math.max(1, reader.drain(Math.min(this.slice, left)));
      if (reader.backlogged) this.queue.push(reader);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      if (this.head > 1024) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.schedule();
    }
  }
}

/** The process's pacer: the event loop is one per process, and so is the budget of its turns. */
export const defaultPacer = new FramePacer();
