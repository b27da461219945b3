// Which board this is, from the device tree's model string (the same text `cat
// /proc/device-tree/model` prints). The PWM map differs between the Raspberry Pi 5 (PWM on the
// RP1 chip) and the earlier Pis (PWM in the BCM283x/BCM2711 SoC).
import { under, type KernelRoots } from './roots.js';
import { nodeSysfsIo, type SysfsIo } from './sysfs-io.js';

/** "pi5": the BCM2712 boards (Pi 5, Pi 500, Compute Module 5); "pi": Pi 0–4; "other": anything else. */
export type BoardKind = 'pi5' | 'pi' | 'other';

export interface BoardModel {
  /** The model string, e.g. "Raspberry Pi 4 Model B Rev 1.4"; undefined without a device tree. */
  readonly model: string | undefined;
  readonly kind: BoardKind;
}

export function boardKind(model: string | undefined): BoardKind {
  if (model === undefined || !model.startsWith('Raspberry Pi')) return 'other';
  return /^Raspberry Pi (5|500|Compute Module 5)\b/.test(model) ? 'pi5' : 'pi';
}

export function detectBoardModel(roots: KernelRoots, io: SysfsIo = nodeSysfsIo): BoardModel {
  for (const path of [under(roots.sys, 'firmware/devicetree/base/model'), under(roots.proc, 'device-tree/model')]) {
    if (!io.exists(path)) continue;
    try {
      // Device-tree strings end with a NUL.
      const model = io.read(path).replace(/\0+$/, '').trim();
      if (model !== '') return { model, kind: boardKind(model) };
    } catch {
      // Unreadable: try the other place.
    }
  }
  return { model: undefined, kind: 'other' };
}
