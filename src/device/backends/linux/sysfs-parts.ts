// The Linux backend's sysfs side in one call, for openLinuxHardware to put next to its GPIO
// and I2C: PWM (hardware and software), 1-Wire, DHT, the processor's temperature, the WiFi
// signal and the board model, all read through the same kernel roots.
import type { Clock } from '../../../common/clock.js';
import type { BoardConfig } from '../../config.js';
import type { Gpio } from '../../hal/types.js';
import { detectBoardModel, type BoardModel } from './board-model.js';
import { IioDht } from './iio-dht.js';
import { LinuxOneWire } from './onewire.js';
import { LinuxPwm } from './pwm.js';
import type { KernelRoots } from './roots.js';
import type { SysfsIo } from './sysfs-io.js';
import { cpuTemperatureReader } from './thermal.js';
import { wifiSignal } from './wireless.js';

export interface SysfsParts {
  readonly model: BoardModel;
  readonly pwm: LinuxPwm;
  readonly oneWire: LinuxOneWire;
  readonly dht: IioDht;
  cpuTemperature(): Promise<number>;
  /** dBm, or undefined when there is no WiFi link (see wireless.ts). */
  signal(): number | undefined;
  /** Stops software PWM's timers; hardware PWM channels keep the duty the board last set (pwm.ts). */
  close(): void;
}

export interface SysfsPartsOptions {
  roots: KernelRoots;
  gpio: Gpio;
  clock: Clock;
  /** PWM's file access and its wait for an exported channel; tests pass a fake kernel's. */
  io?: SysfsIo;
  sleepSync?: (ms: number) => void;
}

export function createSysfsParts(config: Readonly<BoardConfig>, options: SysfsPartsOptions): SysfsParts {
  const { roots, gpio, clock, io, sleepSync } = options;
  const model = detectBoardModel(roots, io);
  const pwm = new LinuxPwm({ roots, backend: config.backend, gpio, clock, kind: model.kind, ...(io ? { io } : {}), ...(sleepSync ? { sleepSync } : {}) });
  return {
    model,
    pwm,
    oneWire: new LinuxOneWire({ roots }),
    dht: new IioDht({ roots, clock }),
    cpuTemperature: cpuTemperatureReader(roots),
    signal: () => wifiSignal(roots, config.backend.wifi),
    close: () => pwm.close(),
  };
}
