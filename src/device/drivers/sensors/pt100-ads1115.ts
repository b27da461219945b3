// PT-100 in a voltage divider, read by a TI ADS1115 (ADS1115 datasheet, config register table).
import { z } from 'zod';
import { defineSensor, SensorFault } from '../types.js';

const REG_CONVERSION = 0x00;
const REG_CONFIG = 0x01;
/** Config: OS=1 start, PGA ±4.096 V (001), single-shot, 128 SPS (100), comparator off (11). */
const CONFIG_OS = 0x8000;
const CONFIG_BASE = CONFIG_OS | (0b001 << 9) | 0x0100 | (0b100 << 5) | 0b11;
/** MUX 1xx = AINx against GND. */
const muxSingleEnded = (channel: number): number => (0b100 | channel) << 12;
/** One conversion at 128 SPS takes 7.8 ms. */
const CONVERSION_WAIT_MS = 10;
const POLL_MS = 2;
const POLL_TRIES = 5;
const R0 = 100;
const ALPHA = 0.00385;

export const pt100Ads1115Options = z.strictObject({
  /** ADS1115 input the divider's midpoint is wired to (AIN0–AIN3). */
  channel: z.number().int().min(0).max(3).default(0),
  /** The fixed resistor between the supply and the PT-100, in ohms. */
  divider_ohms: z.number().positive().default(97.7),
  /** The divider's supply voltage. */
  supply_v: z.number().positive().default(3.29),
  /** The conversion result that means the full supply voltage (bench calibration). */
  counts_per_supply: z.number().positive().default(26300),
});
export type Pt100Ads1115Options = z.output<typeof pt100Ads1115Options>;

export const pt100Ads1115 = defineSensor({
  id: 'pt100_ads1115',
  summary: 'PT-100 RTD in a divider read by a TI ADS1115 16-bit ADC (I2C)',
  bus: 'i2c',
  addresses: [0x48, 0x49, 0x4a, 0x4b],
  quantities: { temperature: '°C' },
  optionsSchema: pt100Ads1115Options,
  create({ bus, address = 0x48, clock, options }) {
    if (bus === undefined) throw new Error('pt100_ads1115 needs an I2C bus');
    const config = CONFIG_BASE | muxSingleEnded(options.channel);
    const readWord = async (reg: number): Promise<number> => {
      const b = await bus.writeRead(address, Uint8Array.of(reg), 2);
      return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
    };
    return {
      async init() {
        // Probe: the config register must answer (a missing chip throws BusError here).
        await readWord(REG_CONFIG);
      },
      async read() {
        await bus.write(address, Uint8Array.of(REG_CONFIG, config >> 8, config & 0xff));
        await clock.sleep(CONVERSION_WAIT_MS);
        let tries = 0;
        while (((await readWord(REG_CONFIG)) & CONFIG_OS) === 0) {
          if (++tries > POLL_TRIES) throw new SensorFault(`the conversion did not finish within ${CONVERSION_WAIT_MS + POLL_TRIES * POLL_MS} ms`);
          await clock.sleep(POLL_MS);
        }
        const word = await readWord(REG_CONVERSION);
        return { temperature: pt100Temperature(word & 0x8000 ? word - 0x10000 : word, options) };
      },
    };
  },
});

/** The PyMoDAQ thermal bench's formulas: counts → volts → ohms → °C (α = 0.00385). */
export function pt100Temperature(raw: number, o: Omit<Pt100Ads1115Options, 'channel'>): number {
  const v = (raw / o.counts_per_supply) * o.supply_v;
  if (v >= o.supply_v) {
    throw new SensorFault(`the divider reads ${v.toFixed(3)} V, the full supply: open circuit? Check the PT-100 and its wiring to AIN`);
  }
  if (v <= 0) {
    throw new SensorFault(`the divider reads ${v.toFixed(3)} V: short circuit, or the PT-100 is on another AIN channel?`);
  }
  const r = (v * o.divider_ohms) / (o.supply_v - v);
  return Math.round(((r - R0) / (R0 * ALPHA)) * 100) / 100;
}
