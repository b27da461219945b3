// Writes that must take effect in the order they were called. SQLite runs each call to its end
// before returning; over a pool of connections two calls made one after the other without an
// await between them could commit the other way round (a board's commands kept out of order, an
// earlier batch's rxCommitted written last). Calls with the same key run one after another,
// each once the one before has settled; calls with different keys run side by side.
export class InOrder {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
