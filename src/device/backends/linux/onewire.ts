// DS18B20 probes through the kernel's 1-Wire drivers (w1-gpio bus master, w1_therm).
//
// ROM codes: Tether (like MicroPython's onewire.scan()) writes the 8 ROM bytes in the order the
// bus sends them, as 16 hex digits: family code 28 first, 48-bit serial least significant
// byte first, CRC last. The kernel names each device "%02x-%012llx" from struct w1_reg_num
// (family:8, id:48, crc:8 in a little-endian u64, drivers/w1/w1.c), so its folder shows the
// serial as one number: bytes 1..6 reversed, and no CRC (w1_atoreg_num recomputes it).
//
// The pin: the bus master's GPIO is set at boot by dtoverlay=w1-gpio,gpiopin=N, and the kernel
// lists every DS18B20 of every bus under /sys/bus/w1/devices without saying which bus it is on.
// So `pin` is checked against the w1-gpio masters' device-tree GPIOs where sysfs shows them
// (/sys/bus/platform/drivers/w1-gpio/*/of_node/gpios); with one bus that is a real check, with
// several the probes of all of them answer on any of their pins.
import { BOOT_CONFIG, enableOneWire } from './advice.js';
import { crc8Maxim, romBytes, romFromParts } from '../../drivers/sensors/onewire-rom.js';
import { SensorFault } from '../../drivers/types.js';
import type { OneWire } from '../../hal/types.js';
import { under, type KernelRoots } from './roots.js';
import { errnoCode, gpioFromOfNode, nodeReadFile, type ReadFile } from './sysfs-io.js';
import { readdir } from 'node:fs/promises';

const DS18B20_FAMILY = 0x28;
/** The scratchpad's power-on value; a conversion that never ran reads the same. */
const POWER_ON_MILLI = 85_000;

export interface LinuxOneWireOptions {
  roots: KernelRoots;
  readFile?: ReadFile;
}

export class LinuxOneWire implements OneWire {
  private readonly roots: KernelRoots;
  private readonly readFile: ReadFile;

  constructor(options: LinuxOneWireOptions) {
    this.roots = options.roots;
    this.readFile = options.readFile ?? nodeReadFile;
  }

  private get devices(): string {
    return under(this.roots.sys, 'bus/w1/devices');
  }

  async scan(pin: number): Promise<string[]> {
    await this.checkPin(pin);
    return (await this.probeFolders()).map(romFromW1Name);
  }

  async readCelsius(pin: number, rom: string): Promise<number> {
    await this.checkPin(pin);
    const name = w1NameFromRom(rom);
    const dir = under(this.devices, name);
    const where = `DS18B20 ${rom.toLowerCase()} (${dir})`;
    let milli: number;
    try {
      milli = await this.readMilli(dir, where);
    } catch (err) {
      if (err instanceof SensorFault) throw err;
      const code = errnoCode(err);
      if (code === 'ENOENT') {
        const found = (await this.probeFolders()).map(romFromW1Name);
        throw new SensorFault(`${where} is not on the 1-Wire bus any more (found ${found.length > 0 ? found.join(', ') : 'none'}); check its wiring, the 3.3 V supply and the 4.7 kΩ pull-up on the data line`);
      }
      throw new SensorFault(`${where} did not answer (${code ?? String(err)}); check the cable, the contacts and the 4.7 kΩ pull-up on the data line`);
    }
    if (milli === POWER_ON_MILLI) {
      throw new SensorFault(`${where} reads 85 °C, its power-on value: the conversion did not run; check VDD (parasite power needs a strong pull-up)`);
    }
    return milli / 1000;
  }

