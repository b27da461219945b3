// DHT22 (and DHT11) through the kernel's dht11 IIO driver (drivers/iio/humidity/dht11.c, which
// tells the two apart by their data), set up by dtoverlay=dht11,gpiopin=N:
// /sys/bus/iio/devices/iio:deviceN/{name,in_temp_input,in_humidityrelative_input}, in milli-°C
// and milli-%. Reading in_temp_input starts a measurement; the driver keeps it for 2 s, so the
// humidity read right after comes from the same one.
//
// Which device is on which GPIO: the device-tree node's `gpios` (of_node/gpios), or else the
// node's unit address in `name`: the overlay sets the node's reg to the GPIO, so GPIO 4 is
// "dht11@4" and GPIO 17 "dht11@11" (hexadecimal). Older overlays left every node at "dht11@0".
import { BOOT_CONFIG, enableDht } from './advice.js';
import type { Clock } from '../../../common/clock.js';
import { SensorFault } from '../../drivers/types.js';
import type { DhtSensors } from '../../hal/types.js';
import { under, type KernelRoots } from './roots.js';
import { errnoCode, gpioFromOfNode, naturalOrder, nodeReadFile, type ReadFile } from './sysfs-io.js';
import { readdir } from 'node:fs/promises';

export interface IioDhtOptions {
  roots: KernelRoots;
  /** Waits between tries. */
  clock: Pick<Clock, 'sleep'>;
  readFile?: ReadFile;
  /** Tries per read before giving up (DHTs often miss one); default 3. */
  tries?: number;
  /** Wait between tries, ms; default 2000, the DHT22's shortest interval between measurements. */
  retryDelayMs?: number;
}

/** A dht11-driver IIO device, as `tether doctor` lists it. */
export interface DhtDevice {
  dir: string;
  /** e.g. "dht11@11" */
  name: string;
  /** Its GPIO, when the device tree or the name says. */
  pin: number | undefined;
}

export class IioDht implements DhtSensors {
  private readonly roots: KernelRoots;
  private readonly clock: Pick<Clock, 'sleep'>;
  private readonly readFile: ReadFile;
  private readonly tries: number;
  private readonly retryDelayMs: number;
  private readonly byPin = new Map<number, string>();

  constructor(options: IioDhtOptions) {
    this.roots = options.roots;
    this.clock = options.clock;
    this.readFile = options.readFile ?? nodeReadFile;
    this.tries = Math.max(1, options.tries ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 2000;
  }

  async read(pin: number): Promise<{ temperature: number; humidity: number }> {
    const dir = await this.deviceFor(pin);
    const failures: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        const temperature = (await this.readMilli(under(dir, 'in_temp_input'))) / 1000;
        const humidity = (await this.readMilli(under(dir, 'in_humidityrelative_input'))) / 1000;
        return { temperature, humidity };
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') {
          this.byPin.delete(pin);
          throw new SensorFault(`the DHT device for GPIO ${pin} (${dir}) has gone; check that the dht11 overlay is still loaded`);
        }
        failures.push(describeFailure(code, err));
        if (attempt >= this.tries) break;
        await this.clock.sleep(this.retryDelayMs);
      }
    }
    throw new SensorFault(
      `the DHT22 on GPIO ${pin} (${dir}) gave no good reading in ${this.tries} ${this.tries === 1 ? 'try' : 'tries'} (${failures.join('; ')}); check the wiring, its 3.3 V supply and the 4.7–10 kΩ pull-up on the data line, and keep the cable short`,
    );
  }

  private async readMilli(path: string): Promise<number> {
    const text = (await this.readFile(path)).toString('utf8').trim();
    const n = Number.parseInt(text, 10);
    if (!Number.isSafeInteger(n)) throw Object.assign(new Error(`${path} reads ${JSON.stringify(text)}`), { code: 'EBADMSG' });
    return n;
  }

  private async deviceFor(pin: number): Promise<string> {
    const known = this.byPin.get(pin);
    if (known !== undefined) return known;
    const devices = await listDhtDevices(this.roots, this.readFile);
    const match = devices.filter((d) => d.pin === pin);
    const only = match[0];
    if (only !== undefined && match.length === 1) {
      this.byPin.set(pin, only.dir);
      return only.dir;
    }
    const found = devices.map((d) => `${d.name}${d.pin !== undefined ? ` on GPIO ${d.pin}` : ''}`).join(', ');
    if (match.length > 1) throw new Error(`${match.length} DHT devices claim GPIO ${pin} (${found}); remove the duplicate dtoverlay=dht11 line from ${BOOT_CONFIG}`);
    throw new Error(
      `no DHT sensor on GPIO ${pin} under ${under(this.roots.sys, 'bus/iio/devices')} (${devices.length > 0 ? `found ${found}` : 'found none'}); ${enableDht(pin)}`,
    );
  }
}

export async function listDhtDevices(roots: KernelRoots, readFile: ReadFile = nodeReadFile): Promise<DhtDevice[]> {
  const base = under(roots.sys, 'bus/iio/devices');
  const readOptional = (path: string) => readFile(path).catch(() => undefined);
  let names: string[];
  try {
    names = (await readdir(base)).filter((n) => n.startsWith('iio:device')).sort(naturalOrder);
  } catch {
    return [];
  }
  const out: DhtDevice[] = [];
  for (const entry of names) {
    const dir = under(base, entry);
    const name = (await readOptional(under(dir, 'name')))?.toString('utf8').trim();
    if (name === undefined || !(name === 'dht11' || name.startsWith('dht11@'))) continue;
    const fromNode = gpioFromOfNode(await readOptional(under(dir, 'of_node/gpios')));
    const unit = /^dht11@([0-9a-f]+)$/i.exec(name)?.[1];
    out.push({ dir, name, pin: fromNode ?? (unit !== undefined ? Number.parseInt(unit, 16) : undefined) });
  }
  return out;
}

function describeFailure(code: string | undefined, err: unknown): string {
  // dht11.c: ETIMEDOUT when the sensor does not answer, EIO for a bad checksum or too few edges.
  if (code === 'ETIMEDOUT') return 'no answer (ETIMEDOUT)';
  if (code === 'EIO') return 'a garbled answer (EIO)';
  return code ?? (err instanceof Error ? err.message : String(err));
}
