// The shared protocol vectors (test/vectors/) against the MicroPython firmware's real modules
// running under CPython on the machine shims: the same cases the TypeScript runtime passes.
import { after, describe, test } from 'node:test';
import { startFirmwareBoard, type FirmwareBoard } from '../support/firmware-board.js';
import { loadVectorFiles, runCase } from '../support/vectors.js';

for (const file of loadVectorFiles()) {
  describe(`firmware vectors: ${file.file} — ${file.description}`, { timeout: 150_000 }, () => {
    const running = new Set<FirmwareBoard>();
    after(async () => {
      for (const b of running) await b.close();
    });
    for (const vcase of file.cases) {
      test(vcase.name, async () => {
        const board = await startFirmwareBoard(file.board, { manualClock: true });
        running.add(board);
        try {
          await runCase({ port: board.port, advance: (ms) => board.advance(ms) }, vcase);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n--- firmware stderr ---\n${board.stderr()}`, { cause: err });
        } finally {
          await board.close();
          running.delete(board);
        }
      });
    }
  });
}
