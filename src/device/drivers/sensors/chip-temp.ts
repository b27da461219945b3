// The processor's own temperature: the RP2040's internal ADC channel (RP2040
// datasheet §4.9.5), or, on a board whose ADC has none (a Raspberry Pi), the backend's
// processor temperature (the kernel's CPU thermal zone on Linux).
import { z } from 'zod';
import { defineSensor, SensorFault } from '../types.js';

export const chipTempOptions = z.strictObject({});

export const chipTemp = defineSensor({
  id: 'chip_temp',
  summary: "The processor's internal temperature (RP2040 ADC channel 4, or the CPU thermal zone on Linux)",
  bus: 'internal',
  addresses: [],
  quantities: { temperature: '°C' },
  optionsSchema: chipTempOptions,
  create({ adc, hardware }) {
    const readRaw = (): number => {
      if (adc.readInternalTempU16 === undefined) {
        throw new Error("this board's ADC has no internal temperature channel (chip_temp needs an RP2040's ADC 4) and the board reports no processor temperature; remove the chip_temp sensor from the config");
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
    const cpu = adc.readInternalTempU16 === undefined ? hardware.cpuTemperature : undefined;
    const read = async (): Promise<{ temperature: number }> => {
      if (cpu === undefined) return decode(readRaw());
      const t = await cpu();
      if (!Number.isFinite(t) || t < -60 || t > 150) throw new SensorFault(`the processor's thermal zone reads ${t} °C, which cannot be right`);
      return { temperature: Math.round(t * 100) / 100 };
    };
    return {
      init: () => read().then(() => undefined),
      read,
    };
  },
});
