// Simulated DHT22s, one on the data pin of every dht22 sensor in the config: room air and
// humidity from the environment, in the chip's 0.1 steps.
import { SensorFault } from '../drivers/types.js';
import type { DhtSensors } from '../hal/types.js';
import type { SimEnvironment } from './environment.js';

export class SimDht implements DhtSensors {
  private readonly environment: SimEnvironment;
  private readonly pins = new Set<number>();
  private readonly unplugged = new Set<number>();

  constructor(environment: SimEnvironment) {
    this.environment = environment;
  }

  attach(pin: number): void {
    this.pins.add(pin);
  }

  /** Takes the sensor on `pin` off (true) or puts it back (false). */
  unplug(pin: number, off = true): void {
    if (off) this.unplugged.add(pin);
    else this.unplugged.delete(pin);
  }

  read(pin: number): Promise<{ temperature: number; humidity: number }> {
    if (!this.pins.has(pin) || this.unplugged.has(pin)) {
      return Promise.reject(new SensorFault(`no answer from the DHT22 on pin ${pin}; check the wiring, its 3.3 V supply and the pull-up on the data line`));
    }
    return Promise.resolve({
      temperature: Math.round(this.environment.temperature(`dht22:${pin}`) * 10) / 10,
      humidity: Math.round(this.environment.humidity(`dht22:${pin}`) * 10) / 10,
    });
  }
}
