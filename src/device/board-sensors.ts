// The board's sensors: each probed at start through its driver, read on request or on a
// subscription's interval, with concurrent reads of one chip sharing one conversation.
import { ProtocolError } from '../protocol/errors.js';
import type { Clock } from '../common/clock.js';
import type { BoardConfig, SensorConfig } from './config.js';
import { SENSOR_DRIVERS } from './drivers/sensors/index.js';
import type { Sensor, SensorDriver, Values } from './drivers/types.js';
import { BusError, type Hardware } from './hal/types.js';
import { hex } from './hex.js';

export interface SensorEntry {
  readonly config: SensorConfig;
  readonly driver: SensorDriver;
  readonly sensor: Sensor;
  /**
   * The read in progress. A chip answers one conversation at a time, so a request or a
   * subscription that comes while one runs shares its result instead of queueing another.
   */
  inflight: Promise<Values> | undefined;
}

export type SensorResult = { values: Values; units: Readonly<Record<string, string>> };

export class BoardSensors {
  private readonly config: Readonly<BoardConfig>;
  private readonly hardware: Hardware;
  private readonly clock: Clock;
  private readonly sensors = new Map<string, SensorEntry>();

  constructor(config: Readonly<BoardConfig>, hardware: Hardware, clock: Clock) {
    this.config = config;
    this.hardware = hardware;
    this.clock = clock;
  }

  get size(): number {
    return this.sensors.size;
  }

  /** Probes every configured sensor; throws naming the first that fails. */
  async start(): Promise<void> {
    for (const [index, sc] of this.config.sensors.entries()) {
      const driver = SENSOR_DRIVERS[sc.driver];
      if (driver === undefined) throw new Error(`sensors[${index}].driver: unknown driver "${sc.driver}"`);
      const bus = driver.bus === 'i2c' ? this.hardware.i2c(sc.bus ?? 0) : undefined;
      if (driver.bus === 'i2c' && bus === undefined) {
        throw new Error(`sensors[${index}] (${sc.name}): I2C bus ${sc.bus ?? 0} is not available on this board`);
      }
      const address = driver.bus === 'i2c' ? (sc.address ?? driver.addresses[0]) : undefined;
      const options = driver.optionsSchema.parse(sc.options);
      const sensor = driver.create({ bus, address, adc: this.hardware.adc, hardware: this.hardware, clock: this.clock, options });
      try {
        await sensor.init();
      } catch (err) {
        throw new Error(`sensors[${index}] (${sc.name}): ${this.describeSensorFailure(sc, driver, err)}`, { cause: err });
      }
      this.sensors.set(sc.name, { config: sc, driver, sensor, inflight: undefined });
    }
  }

  list(): Array<Record<string, unknown>> {
    return [...this.sensors.values()].map(({ config, driver }) => ({
      name: config.name,
      driver: driver.id,
      ...(driver.bus === 'i2c' ? { bus: config.bus ?? 0, address: config.address ?? driver.addresses[0] } : {}),
      quantities: driver.quantities,
    }));
  }

  names(): string[] {
    return [...this.sensors.keys()];
  }


  async read(name: string): Promise<SensorResult> {
    const entry = this.sensors.get(name);
    if (entry === undefined) {
      const known = this.names();
      throw new ProtocolError('bad_field', `name: no sensor named ${JSON.stringify(name)}; this board has ${known.length ? known.join(', ') : 'no sensors'}`);
    }
    try {
      const values = await (entry.inflight ?? startRead(entry));
      return { values, units: entry.driver.quantities };
    } catch (err) {
      throw new ProtocolError('sensor_error', `${name}: ${this.describeSensorFailure(entry.config, entry.driver, err)}`);
    }
  }

  private describeSensorFailure(sc: SensorConfig, driver: SensorDriver, err: unknown): string {
    const detail = err instanceof Error ? err.message : String(err);
    if (err instanceof BusError) return `${driver.id}: ${detail}`;
    const where = driver.bus === 'i2c' ? ` at ${hex(sc.address ?? driver.addresses[0] ?? 0)} on I2C bus ${sc.bus ?? 0}` : '';
    return `${driver.id}${where}: ${detail}`;
  }

  poll(name: string, intervalMs: number, onResult: (result: SensorResult | ProtocolError) => void): () => void {
    if (!this.sensors.has(name)) {
      throw new ProtocolError('bad_field', `sensor: no sensor named ${JSON.stringify(name)}; this board has ${this.names().join(', ') || 'no sensors'}`);
    }
    let stopped = false;
    let busy = false;
    const tick = (): void => {
      if (stopped) return;
      timer = this.clock.setTimer(intervalMs, tick);
      if (busy) return;
      busy = true;
      this.read(name).then(
        (r) => {
          busy = false;
          if (!stopped) onResult(r);
        },
        (err: unknown) => {
          busy = false;
          if (!stopped) onResult(err instanceof ProtocolError ? err : new ProtocolError('internal', String(err)));
        },
      );
    };
    let timer = this.clock.setTimer(intervalMs, tick);
    return () => {
      stopped = true;
      this.clock.clearTimer(timer);
    };
  }
}

function startRead(entry: SensorEntry): Promise<Values> {
  const read = entry.sensor.read();
  entry.inflight = read;
  const done = () => {
    if (entry.inflight === read) entry.inflight = undefined;
  };
  read.then(done, done);
  return read;
}
