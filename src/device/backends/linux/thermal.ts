// The processor's temperature from the kernel's thermal framework:
// /sys/class/thermal/thermal_zoneN/{type,temp}, temp in millidegrees Celsius. On a Raspberry Pi
// the SoC's zone has type "cpu-thermal"; elsewhere zone 0 is usually the processor.
import { readdir, readFile } from 'node:fs/promises';
import { under, type KernelRoots } from './roots.js';
import { naturalOrder } from './sysfs-io.js';

const CPU_ZONE_TYPE = 'cpu-thermal';

/** The zone folder to read: the one whose type is cpu-thermal, else thermal_zone0; undefined when there is none. */
export async function findCpuThermalZone(roots: KernelRoots): Promise<string | undefined> {
  const base = under(roots.sys, 'class/thermal');
  let zones: string[];
  try {
    zones = (await readdir(base)).filter((n) => /^thermal_zone\d+$/.test(n)).sort(naturalOrder);
  } catch {
    return undefined;
  }
  for (const zone of zones) {
    const type = await readFile(under(base, zone, 'type'), 'utf8').catch(() => '');
    if (type.trim() === CPU_ZONE_TYPE) return under(base, zone);
  }
  return zones[0] === undefined ? undefined : under(base, zones[0]);
}

/** A reader for Hardware.cpuTemperature: °C, two decimals. The zone is looked up once. */
export function cpuTemperatureReader(roots: KernelRoots): () => Promise<number> {
  let zone: Promise<string | undefined> | undefined;
  return async () => {
    zone ??= findCpuThermalZone(roots);
    const dir = await zone;
    if (dir === undefined) throw new Error(`no thermal zone under ${under(roots.sys, 'class/thermal')}: this kernel does not report the processor's temperature; remove the chip_temp sensor from the config`);
    const path = under(dir, 'temp');
    const text = (await readFile(path, 'utf8')).trim();
    const milli = Number.parseInt(text, 10);
    if (!Number.isSafeInteger(milli)) throw new Error(`${path} reads ${JSON.stringify(text)}, not millidegrees`);
    return Math.round(milli / 10) / 100;
  };
}
