// Edge subscriptions on the board's inputs: one hardware watcher per watched pin, fanned out
// to every subscription on it, and ended when the pin is set up anew.
import type { Edge, Gpio, Level } from './hal/types.js';

/** `at` is when the edge happened on the board's clock, when the backend knows it. */
export type EdgeCallback = (level: Level, at: number | undefined) => void;

export class BoardEdges {
  private readonly gpio: Gpio;
  private readonly watchers = new Map<number, { stop: () => void; listeners: Set<EdgeCallback> }>();

  constructor(gpio: Gpio) {
    this.gpio = gpio;
  }

  /** Calls onEdge for each change of the input that matches `edge`; returns the function that stops it. */
  watch(pin: number, edge: Edge, onEdge: EdgeCallback): () => void {
    let watcher = this.watchers.get(pin);
    if (watcher === undefined) {
      const listeners = new Set<EdgeCallback>();
      const stop = this.gpio.watch(pin, (level, at) => {
        for (const listener of [...listeners]) listener(level, at);
      });
      watcher = { stop, listeners };
      this.watchers.set(pin, watcher);
    }
    const own = watcher;
    const listener: EdgeCallback = (level, at) => {
      if (edge === 'both' || (edge === 'rising') === (level === 1)) onEdge(level, at);
    };
    own.listeners.add(listener);
    return () => {
      own.listeners.delete(listener);
      if (own.listeners.size === 0 && this.watchers.get(pin) === own) this.unwatch(pin);
    };
  }

  /** Ends every subscription on a pin: it watched the pin as it was set up. */
  unwatch(pin: number): void {
    const watcher = this.watchers.get(pin);
    if (watcher === undefined) return;
    this.watchers.delete(pin);
    watcher.listeners.clear();
    watcher.stop();
  }

  clear(): void {
    for (const pin of [...this.watchers.keys()]) this.unwatch(pin);
  }
}
