// The actuator driver registry; same shape as drivers/sensors/index.ts.
import type { ActuatorDriver } from '../types.js';
import { digital } from './digital.js';
import { pwm } from './pwm.js';

function registry(drivers: readonly ActuatorDriver[]): Readonly<Record<string, ActuatorDriver>> {
  const byId = Object.create(null) as Record<string, ActuatorDriver>;
  for (const d of drivers) {
    if (Object.hasOwn(byId, d.id)) throw new Error(`two actuator drivers are named "${d.id}"`);
    byId[d.id] = d;
  }
  return Object.freeze(byId);
}

export const ACTUATOR_DRIVERS = registry([digital, pwm]);
