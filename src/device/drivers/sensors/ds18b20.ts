// Maxim DS18B20 1-Wire temperature (DS18B20 datasheet), through the backend's 1-Wire access
// (the kernel's w1 drivers on Linux). options: pin (the data line, with a 4.7 kΩ pull-up), rom
// (16 hex digits, bus order) to choose one probe when several share the line. Mirrors
// firmware/tether/drivers/ds18b20.py.
import { z } from 'zod';
import { defineSensor, SensorFault } from '../types.js';
import { pinOption } from './pin-option.js';

export const ds18b20Options = z.strictObject({
  pin: pinOption,
  rom: z
    .string()
    .regex(/^[0-9a-fA-F]{16}$/, { error: 'options.rom is the 64-bit ROM code as 16 hex digits' })
    .transform((s) => s.toLowerCase())
    .optional(),
});

export const ds18b20 = defineSensor({
  id: 'ds18b20',
  summary: 'Maxim DS18B20 temperature on a 1-Wire data pin, 0.0625 °C steps',
  bus: 'pin',
  addresses: [],
  quantities: { temperature: '°C' },
  optionsSchema: ds18b20Options,
  create({ hardware, options }) {
    const { pin, rom: wanted } = options;
    let rom: string | undefined;
    const bus = () => {
      if (hardware.oneWire === undefined) throw new Error('this board has no 1-Wire access; remove the ds18b20 sensor from the config');
      return hardware.oneWire;
    };
    return {
      async init() {
        const roms = (await bus().scan(pin)).map((r) => r.toLowerCase());
        const where = `on pin ${pin}`;
        if (roms.length === 0) throw new SensorFault(`no DS18B20 answers ${where}; check the wiring, the 3.3 V supply and the 4.7 kΩ pull-up on the data line`);
        if (wanted !== undefined) {
          if (!roms.includes(wanted)) throw new SensorFault(`no DS18B20 with ROM ${wanted} ${where}; found ${roms.join(', ')}`);
          rom = wanted;
          return;
        }
        if (roms.length > 1) throw new SensorFault(`${roms.length} DS18B20s answer ${where} (${roms.join(', ')}); choose one with options.rom`);
        rom = roms[0];
      },
      async read() {
        if (rom === undefined) throw new SensorFault('the DS18B20 was not found at start; restart the board once it is connected');
        return { temperature: await bus().readCelsius(pin, rom) };
      },
    };
  },
});
