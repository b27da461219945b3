// The commits a storage benchmark makes: the rows the hub stores for the swarm's readings
// (device swarm-NNNN, sensor t, quantity temperature, °C) in batches the size the hub's
// IngestQueue makes them (2,000 unless told), each batch advancing the link state of the boards whose readings it
// holds (none with boardsPerBatch 0), as the hub's commits do.
import type { CommitBatch, HubStore } from '../../src/hub/store/port.js';
import type { Reading } from '../../src/hub/types.js';

export const BATCH = 2000;

function swarmIds(boards: number): string[] {
  return Array.from({ length: boards }, (_, i) => `swarm-${String(i).padStart(4, '0')}`);
}

/** Registers `boards` swarm boards, each with the link state row the hub makes when it links; their ids. */
export async function registerSwarm(store: Pick<HubStore, 'addDevice' | 'getLinkState'>, boards: number): Promise<string[]> {
  const ids = swarmIds(boards);
  for (const id of ids) {
    await store.addDevice(id);
    await store.getLinkState(id);
  }
  return ids;
}

/** `rows` readings of these boards, a millisecond apart from `epoch` on. */
export function swarmBatches(ids: readonly string[], rows: number, boardsPerBatch: number, epoch: number, size = BATCH): CommitBatch[] {
  const batches: CommitBatch[] = [];
  const rx = new Map<string, number>();
  let first = 0;
  for (let done = 0; done < rows; done += size) {
    const readings: Reading[] = [];
    const linkStates: CommitBatch['linkStates'] = [];
    const per = Math.ceil(size / Math.max(1, boardsPerBatch));
    for (let b = 0; readings.length < size && readings.length < rows - done; b++) {
      const device = ids[(first + b) % ids.length] as string;
      const n = Math.min(per, size - readings.length, rows - done - readings.length);
      for (let k = 0; k < n; k++) readings.push({ device, sensor: 't', quantity: 'temperature', ts: epoch + done + readings.length, value: 21.5, unit: '°C' });
      const seq = (rx.get(device) ?? 0) + n;
      rx.set(device, seq);
      if (boardsPerBatch > 0) linkStates.push({ device, rxCommitted: seq });
    }
    first += boardsPerBatch;
    batches.push({ readings, events: [], linkStates });
  }
  return batches;
}