  /**
   * `temperature` (millidegrees; w1_therm since its 2020 rework) or else the two lines of
   * `w1_slave`. `temperature` reads empty while a bulk conversion is pending (w1_therm.rst).
   */
  private async readMilli(dir: string, where: string): Promise<number> {
    let text = '';
    try {
      text = (await this.readFile(under(dir, 'temperature'))).toString('utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (text.trim() === '') return parseW1Slave((await this.readFile(under(dir, 'w1_slave'))).toString('utf8'), where);
    const milli = Number.parseInt(text.trim(), 10);
    if (!Number.isSafeInteger(milli)) throw new SensorFault(`${where}: temperature reads ${JSON.stringify(text.trim())}, not millidegrees`);
    return milli;
  }

  private async probeFolders(): Promise<string[]> {
    const names = await w1ProbeFolders(this.roots);
    if (names === undefined) throw new Error(`no 1-Wire bus: ${this.devices} does not exist; ${enableOneWire(undefined)}`);
    return names;
  }

  /** Refuses a pin no w1-gpio bus master is on, when sysfs says which GPIOs they use. */
  private async checkPin(pin: number): Promise<void> {
    const masters = await w1GpioMasters(this.roots, this.readFile);
    if (masters.length === 0 || masters.includes(pin)) return;
    const list = masters.join(', ');
    throw new Error(
      `the 1-Wire bus is on GPIO ${list} (dtoverlay=w1-gpio,gpiopin=${masters[0]}), not on pin ${pin}: set options.pin to ${list.includes(',') ? `one of ${list}` : list}, or change the line in ${BOOT_CONFIG} to dtoverlay=w1-gpio,gpiopin=${pin} and reboot`,
    );
  }
}

/** The GPIOs of the w1-gpio bus masters, from their device-tree nodes; [] where sysfs does not say. */
/** The DS18B20 folders (28-…) under /sys/bus/w1/devices, sorted; undefined when there is no 1-Wire bus. */
export async function w1ProbeFolders(roots: KernelRoots): Promise<string[] | undefined> {
  try {
    return (await readdir(under(roots.sys, 'bus/w1/devices'))).filter((n) => /^28-[0-9a-f]{12}$/.test(n)).sort();
  } catch {
    return undefined;
  }
}

export async function w1GpioMasters(roots: KernelRoots, readFile: ReadFile = nodeReadFile): Promise<number[]> {
  const dir = under(roots.sys, 'bus/platform/drivers/w1-gpio');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const pins: number[] = [];
  for (const name of names) {
    // bind/unbind/uevent have no of_node; a device without a device-tree node is skipped too.
    const pin = gpioFromOfNode(await readFile(under(dir, name, 'of_node/gpios')).catch(() => undefined));
    if (pin !== undefined) pins.push(pin);
  }
  return pins.sort((a, b) => a - b);
}

/** Parses w1_therm's w1_slave: "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES" then "… t=23125". */
export function parseW1Slave(text: string, where: string): number {
  const [first = '', second = ''] = text.split('\n');
  const crc = /crc=[0-9a-f]{2} (YES|NO)/i.exec(first);
  const bytes = first.split(':')[0]?.trim().split(/\s+/) ?? [];
  if (crc === null) throw new SensorFault(`${where}: w1_slave reads ${JSON.stringify(text.trim())}, which is not a DS18B20 reading`);
  if (crc[1]?.toUpperCase() !== 'YES') throw new SensorFault(`${where}: the scratchpad fails its CRC; check the cable, the contacts and the 4.7 kΩ pull-up on the data line`);
  // Nine zero bytes pass the CRC: that is a probe that did not drive the line at all.
  if (bytes.length === 9 && bytes.every((b) => b === '00')) throw new SensorFault(`${where} reads all zeros: it is not answering; check its VDD and data wires`);
  const t = /t=(-?\d+)/.exec(second);
  if (t?.[1] === undefined) throw new SensorFault(`${where}: w1_slave has no t= value (${JSON.stringify(second.trim())})`);
  return Number.parseInt(t[1], 10);
}

/** "28-0000075c1a2b" → "282b1a5c07000021": bus order, with the CRC the kernel leaves out. */
export function romFromW1Name(name: string): string {
  const m = /^([0-9a-f]{2})-([0-9a-f]{12})$/i.exec(name);
  if (m?.[1] === undefined || m[2] === undefined) throw new Error(`${JSON.stringify(name)} is not a 1-Wire device name (ff-dddddddddddd)`);
  const serial = m[2].toLowerCase();
  const lsbFirst: number[] = [];
  for (let i = 10; i >= 0; i -= 2) lsbFirst.push(Number.parseInt(serial.slice(i, i + 2), 16));
  return romFromParts(Number.parseInt(m[1], 16), lsbFirst);
}

/** "282b1a5c07000021" → "28-0000075c1a2b"; refuses a code that is not a DS18B20's or fails its CRC. */
export function w1NameFromRom(rom: string): string {
  const bytes = romBytes(rom);
  if (bytes === undefined) throw new Error(`a ROM code is 16 hex digits (8 bytes in bus order, family 28 first), not ${JSON.stringify(rom)}`);
  if (bytes[0] !== DS18B20_FAMILY) throw new Error(`ROM ${rom} has family code ${rom.slice(0, 2)}, not 28: it is not a DS18B20`);
  const crc = crc8Maxim(bytes.slice(0, 7));
  if (bytes[7] !== crc) throw new Error(`ROM ${rom} fails its CRC (the last byte should be ${crc.toString(16).padStart(2, '0')}); copy it again from the scan`);
  return `28-${bytes.slice(1, 7).reverse().map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
