// DHT sensors through a prepared /sys/bus/iio: finding the device by GPIO, milli-units, the
// retries a real DHT needs, and the overlay line when there is none.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../../../src/common/clock.js';
import { IioDht } from '../../../src/device/backends/linux/iio-dht.js';
import { SensorFault } from '../../../src/device/drivers/types.js';
import { errno, ofGpios, tempRoots, withClock, writeTree, type TempRoots } from './fake-sysfs.js';

void describe('IioDht', { timeout: 30_000 }, () => {
  let roots: TempRoots;
  const iio = () => join(roots.sys, 'bus/iio/devices');
  beforeEach(() => {
    roots = tempRoots();
    writeTree(iio(), {
      'iio:device0': { name: 'mcp3008\n', in_voltage0_raw: '512\n' },
      // The overlay puts the GPIO in the node's unit address, in hex: GPIO 17 is dht11@11.
      'iio:device1': { name: 'dht11@11\n', in_temp_input: '21300\n', in_humidityrelative_input: '45600\n' },
      'iio:device2': { name: 'dht11@4\n', in_temp_input: '-4200\n', in_humidityrelative_input: '88000\n' },
    });
  });
  afterEach(() => roots.cleanup());

  void test('finds the device by the GPIO in its name and reads milli-°C and milli-%', async () => {
    const dht = new IioDht({ roots, clock: new ManualClock() });
    assert.deepEqual(await dht.read(17), { temperature: 21.3, humidity: 45.6 });
    assert.deepEqual(await dht.read(4), { temperature: -4.2, humidity: 88 });
  });

  void test('the device-tree gpios property wins over the name (older overlays name every node dht11@0)', async () => {
    writeTree(iio(), { 'iio:device3': { name: 'dht11@0\n', of_node: { gpios: ofGpios(22) }, in_temp_input: '30000\n', in_humidityrelative_input: '40000\n' } });
    const dht = new IioDht({ roots, clock: new ManualClock() });
    assert.deepEqual(await dht.read(22), { temperature: 30, humidity: 40 });
    await assert.rejects(dht.read(0), /no DHT sensor on GPIO 0/);
  });

  void test('retries a failed read after 2 s, and returns the first good one', async () => {
    const clock = new ManualClock();
    let failures = 2;
    const reads: number[] = [];
    const readFileFlaky = (path: string) => {
      if (path.endsWith('in_temp_input')) {
        reads.push(clock.now());
        if (failures-- > 0) return Promise.reject(errno(failures === 1 ? 'ETIMEDOUT' : 'EIO', path));
      }
      return readFile(path);
    };
    const dht = new IioDht({ roots, clock, readFile: readFileFlaky });
    assert.deepEqual(await withClock(clock, dht.read(17), 5000), { temperature: 21.3, humidity: 45.6 });
    assert.equal(reads.length, 3);
    assert.deepEqual([reads[1]! - reads[0]!, reads[2]! - reads[1]!], [2000, 2000]);
  });

  void test('gives up after the last try with a SensorFault naming the pin, the failures and what to check', async () => {
    const clock = new ManualClock();
    const dht = new IioDht({ roots, clock, tries: 3, readFile: (path) => (path.endsWith('_input') ? Promise.reject(errno('ETIMEDOUT', path)) : readFile(path)) });
    await assert.rejects(withClock(clock, dht.read(4), 5000), (err: unknown) => {
      assert.ok(err instanceof SensorFault);
      assert.match(err.message, /^the DHT22 on GPIO 4 \(.*iio:device2\) gave no good reading in 3 tries \(no answer \(ETIMEDOUT\); no answer \(ETIMEDOUT\); no answer \(ETIMEDOUT\)\); check the wiring, its 3\.3 V supply and the 4\.7–10 kΩ pull-up/);
      return true;
    });
  });

  void test('a pin with no DHT device gets the overlay line and what was found', async () => {
    const dht = new IioDht({ roots, clock: new ManualClock() });
    await assert.rejects(
      dht.read(5),
      (err: Error) => /^no DHT sensor on GPIO 5 under .*bus\/iio\/devices \(found dht11@11 on GPIO 17, dht11@4 on GPIO 4\); add dtoverlay=dht11,gpiopin=5 to \/boot\/firmware\/config\.txt and reboot/.test(err.message),
    );
    const empty = tempRoots();
    try {
      await assert.rejects(new IioDht({ roots: empty, clock: new ManualClock() }).read(4), /\(found none\); add dtoverlay=dht11,gpiopin=4/);
    } finally {
      empty.cleanup();
    }
  });
});
