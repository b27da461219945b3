// Who hears of registry writes made through a store: the hub keeps the registry in memory
// (registry-view.ts), so a board registered, given a new token or removed through the store it
// uses — by the API, the demo, a test — is read again at once. Writes by another process or hub
// reach it otherwise (the cluster's announcements, or the board dialling in).
export class RegistryWrites {
  private readonly listeners = new Set<(id: string) => void>();

  on(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** After the write committed. */
  written(id: string): void {
    for (const listener of [...this.listeners]) listener(id);
  }
}
