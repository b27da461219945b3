// PyMoDAQ's writes as leases (docs/pymodaq.md, "Leases for PyMoDAQ"): held while PyMoDAQ keeps
// talking, back to the safe value hold_s after it goes silent with lease_expired to protocol v1
// clients, ended at once by a PI of the safe value, and given up when another writer takes the
// pin. The bench with hold_s 2, on the real clock: conditions are awaited with generous deadlines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ack,
  benchConfigWith,
  PyMoDAQClients,
  SKIP_WITHOUT_PYZMQ,
  sleep,
  startPymodaqDevice,
  V1Client,
  type DeviceProcess,
  type JsonObject,
} from '../../support/pymodaq.js';
import { eventually } from '../../support/test-hub.js';

const HOLD_S = 2;
const HEATER = 23;
const PLUGIN = 'plugin';
// DAQ_Move and the 0D viewer each have a socket; any PyMoDAQ request renews what either wrote.
const VIEWER = 'viewer';
const isHeaterExpiry = (e: JsonObject): boolean => e['event'] === 'lease_expired' && e['pin'] === HEATER;

describe('PyMoDAQ holds on the bench (hold_s 2)', { timeout: 120_000, skip: SKIP_WITHOUT_PYZMQ }, () => {
  let config: { file: string; remove(): void } | undefined;
  let device: DeviceProcess | undefined;
  let py: PyMoDAQClients | undefined;

  before(async () => {
    config = benchConfigWith({ hold_s: HOLD_S });
    device = await startPymodaqDevice(config.file);
    py = PyMoDAQClients.start();
    await py.open(PLUGIN, device.endpoint);
    await py.open(VIEWER, device.endpoint);
  });

  after(async () => {
    await py?.stop();
    await device?.stop();
    config?.remove();
  });

  const setup = (): { py: PyMoDAQClients; device: DeviceProcess } => {
    assert.ok(py !== undefined && device !== undefined);
    return { py, device };
  };
  /** An AQ of the heater, by default on the plugin's DAQ_Move link, the one that writes. */
  const heater = async (client = PLUGIN): Promise<number> => ack(await setup().py.request(client, { type: 'AQ', register: 'pin', pin: HEATER }), 'AQ heater') as number;

  /** PyMoDAQ's viewer grabbing on its own socket: an AQ of the heater every 300 ms for `ms`, or until `done`; what each read. */
  const poll = async (ms: number, done: () => boolean = () => false): Promise<number[]> => {
    const reads: number[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end && !done()) {
      reads.push(await heater(VIEWER));
      await sleep(300);
    }
    return reads;
  };

  test('a PI stays while PyMoDAQ keeps asking (on another socket), then goes back to the safe value after hold_s of silence, and v1 clients hear it', async () => {
    const { py, device } = setup();
    const v1 = await V1Client.connect(device.port);
    try {
      assert.deepEqual(await py.pilotage(PLUGIN, HEATER, 200), { state: 'ACK', value: 200 });
      const reads = await poll(4000);
      assert.ok(reads.length >= 3, `polled ${reads.length} times`);
      assert.deepEqual(reads, reads.map(() => 200), 'the heater stays at 200 while PyMoDAQ asks, for twice hold_s');
      const held = await v1.pinState(HEATER);
      assert.notEqual(held['lease'], null, JSON.stringify(held));
      assert.deepEqual(v1.events.filter(isHeaterExpiry), [], 'no expiry while PyMoDAQ asks');

      const expired = await v1.event(isHeaterExpiry, 'lease_expired for the heater after PyMoDAQ went silent', 20_000);
      assert.equal(expired['name'], 'heater');
      assert.equal(expired['value'], 0);
      assert.equal(Math.round((expired['held'] as number) * 255), 200, JSON.stringify(expired));
      const after = await v1.pinState(HEATER);
      assert.equal(after['duty'], 0);
      assert.equal(after['lease'], null);
      assert.equal(await heater(), 0, "PyMoDAQ's next AQ reads the safe value");
      await eventually(() => (device.stderr().includes('lease on pin 23 (heater) ended: restored 0') ? true : undefined), 'the log line', 10_000);
    } finally {
      v1.close();
    }
  });

  test('a PI of the safe value ends the lease at once, with no event', async () => {
    const { py, device } = setup();
    const v1 = await V1Client.connect(device.port);
    try {
      assert.equal(ack(await py.pilotage(PLUGIN, HEATER, 150)), 150);
      const leased = await v1.pinState(HEATER);
      const lease = leased['lease'] as JsonObject | null;
      assert.ok(lease !== null && Math.round((lease['value'] as number) * 255) === 150, JSON.stringify(leased));
      assert.ok((lease['expires_in_s'] as number) <= HOLD_S, `a lease of hold_s: ${JSON.stringify(leased)}`);

      assert.deepEqual(await py.pilotage(PLUGIN, HEATER, 0), { state: 'ACK', value: 0 });
      const ended = await v1.pinState(HEATER);
      assert.equal(ended['duty'], 0);
      assert.equal(ended['lease'], null, 'ended at once');
      const state = await v1.request({ action: 'get_state' });
      assert.deepEqual((state['leases'] as JsonObject[]).filter((l) => l['pin'] === HEATER), []);

      // Past hold_s and a renewal interval: a lease left behind would have expired by now and said so.
      const events = await v1.eventsAfter((HOLD_S + 1.5) * 1000);
      assert.deepEqual(events.filter(isHeaterExpiry), [], 'writing the safe value ends the lease without an event');
    } finally {
      v1.close();
    }
  });

  test("a protocol v1 write to the heater takes over: PyMoDAQ's requests no longer renew anything on it", async () => {
    const { py, device } = setup();
    const v1 = await V1Client.connect(device.port);
    try {
      assert.equal(ack(await py.pilotage(PLUGIN, HEATER, 200)), 200);
      const write = await v1.request({ action: 'pwm', pin: HEATER, freq: 100, duty: 0.4, timeout: 3 });
      assert.equal(write['ok'], true, JSON.stringify(write));

      // PyMoDAQ keeps grabbing through the v1 lease and beyond: it reads the v1 value, then the
      // safe value once that lease ends, and never its own 200 again.
      let expiredAt: number | undefined;
      let stop = false;
      const polling = poll(30_000, () => stop || (expiredAt !== undefined && Date.now() - expiredAt > (HOLD_S + 2) * 1000));
      let expired: JsonObject;
      let reads: number[];
      try {
        expired = await v1.event(isHeaterExpiry, "lease_expired for the v1 client's lease while PyMoDAQ keeps asking", 20_000);
        expiredAt = Date.now();
      } finally {
        // A failure must not leave the loop polling.
        stop = expiredAt === undefined;
        reads = await polling;
      }

      assert.equal(expired['value'], 0);
      assert.equal(Math.round((expired['held'] as number) * 255), 102, `the v1 lease ended, not PyMoDAQ's: ${JSON.stringify(expired)}`);
      assert.deepEqual(reads.filter((r) => r !== 102 && r !== 0), [], `PyMoDAQ read the v1 value, then the safe value: ${JSON.stringify(reads)}`);
      const firstSafe = reads.indexOf(0);
      assert.ok(firstSafe >= 0, `back to the safe value while PyMoDAQ kept asking: ${JSON.stringify(reads)}`);
      assert.deepEqual(reads.slice(firstSafe).filter((r) => r !== 0), [], `nothing brought a value back: ${JSON.stringify(reads)}`);
      assert.ok(reads.length - firstSafe >= 3, `PyMoDAQ kept asking after the expiry: ${JSON.stringify(reads)}`);
      const after = await v1.pinState(HEATER);
      assert.equal(after['duty'], 0);
      assert.equal(after['lease'], null);
      assert.equal(v1.events.filter(isHeaterExpiry).length, 1, `one expiry, of the v1 lease: ${JSON.stringify(v1.events)}`);
    } finally {
      v1.close();
    }
  });

  test('renewals come every hold_s/10 at most, however often PyMoDAQ asks, and keep the lease near hold_s', async () => {
    const { py, device } = setup();
    const v1 = await V1Client.connect(device.port);
    try {
      assert.equal(ack(await py.pilotage(PLUGIN, HEATER, 120)), 120);
      // Asked every ~100 ms for 3 s, a lease of 2 s renewed at most every 200 ms shows some time
      // used between renewals, and never much more than that (load spaces requests out; hence the margin).
      const seen: number[] = [];
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        assert.equal(await heater(), 120);
        const lease = (await v1.pinState(HEATER))['lease'] as JsonObject | null;
        assert.ok(lease !== null, 'held while PyMoDAQ asks');
        seen.push(lease['expires_in_s'] as number);
        await sleep(100);
      }
      assert.ok(Math.min(...seen) < HOLD_S - 0.05, `renewed on every request: the lease never showed time used (${seen.join(', ')})`);
      assert.ok(Math.min(...seen) > HOLD_S - 1, `renewed too seldom: ${Math.min(...seen)} s left of ${HOLD_S} s`);
    } finally {
      await py.pilotage(PLUGIN, HEATER, 0);
      v1.close();
    }
  });
});
