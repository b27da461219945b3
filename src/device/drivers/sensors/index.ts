// The sensor driver registry (STYLE.md: registries for drivers). config.ts validates
// `sensors[].driver` against it with Object.hasOwn; the object has no prototype either way.
import type { SensorDriver } from '../types.js';
import { aht10 } from './aht10.js';
import { chipTemp } from './chip-temp.js';
import { emc2101 } from './emc2101.js';
import { pt100Ads1115 } from './pt100-ads1115.js';
import { tmp102 } from './tmp102.js';

function registry(drivers: readonly SensorDriver[]): Readonly<Record<string, SensorDriver>> {
  const byId = Object.create(null) as Record<string, SensorDriver>;
  for (const d of drivers) {
    if (Object.hasOwn(byId, d.id)) throw new Error(`two sensor drivers are named "${d.id}"`);
    byId[d.id] = d;
  }
  return Object.freeze(byId);
}

export const SENSOR_DRIVERS = registry([aht10, tmp102, emc2101, pt100Ads1115, chipTemp]);
