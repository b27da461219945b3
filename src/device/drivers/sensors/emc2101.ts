// Microchip EMC2101 fan controller: internal and external-diode temperatures (EMC2101
// datasheet, register set).
import { z } from 'zod';
import { hex } from '../../hex.js';
import { defineSensor, SensorFault } from '../types.js';

const REG_INTERNAL = 0x00;
const REG_EXTERNAL_HIGH = 0x01;
const REG_EXTERNAL_LOW = 0x10;
const REG_PRODUCT_ID = 0xfd;
const REG_MANUFACTURER_ID = 0xfe;
const MANUFACTURER_SMSC = 0x5d;
/** EMC2101 and EMC2101-R. */
const PRODUCT_IDS = [0x16, 0x28];
/** The external reading the chip substitutes when its diode is open or shorted (11-bit codes). */
const EXTERNAL_OPEN = 0x3f8;
const EXTERNAL_SHORT = 0x3ff;

export const emc2101Options = z.strictObject({});

export const emc2101 = defineSensor({
  id: 'emc2101',
  summary: 'Microchip EMC2101 internal and external-diode temperature (I2C)',
  bus: 'i2c',
  addresses: [0x4c],
  quantities: { temperature: '°C', external_temperature: '°C' },
  optionsSchema: emc2101Options,
  create({ bus, address = 0x4c }) {
    if (bus === undefined) throw new Error('emc2101 needs an I2C bus');
    const readRegister = async (reg: number): Promise<number> => {
      const [value = 0] = await bus.writeRead(address, Uint8Array.of(reg), 1);
      return value;
    };
    return {
      async init() {
        const manufacturer = await readRegister(REG_MANUFACTURER_ID);
        const product = await readRegister(REG_PRODUCT_ID);
        if (manufacturer !== MANUFACTURER_SMSC || !PRODUCT_IDS.includes(product)) {
          throw new SensorFault(`manufacturer/product ID ${hex(manufacturer)}/${hex(product)} is not an EMC2101 (expected 0x5d/0x16 or 0x5d/0x28)`);
        }
      },
      async read() {
        const internal = await readRegister(REG_INTERNAL);
        // Reading the high byte latches the low byte, so high goes first.
        const high = await readRegister(REG_EXTERNAL_HIGH);
        const low = await readRegister(REG_EXTERNAL_LOW);
        const code = (high << 3) | (low >> 5);
        if (code === EXTERNAL_OPEN || code === EXTERNAL_SHORT) {
          throw new SensorFault(`the external diode reads ${code === EXTERNAL_OPEN ? 'open' : 'shorted'} (${hex(high)} ${hex(low)}); check the diode wiring on DP/DN`);
        }
        return { temperature: int8(internal), external_temperature: int8(high) + (low >> 5) * 0.125 };
      },
    };
  },
});

function int8(b: number): number {
  return b & 0x80 ? b - 0x100 : b;
}
