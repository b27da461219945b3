// The sensor driver registry (STYLE.md: registries for drivers). config.ts validates
// `sensors[].driver` against it with Object.hasOwn; the object has no prototype either way.
import { registry } from '../registry.js';
import { aht10 } from './aht10.js';
import { chipTemp } from './chip-temp.js';
import { dht22 } from './dht22.js';
import { ds18b20 } from './ds18b20.js';
import { emc2101 } from './emc2101.js';
import { pt100Ads1115 } from './pt100-ads1115.js';
import { tmp102 } from './tmp102.js';

export const SENSOR_DRIVERS = registry('sensor', [aht10, tmp102, emc2101, pt100Ads1115, chipTemp, ds18b20, dht22]);
