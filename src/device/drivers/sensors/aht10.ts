// AHT10 temperature + humidity (from the Aosong AHT10 datasheet).
import { z } from 'zod';
import { hex } from '../../hex.js';
import { defineSensor, SensorFault } from '../types.js';

const CMD_SOFT_RESET = 0xba;
const CMD_CALIBRATE = [0xe1, 0x08, 0x00];
const CMD_MEASURE = [0xac, 0x33, 0x00];
const STATUS_BUSY = 0x80;
const STATUS_CALIBRATED = 0x08;
/** The datasheet asks for ≥ 75 ms; 80 gives the chip a little slack. */
const MEASURE_WAIT_MS = 80;
const BUSY_RETRY_MS = 20;
const BUSY_RETRIES = 3;

export const aht10Options = z.strictObject({});

export const aht10 = defineSensor({
  id: 'aht10',
  summary: 'Aosong AHT10 temperature and relative humidity (I2C)',
  bus: 'i2c',
  addresses: [0x38, 0x39],
  quantities: { temperature: '°C', humidity: '%' },
  optionsSchema: aht10Options,
  create({ bus, address = 0x38, clock }) {
    if (bus === undefined) throw new Error('aht10 needs an I2C bus');
    return {
      async init() {
        await bus.write(address, Uint8Array.of(CMD_SOFT_RESET));
        await clock.sleep(20);
        await bus.write(address, Uint8Array.from(CMD_CALIBRATE));
        await clock.sleep(50);
        const [status = 0] = await bus.read(address, 1);
        if ((status & STATUS_CALIBRATED) === 0) {
          throw new SensorFault(`the chip does not report itself calibrated after the 0xE1 command (status ${hex(status)}); power-cycle it, or check that this is an AHT10`);
        }
      },
      async read() {
        await bus.write(address, Uint8Array.from(CMD_MEASURE));
        await clock.sleep(MEASURE_WAIT_MS);
        let b = await bus.read(address, 6);
        for (let retry = 0; isBusy(b) && retry < BUSY_RETRIES; retry++) {
          await clock.sleep(BUSY_RETRY_MS);
          b = await bus.read(address, 6);
        }
        if (isBusy(b)) {
          throw new SensorFault(`still busy ${MEASURE_WAIT_MS + BUSY_RETRIES * BUSY_RETRY_MS} ms after a measurement was triggered; power-cycle the sensor`);
        }
        return decodeAht10(b);
      },
    };
  },
});

function isBusy(b: Uint8Array): boolean {
  return ((b[0] ?? STATUS_BUSY) & STATUS_BUSY) !== 0;
}

/** Decodes the 6 measurement bytes (AHT10 datasheet: 20-bit humidity, then 20-bit temperature). */
export function decodeAht10(b: Uint8Array): { temperature: number; humidity: number } {
  if (b.length < 6) throw new SensorFault(`expected 6 bytes from the chip, got ${b.length}`);
  const [, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0] = b;
  const rawH = (b1 << 12) | (b2 << 4) | (b3 >> 4);
  const rawT = ((b3 & 0x0f) << 16) | (b4 << 8) | b5;
  return { temperature: round2((rawT / 2 ** 20) * 200 - 50), humidity: round2((rawH / 2 ** 20) * 100) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
