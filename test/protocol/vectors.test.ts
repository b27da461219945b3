import { after, describe, test } from 'node:test';
import { loadVectorFiles, runCase } from '../support/vectors.js';
import { startSimDevice, type SimDevice } from '../support/sim-device.js';

for (const file of loadVectorFiles()) {
  describe(`vectors: ${file.file} — ${file.description}`, () => {
    const running = new Set<SimDevice>();
    after(async () => {
      for (const d of running) await d.close();
    });
    for (const vcase of file.cases) {
      test(vcase.name, async () => {
        const sim = await startSimDevice(file.board);
        running.add(sim);
        try {
          await runCase({ port: sim.port, advance: (ms) => sim.clock.advance(ms) }, vcase);
        } finally {
          await sim.close();
          running.delete(sim);
        }
      });
    }
  });
}
