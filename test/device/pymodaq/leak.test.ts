// A PyMoDAQ viewer grabbing for a long time costs the board nothing that stays: 10,000 AQ-MULTI
// requests in a row on one DEALER, every one answered, and the device process's resident memory
// (Linux: /proc/<pid>/status) grows by less than a generous bound between a warm-up and the end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PyMoDAQClients, rssBytes, SKIP_WITHOUT_PYZMQ, startPymodaqDevice, type DeviceProcess } from '../../support/pymodaq.js';

const REQUESTS = 10_000;
const WARM_UP = 2_000;
const BATCH = 500;
const MAX_GROWTH_BYTES = 30 * 1024 * 1024;
// The bench's TMP102s and EMC2101, then both actuators: the AHT10 (80 ms) and the PT-100 (10 ms)
// wait on conversions, which would make this a test of patience rather than of memory.
const GRAB = { op: 'multi_acquisition', name: 'viewer', addresses: ['0x48', '0x49', '0x4a', '0x4b', '0x4c'], pins: [18, 23] };
const SHAPE = 'ACK [number, number, number, number, number, number, number]';

describe('PyMoDAQ: 10,000 AQ-MULTI on one DEALER', { timeout: 240_000, skip: SKIP_WITHOUT_PYZMQ }, () => {
  let device: DeviceProcess | undefined;
  let py: PyMoDAQClients | undefined;

  before(async () => {
    device = await startPymodaqDevice();
    py = PyMoDAQClients.start();
    await py.open('viewer', device.endpoint);
  });

  after(async () => {
    await py?.stop();
    await device?.stop();
  });

  test('every reply is an ACK of seven numbers and the device process does not grow', async (t) => {
    assert.ok(py !== undefined && device !== undefined);
    const { pid } = device;
    const clients = py;
    let answered = 0;
    let seconds = 0;
    /** Runs `count` grabs in batches; the RSS after each batch. */
    const grab = async (count: number): Promise<number[]> => {
      const samples: number[] = [];
      for (let done = 0; done < count; done += BATCH) {
        const result = await clients.must({ op: 'repeat', count: BATCH, command: GRAB, expect_shape: SHAPE });
        assert.deepEqual(result['shapes'], { [SHAPE]: BATCH }, `every reply an ACK of seven numbers; the first other: ${JSON.stringify(result['first_other'])}`);
        answered += BATCH;
        seconds += result['seconds'] as number;
        samples.push(rssBytes(pid));
      }
      return samples;
    };
    // The heap's garbage rises and falls by some 20 MiB between collections, every few thousand
    // requests: the least RSS over several batches is what the process keeps. The first thousand
    // requests still grow the heap to its working size.
    const before = Math.min(...(await grab(WARM_UP)).slice(1000 / BATCH));
    answered = 0;
    seconds = 0;
    const after = Math.min(...(await grab(REQUESTS)).slice(-8));
    assert.equal(answered, REQUESTS);
    const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);
    assert.ok(after - before < MAX_GROWTH_BYTES, `RSS grew by ${mib(after - before)} MiB over ${REQUESTS} requests (${mib(before)} → ${mib(after)} MiB)`);
    t.diagnostic(`least RSS ${mib(before)} MiB after the warm-up, ${mib(after)} MiB after ${REQUESTS} AQ-MULTI (${seconds.toFixed(1)} s)`);
  });
});
