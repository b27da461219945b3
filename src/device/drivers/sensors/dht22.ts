// Aosong DHT22 / AM2302 temperature and humidity on one data pin (AM2302 datasheet), through
// the backend's DHT access (the kernel's dht11 IIO driver on Linux). options: pin. The chip
// gives at most one reading every 2 s, so a read sooner than that returns the last one, as
// firmware/tether/drivers/dht22.py does.
import { z } from 'zod';
import { defineSensor, SensorFault, type Values } from '../types.js';
import { pinOption } from './pin-option.js';

/** The DHT22's shortest interval between measurements (datasheet: sampling period ≥ 2 s). */
export const DHT22_MIN_INTERVAL_MS = 2000;

export const dht22Options = z.strictObject({ pin: pinOption });

export const dht22 = defineSensor({
  id: 'dht22',
  summary: 'Aosong DHT22 / AM2302 temperature and humidity on one data pin, at most every 2 s',
  bus: 'pin',
  addresses: [],
  quantities: { temperature: '°C', humidity: '%' },
  optionsSchema: dht22Options,
  create({ hardware, clock, options }) {
    const { pin } = options;
    let last: { at: number; values: Values } | undefined;
    const measure = async (): Promise<Values> => {
      if (hardware.dht === undefined) throw new Error('this board has no DHT access; remove the dht22 sensor from the config');
      const r = await hardware.dht.read(pin);
      const t = roundTo(r.temperature, 10);
      const h = roundTo(r.humidity, 10);
      // The chip's range is -40..80 °C and 0..100 %; beyond that the bits were misread.
      if (!(t >= -40 && t <= 80 && h >= 0 && h <= 100)) {
        throw new SensorFault(`the DHT22 on pin ${pin} reports ${t} °C, ${h} %, which cannot be right; check the cable and the pull-up`);
      }
      last = { at: clock.now(), values: { temperature: t, humidity: h } };
      return { ...last.values };
    };
    return {
      init: async () => void (await measure()),
      read: () => (last !== undefined && clock.now() - last.at < DHT22_MIN_INTERVAL_MS ? Promise.resolve({ ...last.values }) : measure()),
    };
  },
});

/** Halves go up, also below zero, as the firmware's round_to does. */
function roundTo(x: number, scale: number): number {
  return Math.floor(x * scale + 0.5) / scale;
}
