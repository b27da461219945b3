// The data pin of a sensor on a pin of its own (1-Wire, DHT), as `options.pin` in the config;
// the same rule as the firmware's pin_option (firmware/tether/drivers/common.py).
import { z } from 'zod';

export const pinOption = z
  .number({ error: 'options.pin is required: the GPIO number of the data line' })
  .int({ error: 'expected a whole GPIO number' })
  .min(0, { error: 'expected a GPIO number ≥ 0' })
  .max(255, { error: 'expected a GPIO number ≤ 255' });
