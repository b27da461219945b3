// examples/bench.yaml, the PyMoDAQ thermal bench, run as docs/raspberry-pi.md says to try it
// without the Pi: `tether device --sim --config examples/bench.yaml` (on free ports). Every sensor
// of the file answers with the quantities its driver gives, the heater's PWM is a lease the board
// ends by itself, and the PyMoDAQ port speaks ZeroMQ. (What PyMoDAQ's own client sees there is in
// test/device/pymodaq/.)
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, type BoardClient } from '../../src/client/index.js';
import { loadBoardConfig, type BoardConfig } from '../../src/device/config.js';
import { SENSOR_DRIVERS } from '../../src/device/drivers/sensors/index.js';
import { BENCH_CONFIG, startPymodaqDevice, type DeviceProcess } from '../support/pymodaq.js';
import { eventually } from '../support/test-hub.js';

/** The first bytes a ZeroMQ peer sends on a new connection (ZMTP 3 greeting: signature). */
async function greeting(port: number): Promise<Buffer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 10) resolve(got);
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`closed after ${got.length} bytes`)));
    });
  } finally {
    socket.destroy();
  }
}

describe('examples/bench.yaml under --sim', { timeout: 60_000 }, () => {
  let config: Readonly<BoardConfig>;
  let device: DeviceProcess;
  let client: BoardClient;

  before(async () => {
    config = await loadBoardConfig(BENCH_CONFIG);
    device = await startPymodaqDevice();
    client = await connect({ host: '127.0.0.1', port: device.port });
  });

  after(async () => {
    await client?.close();
    await device?.stop();
  });

  test('every sensor of the file reads, with the quantities its driver gives', async () => {
    assert.deepEqual((await client.listSensors()).map((s) => s.name), config.sensors.map((s) => s.name));
    for (const sensor of config.sensors) {
      const reading = await client.readSensor(sensor.name);
      const driver = SENSOR_DRIVERS[sensor.driver];
      assert.ok(driver !== undefined, `${sensor.name}: no driver ${sensor.driver}`);
      assert.deepEqual(Object.keys(reading.values).sort(), Object.keys(driver.quantities).sort(), sensor.name);
      for (const [quantity, value] of Object.entries(reading.values)) assert.ok(Number.isFinite(value), `${sensor.name}.${quantity}: ${String(value)}`);
    }
  });

  test('the heater runs under a lease and the board turns it off when the lease ends', async () => {
    const heater = config.actuators.find((a) => a.name === 'heater');
    assert.ok(heater !== undefined);
    const duty = async () => (await client.getState()).pins.find((p) => p['pin'] === heater.pin)?.['duty'];
    await client.pwm(heater.pin, { freq: 100, duty: 0.5, timeout: 1 });
    assert.equal(await duty(), 0.5);
    await eventually(async () => ((await duty()) === 0 ? true : undefined), 'the heater back at its safe duty after its 1 s lease', 10_000);
  });

  test("PyMoDAQ's port answers as a ZeroMQ peer", async () => {
    const bytes = await greeting(device.pymodaqPort);
    assert.equal(bytes[0], 0xff, 'the ZMTP signature starts with 0xFF');
    assert.equal(bytes[9], 0x7f, 'and ends with 0x7F');
  });
});
