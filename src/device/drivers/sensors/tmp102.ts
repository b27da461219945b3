// TI TMP102 temperature (TMP102 datasheet, temperature and configuration
// register tables).
import { z } from 'zod';
import { hex } from '../../hex.js';
import { defineSensor, SensorFault } from '../types.js';

const REG_TEMPERATURE = 0x00;
const REG_CONFIG = 0x01;
/** Config byte 2, bit 4: extended (13-bit) mode. */
const CONFIG_EM = 0x10;

export const tmp102Options = z.strictObject({});

export const tmp102 = defineSensor({
  id: 'tmp102',
  summary: 'TI TMP102 temperature, 0.0625 °C steps (I2C)',
  bus: 'i2c',
  addresses: [0x48, 0x49, 0x4a, 0x4b],
  quantities: { temperature: '°C' },
  optionsSchema: tmp102Options,
  create({ bus, address = 0x48 }) {
    if (bus === undefined) throw new Error('tmp102 needs an I2C bus');
    let extended = false;
    return {
      async init() {
        const [c1 = 0, c2 = 0] = await bus.writeRead(address, Uint8Array.of(REG_CONFIG), 2);
        // R1:R0 (byte 1, bits 6:5) read as 11 and byte 2 bits 3:0 as 0 on every TMP102.
        if ((c1 & 0x60) !== 0x60 || (c2 & 0x0f) !== 0) {
          throw new SensorFault(`the configuration register reads ${hex(c1)} ${hex(c2)}, which no TMP102 returns; is another chip (an ADS1115?) at this address?`);
        }
        extended = (c2 & CONFIG_EM) !== 0;
      },
      async read() {
        const b = await bus.writeRead(address, Uint8Array.of(REG_TEMPERATURE), 2);
        return { temperature: decodeTmp102(b, extended) };
      },
    };
  },
});

/** Big-endian on the wire; 12-bit two's complement, or 13-bit in extended mode; 0.0625 °C/LSB. */
export function decodeTmp102(b: Uint8Array, extended: boolean): number {
  if (b.length < 2) throw new SensorFault(`expected 2 bytes from the chip, got ${b.length}`);
  const word = ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  const bits = extended ? 13 : 12;
  let raw = word >> (16 - bits);
  if (raw & (1 << (bits - 1))) raw -= 1 << bits;
  return raw * 0.0625;
}
