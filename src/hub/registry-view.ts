// The board registry as this hub sees it, held in memory: every board list, API page and MQTT
// discovery reads it without a store round trip (10,000 boards are a few MB), and only writes go
// to the store. A hub refreshes a board after each registry write of its own; hubs sharing a
// store also refresh a board they have not seen when it dials in (refresh) and reload the whole
// view when another hub says the registry changed (reload).
import type { HubStore } from './store/port.js';
import type { DeviceRecord } from './types.js';

export class RegistryView {
  private readonly records = new Map<string, DeviceRecord>();
  /** The ids in order; undefined after a board came or went. */
  private sortedIds: string[] | undefined;
  private reads = 0;
  private readonly latestRead = new Map<string, number>();

  private constructor(private readonly store: Pick<HubStore, 'listDevices' | 'getDevice'>) {}

  static async load(store: Pick<HubStore, 'listDevices' | 'getDevice'>): Promise<RegistryView> {
    const view = new RegistryView(store);
    await view.reload();
    return view;
  }

  get(id: string): DeviceRecord | undefined {
    return this.records.get(id);
  }

  /** Sorted by id. */
  list(): DeviceRecord[] {
    this.sortedIds ??= [...this.records.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return this.sortedIds.map((id) => this.records.get(id) as DeviceRecord);
  }

  /** Reads one board again from the store: undefined (and forgotten) when it is not registered. */
  async refresh(id: string): Promise<DeviceRecord | undefined> {
    // Reads may come back out of order (a pool of connections): only the latest one counts.
    const ticket = ++this.reads;
    this.latestRead.set(id, ticket);
    const record = await this.store.getDevice(id);
    if (this.latestRead.get(id) !== ticket) return this.records.get(id);
    this.latestRead.delete(id);
    if (record === undefined) {
      if (this.records.delete(id)) this.sortedIds = undefined;
      return undefined;
    }
    if (!this.records.has(id)) this.sortedIds = undefined;
    this.records.set(id, record);
    return record;
  }

  /** Reads every board again. */
  async reload(): Promise<void> {
    const all = await this.store.listDevices();
    this.records.clear();
    for (const record of all) this.records.set(record.id, record);
    this.sortedIds = undefined;
  }
}
