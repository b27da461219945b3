// Simulated chips by sensor driver id: sim-hardware.ts puts one on the bus for each I2C
// sensor in the config.
import type { SimChipFactory } from '../sim-i2c.js';
import { SimAds1115 } from './ads1115.js';
import { SimAht10 } from './aht10.js';
import { SimEmc2101 } from './emc2101.js';
import { SimTmp102 } from './tmp102.js';

const factories: Record<string, SimChipFactory> = Object.create(null) as Record<string, SimChipFactory>;
factories['aht10'] = (ctx) => new SimAht10(ctx);
factories['tmp102'] = (ctx) => new SimTmp102(ctx);
factories['emc2101'] = (ctx) => new SimEmc2101(ctx);
factories['pt100_ads1115'] = (ctx) => new SimAds1115(ctx);

export const SIM_CHIPS: Readonly<Record<string, SimChipFactory>> = Object.freeze(factories);

export { SimAds1115, SimAht10, SimEmc2101, SimTmp102 };
