// The ready-made board `tether device --sim` starts with when no config is given: the
// PyMoDAQ thermal bench plus the piconetcontrol LED pin and a PIR input.
export const DEMO_BOARD_CONFIG = {
  name: 'demo',
  board: 'Tether simulated board (demo bench)',
  listen: { host: '127.0.0.1', port: 12345 },
  // No token, as README's first steps need; it listens on loopback, and the runtime warns when
  // --host puts it on a network.
  auth: 'none',
  max_lease_s: 3600,
  gpio: { pin_count: 30 },
  adc: { pins: [26, 27, 28], vref: 3.3 },
  i2c: [{ bus: 0, sda: 4, scl: 5, freq: 400_000 }],
  pins: [
    { pin: 25, name: 'led', mode: 'output', value: 0 },
    { pin: 22, name: 'pir', mode: 'input', pull: 'down' },
  ],
  actuators: [
    { name: 'fan', driver: 'pwm', pin: 18, safe_value: 0, units: '%', options: { freq: 25_000 } },
    { name: 'heater', driver: 'pwm', pin: 23, safe_value: 0, max_lease_s: 600, units: '%', options: { freq: 100 } },
    { name: 'relay', driver: 'digital', pin: 15, safe_value: 0, max_lease_s: 600, options: { active_low: true } },
  ],
  sensors: [
    { name: 'air', driver: 'aht10', bus: 0, address: '0x38' },
    { name: 't_heater', driver: 'tmp102', bus: 0, address: '0x48' },
    { name: 't_sink', driver: 'tmp102', bus: 0, address: '0x49' },
    { name: 't_emc', driver: 'emc2101', bus: 0, address: '0x4c' },
    { name: 'pt100', driver: 'pt100_ads1115', bus: 0, address: '0x4a' },
    { name: 'chip', driver: 'chip_temp' },
  ],
  sim: { seed: 1, pir: [{ pin: 22, mean_interval_s: 20, hold_s: 3 }] },
} as const;

/** A porch board for `tether demo`: a motion sensor, a lamp and its chip temperature. */
export const PORCH_BOARD_CONFIG = {
  name: 'porch',
  board: 'Tether simulated board (porch)',
  listen: { host: '127.0.0.1', port: 0 },
  auth: 'none',
  gpio: { pin_count: 30 },
  pins: [
    { pin: 25, name: 'lamp', mode: 'output', value: 0 },
    { pin: 22, name: 'motion', mode: 'input', pull: 'down' },
  ],
  sensors: [{ name: 'chip', driver: 'chip_temp' }],
  sim: { seed: 3, pir: [{ pin: 22, mean_interval_s: 8, hold_s: 2 }] },
} as const;
