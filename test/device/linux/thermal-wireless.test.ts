// The CPU thermal zone and the WiFi signal, from prepared /sys and /proc folders.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { cpuTemperatureReader, findCpuThermalZone } from '../../../src/device/backends/linux/thermal.js';
import { parseProcNetWireless, wifiSignal } from '../../../src/device/backends/linux/wireless.js';
import { tempRoots, writeTree, type TempRoots } from './fake-sysfs.js';

// As net/wireless/wext-proc.c prints it: "%6s: %04x  %3d%c  %3d%c  %3d%c  %6d …".
const PROC_NET_WIRELESS =
  'Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n' +
  ' face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n' +
  ' wlan0: 0000   70.  -40.  -256        0      0      0      0      0        0\n' +
  'wlx00c0ca1a2b3c: 0000   41.  -69   -256        0      0      0     12      0        0\n' +
  '  wlan2: 0000    0     0     0        0      0      0      0      0        0\n';

void describe('CPU temperature', { timeout: 30_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => (roots = tempRoots()));
  afterEach(() => roots.cleanup());

  void test('reads the zone whose type is cpu-thermal, in °C', async () => {
    writeTree(join(roots.sys, 'class/thermal'), {
      thermal_zone0: { type: 'gpu-thermal\n', temp: '38000\n' },
      thermal_zone1: { type: 'cpu-thermal\n', temp: '47234\n' },
      cooling_device0: { type: 'pwm-fan\n' },
    });
    assert.equal(await findCpuThermalZone(roots), join(roots.sys, 'class/thermal/thermal_zone1'));
    assert.equal(await cpuTemperatureReader(roots)(), 47.23);
  });

  void test('falls back to zone 0, and says so when there is no zone at all', async () => {
    writeTree(join(roots.sys, 'class/thermal'), { thermal_zone0: { type: 'x86_pkg_temp\n', temp: '-1500\n' }, thermal_zone10: { type: 'acpitz\n', temp: '1\n' } });
    assert.equal(await cpuTemperatureReader(roots)(), -1.5);
    const empty = tempRoots();
    try {
      await assert.rejects(cpuTemperatureReader(empty)(), /no thermal zone under .*class\/thermal: this kernel does not report the processor's temperature/);
    } finally {
      empty.cleanup();
    }
  });

  void test('a temp file that is not a number is an error naming it', async () => {
    writeTree(join(roots.sys, 'class/thermal'), { thermal_zone0: { type: 'cpu-thermal\n', temp: 'N/A\n' } });
    await assert.rejects(cpuTemperatureReader(roots)(), /thermal_zone0\/temp reads "N\/A", not millidegrees/);
  });
});

void describe('WiFi signal', { timeout: 30_000 }, () => {
  let roots: TempRoots;
  beforeEach(() => (roots = tempRoots()));
  afterEach(() => roots.cleanup());

  test('parses the file past its two header lines, with and without the trailing dot', () => {
    assert.deepEqual(parseProcNetWireless(PROC_NET_WIRELESS), [
      { iface: 'wlan0', status: 0, link: 70, level: -40, noise: -256 },
      { iface: 'wlx00c0ca1a2b3c', status: 0, link: 41, level: -69, noise: -256 },
      { iface: 'wlan2', status: 0, link: 0, level: 0, noise: 0 },
    ]);
  });

  void test('gives the first interface’s level, or the configured one’s; no link, no interface, no file → undefined', () => {
    writeTree(join(roots.proc, 'net'), { wireless: PROC_NET_WIRELESS });
    assert.equal(wifiSignal(roots), -40);
    assert.equal(wifiSignal(roots, 'wlx00c0ca1a2b3c'), -69);
    assert.equal(wifiSignal(roots, 'wlan2'), undefined, 'an interface that is not associated shows level 0');
    assert.equal(wifiSignal(roots, 'eth0'), undefined);
    writeTree(join(roots.proc, 'net'), { wireless: PROC_NET_WIRELESS.split('\n').slice(0, 2).join('\n') + '\n' });
    assert.equal(wifiSignal(roots), undefined, 'no wireless interface listed');
    const empty = tempRoots();
    try {
      assert.equal(wifiSignal(empty), undefined);
    } finally {
      empty.cleanup();
    }
  });
});
