import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadVectorFiles, runCase, type VectorStep } from '../support/vectors.js';
import { startSimDevice, type SimDevice } from '../support/sim-device.js';

for (const file of loadVectorFiles()) {
  describe(`vectors: ${file.file} — ${file.description}`, { timeout: 30_000 }, () => {
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

/** The pin of the lease_expired event a step expects, if it expects one. */
function expiredPin(step: VectorStep): number | undefined {
  const event = step.expect?.find((m) => typeof m === 'object' && m !== null && (m as Record<string, unknown>)['event'] === 'lease_expired');
  return (event as Record<string, unknown> | undefined)?.['pin'] as number | undefined;
}

// The event reports the safe value whatever the board applied, so only reading the pin shows
// that an expiry put it back: a vector that skips the read cannot catch a wrong restore.
test('every lease expiry in the vectors is followed by a read of that pin', { timeout: 60_000 }, () => {
  const missing: string[] = [];
  for (const file of loadVectorFiles()) {
    for (const vcase of file.cases) {
      vcase.steps.forEach((step, i) => {
        const pin = expiredPin(step);
        if (pin === undefined) return;
        let next = i + 1;
        // The same expiry heard on other connections comes before the read.
        while (vcase.steps[next] !== undefined && vcase.steps[next]?.send === undefined && expiredPin(vcase.steps[next] as VectorStep) === pin) next++;
        const send = vcase.steps[next]?.send;
        const reads = send !== undefined && ((send['action'] === 'read_pin' && send['pin'] === pin) || send['action'] === 'get_state');
        if (!reads && expiredPin(vcase.steps[i - 1] ?? {}) !== pin) missing.push(`${file.file}: ${vcase.name}, step ${i + 1}`);
      });
    }
  }
  assert.deepEqual(missing, [], 'add a read_pin (digital) or get_state (PWM) step after these expiries');
});
