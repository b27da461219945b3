// The microcontroller's own temperature sensor (sensors.md §RP2040 on-chip temperature).
import { z } from 'zod';
import { defineSensor, SensorFault } from '../types.js';

export const chipTempOptions = z.strictObject({});

export const chipTemp = defineSensor({
  id: 'chip_temp',
  summary: "The microcontroller's internal temperature sensor (RP2040 ADC channel 4)",
  bus: 'adc',
  addresses: [],
  quantities: { temperature: '°C' },
  optionsSchema: chipTempOptions,
  create({ adc }) {
    const readRaw = (): number => {
      if (adc.readInternalTempU16 === undefined) {
        throw new Error("this board's ADC has no internal temperature channel (chip_temp needs an RP2040's ADC 4); remove the chip_temp sensor from the config");
      }
      return adc.readInternalTempU16();
    };
    const decode = (raw: number): { temperature: number } => {
      const v = (raw * adc.vref) / 65535;
      const t = 27 - (v - 0.706) / 0.001721;
      // The RP2040 is specified for −40…85 °C; anything far outside is a bad reading.
      if (t < -60 || t > 150) {
        throw new SensorFault(`the internal channel reads ${raw} (${t.toFixed(1)} °C), which cannot be right; check adc.vref in the config`);
      }
      return { temperature: Math.round(t * 100) / 100 };
    };
    return {
      init: () => Promise.resolve().then(() => void readRaw()),
      read: () => Promise.resolve().then(() => decode(readRaw())),
    };
  },
});
