// The saturation benchmark's baseline: the storage's own ceiling. HubStore.commit of the rows the
// hub stores for the swarm's readings (device swarm-NNNN, sensor t, quantity temperature, °C),
// in batches the size the hub's IngestQueue made them (2,000 unless told), in one process that does nothing
// else: no sockets, no parsing. Each batch also advances the link state of the boards whose
// readings it holds, as the hub's commits do.
//
//   started by hub-bench.js, which calls run {dir, rows, boards, boardsPerBatch, batch} over IPC
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HubStore, type CommitBatch } from '../../src/hub/store/store.js';
import type { Reading } from '../../src/hub/types.js';
import { serveRpc } from './common.js';

function run(dir: string, rows: number, boards: number, boardsPerBatch: number, BATCH: number): { rows: number; ms: number; perSecond: number; commits: number } {
  const store = HubStore.open(path.join(dir, 'tether.db'));
  try {
    const ids = Array.from({ length: boards }, (_, i) => `swarm-${String(i).padStart(4, '0')}`);
    for (const id of ids) {
      store.addDevice(id);
      store.getLinkState(id); // the hub makes each board's link state row when it links
    }
    const batches: CommitBatch[] = [];
    const rx = new Map<string, number>();
    const epoch = Date.now();
    let first = 0;
    for (let done = 0; done < rows; done += BATCH) {
      const readings: Reading[] = [];
      const linkStates: CommitBatch['linkStates'] = [];
      const per = Math.ceil(BATCH / Math.max(1, boardsPerBatch));
      for (let b = 0; readings.length < BATCH && readings.length < rows - done; b++) {
        const device = ids[(first + b) % ids.length] as string;
        const n = Math.min(per, BATCH - readings.length, rows - done - readings.length);
        for (let k = 0; k < n; k++) readings.push({ device, sensor: 't', quantity: 'temperature', ts: epoch + done + readings.length, value: 21.5, unit: '°C' });
        const seq = (rx.get(device) ?? 0) + n;
        rx.set(device, seq);
        if (boardsPerBatch > 0) linkStates.push({ device, rxCommitted: seq });
      }
      first += boardsPerBatch;
      batches.push({ readings, events: [], linkStates });
    }
    const t0 = performance.now();
    for (const batch of batches) store.commit(batch);
    const ms = performance.now() - t0;
    return { rows, ms, perSecond: (rows / ms) * 1000, commits: batches.length };
  } finally {
    store.close();
  }
}

serveRpc({
  run: (args) => run(String(args['dir']), Number(args['rows']), Number(args['boards']), Number(args['boardsPerBatch']), Math.max(1, Number(args['batch'] ?? 2000))),
});
