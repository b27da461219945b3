// The actuator driver registry; same shape as drivers/sensors/index.ts.
import { registry } from '../registry.js';
import { digital } from './digital.js';
import { pwm } from './pwm.js';

export const ACTUATOR_DRIVERS = registry('actuator', [digital, pwm]);
