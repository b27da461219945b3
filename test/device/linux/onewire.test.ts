// DS18B20s through a prepared /sys/bus/w1: ROM codes both ways, both file formats, the faults
// a real bus shows, and the pin check against the w1-gpio bus master.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { LinuxOneWire, parseW1Slave, romFromW1Name, w1NameFromRom } from '../../../src/device/backends/linux/onewire.js';
import { crc8Maxim, romFromParts } from '../../../src/device/drivers/sensors/onewire-rom.js';
import { SensorFault } from '../../../src/device/drivers/types.js';
import { errno, ofGpios, tempRoots, writeTree, type TempRoots } from './fake-sysfs.js';

const A = '28-0000075c1a2b';
const A_ROM = '282b1a5c07000021';
const B = '28-3c01d607e5ff';

void describe('1-Wire ROM codes', { timeout: 30_000 }, () => {
  test('CRC-8 matches Maxim application note 27’s worked example (02 1C B8 01 00 00 00 → A2)', () => {
    assert.equal(crc8Maxim([0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00]), 0xa2);
    assert.equal(crc8Maxim([0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xa2]), 0, 'a ROM with its CRC checks to 0');
    assert.equal(romFromParts(0x02, [0x1c, 0xb8, 0x01, 0, 0, 0]), '021cb801000000a2');
  });

  test('the kernel folder name prints the serial as a number; the ROM code lists the bytes in bus order', () => {
    assert.equal(romFromW1Name(A), A_ROM);
    assert.equal(w1NameFromRom(A_ROM), A);
    assert.equal(w1NameFromRom(A_ROM.toUpperCase()), A);
    for (const name of [B, '28-000000000001', '28-ffffffffffff']) assert.equal(w1NameFromRom(romFromW1Name(name)), name);
    assert.throws(() => w1NameFromRom('282b1a5c07000022'), /fails its CRC \(the last byte should be 21\)/);
    assert.throws(() => w1NameFromRom('021cb801000000a2'), /family code 02, not 28/);
    assert.throws(() => w1NameFromRom('28-0000075c1a2b'), /16 hex digits/);
    assert.throws(() => romFromW1Name('w1_bus_master1'), /not a 1-Wire device name/);
  });
});

void describe('LinuxOneWire', { timeout: 30_000 }, () => {
  let roots: TempRoots;
  const devices = () => join(roots.sys, 'bus/w1/devices');
  beforeEach(() => {
    roots = tempRoots();
    writeTree(devices(), {
      w1_bus_master1: { w1_master_slaves: `${A}\n${B}\n` },
      [A]: { temperature: '23125\n', w1_slave: '72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n' },
      // An older kernel: w1_slave only.
      [B]: { w1_slave: 'e8 ff 4b 46 7f ff 0c 10 5a : crc=5a YES\ne8 ff 4b 46 7f ff 0c 10 5a t=-1500\n' },
      '10-000802b4a1c3': { w1_slave: '' },
    });
  });
  afterEach(() => roots.cleanup());

  void test('scan lists the DS18B20s (family 28 only) as ROM codes; reads use temperature, or else w1_slave', async () => {
    const ow = new LinuxOneWire({ roots });
    assert.deepEqual(await ow.scan(4), [A_ROM, romFromW1Name(B)]);
    assert.equal(await ow.readCelsius(4, A_ROM), 23.125);
    assert.equal(await ow.readCelsius(4, romFromW1Name(B)), -1.5);
  });

  void test('a failed CRC, an all-zero scratchpad and the 85 °C power-on value are SensorFaults saying what to check', async () => {
    const ow = new LinuxOneWire({ roots });
    const rom = romFromW1Name(B);
    writeTree(join(devices(), B), { w1_slave: 'ff ff ff ff ff ff ff ff ff : crc=c9 NO\nff ff ff ff ff ff ff ff ff t=-62\n' });
    await assert.rejects(ow.readCelsius(4, rom), (err: unknown) => err instanceof SensorFault && err.message.includes(`DS18B20 ${rom}`) && /fails its CRC; check the cable, the contacts and the 4\.7 kΩ pull-up/.test(err.message));
    writeTree(join(devices(), B), { w1_slave: '00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n' });
    await assert.rejects(ow.readCelsius(4, rom), /reads all zeros: it is not answering; check its VDD and data wires/);
    writeTree(join(devices(), A), { temperature: '85000\n' });
    await assert.rejects(ow.readCelsius(4, A_ROM), (err: unknown) => err instanceof SensorFault && /85 °C, its power-on value/.test(err.message));
  });

  void test('an empty temperature (a bulk conversion pending) falls back to w1_slave', async () => {
    writeTree(join(devices(), A), { temperature: '' });
    assert.equal(await new LinuxOneWire({ roots }).readCelsius(4, A_ROM), 23.125);
  });

  void test('a read error (EIO) and a probe that left the bus are SensorFaults naming it', async () => {
    const failing = new LinuxOneWire({ roots, readFile: (path) => Promise.reject(errno(path.endsWith('temperature') ? 'EIO' : 'ENOENT', path)) });
    await assert.rejects(failing.readCelsius(4, A_ROM), (err: unknown) => err instanceof SensorFault && /did not answer \(EIO\); check the cable/.test(err.message));
    const ow = new LinuxOneWire({ roots });
    const gone = romFromParts(0x28, [1, 2, 3, 4, 5, 6]);
    await assert.rejects(ow.readCelsius(4, gone), (err: unknown) => err instanceof SensorFault && err.message.includes(`DS18B20 ${gone}`) && err.message.includes(`is not on the 1-Wire bus any more (found ${A_ROM}, ${romFromW1Name(B)})`));
  });

  void test('with no /sys/bus/w1 the error gives the overlay line', async () => {
    const empty = tempRoots();
    try {
      await assert.rejects(new LinuxOneWire({ roots: empty }).scan(4), /no 1-Wire bus: .*bus\/w1\/devices does not exist; add dtoverlay=w1-gpio,gpiopin=N .* to \/boot\/firmware\/config\.txt and reboot/);
    } finally {
      empty.cleanup();
    }
  });

  void test('the pin is checked against the w1-gpio bus master’s device-tree GPIO where sysfs shows it', async () => {
    writeTree(join(roots.sys, 'bus/platform/drivers/w1-gpio'), { 'onewire@4': { of_node: { gpios: ofGpios(4) } }, bind: '', uevent: '' });
    const ow = new LinuxOneWire({ roots });
    assert.equal((await ow.scan(4)).length, 2);
    await assert.rejects(ow.scan(22), /the 1-Wire bus is on GPIO 4 \(dtoverlay=w1-gpio,gpiopin=4\), not on pin 22: set options\.pin to 4, or change the line .* to dtoverlay=w1-gpio,gpiopin=22 and reboot/);
    await assert.rejects(ow.readCelsius(22, A_ROM), /not on pin 22/);
  });

  test('parseW1Slave reads t= only after a YES', () => {
    assert.equal(parseW1Slave('50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n', 'x'), 85000);
    assert.throws(() => parseW1Slave('garbage', 'probe x'), /probe x: w1_slave reads "garbage"/);
    assert.throws(() => parseW1Slave('50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n', 'probe x'), /no t= value/);
  });
});
