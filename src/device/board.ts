// The board: pins, leases, sensors and subscriptions over one Hardware backend. The
// dispatcher calls these methods; nothing here knows about sockets or JSON lines.
import { randomUUID } from 'node:crypto';
import { ProtocolError } from '../protocol/errors.js';
import type { BoardEvent } from '../protocol/events.js';
import { PROTOCOL_VERSION, TETHER_VERSION } from '../protocol/version.js';
import type { Clock } from '../common/clock.js';
import type { BoardConfig, PinConfig, SensorConfig } from './config.js';
import { hex } from './hex.js';
import { ACTUATOR_DRIVERS } from './drivers/actuators/index.js';
import { isPwmActuator } from './drivers/actuators/pwm.js';
import { SENSOR_DRIVERS } from './drivers/sensors/index.js';
import { BusError, type Edge, type Hardware, type Level, type Pull } from './hal/types.js';
import type { Actuator, Sensor, SensorDriver, Values } from './drivers/types.js';
import { LeaseTable, type Lease } from './leases.js';
import type { Logger } from './logger.js';
import type { InputSlot, OutputSlot, PinSlot } from './pins.js';

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

export interface LeaseView {
  value: number;
  safe_value: number;
  expires_in_s: number;
}

export type BoardListener = (event: BoardEvent) => void;

/** Values the board restores or reports are rounded so that the wire never carries noise digits. */
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export class Board {
  readonly config: Readonly<BoardConfig>;
  readonly hardware: Hardware;
  readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pins = new Map<number, PinSlot>();
  private readonly reserved = new Map<number, string>();
  private readonly sensors = new Map<string, SensorEntry>();
  private readonly listeners = new Set<BoardListener>();
  private readonly resetListeners = new Set<() => void>();
  /** One hardware watcher per watched input, fanned out to every pin subscription on it. */
  private readonly edgeWatchers = new Map<number, { stop: () => void; listeners: Set<(level: Level) => void> }>();
  private bootAt: number;
  private readonly leases: LeaseTable;
  private bootId = randomUUID();
  private sleepUntil = 0;
  private resetTimer: ReturnType<Clock['setTimer']> | undefined;

  constructor(config: Readonly<BoardConfig>, hardware: Hardware, clock: Clock, logger: Logger) {
    this.config = config;
    this.hardware = hardware;
    this.clock = clock;
    this.logger = logger;
    this.leases = new LeaseTable(clock, (lease) => this.expire(lease));
    this.bootAt = clock.now();
    for (const bus of config.i2c) {
      if (bus.sda !== undefined) this.reserved.set(bus.sda, `SDA of I2C bus ${bus.bus}`);
      if (bus.scl !== undefined) this.reserved.set(bus.scl, `SCL of I2C bus ${bus.bus}`);
    }
  }

  /** Sets up the configured pins and actuators and probes every sensor; throws naming the first that fails. */
  async start(): Promise<void> {
    this.applyConfigPins();
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

  get id(): string {
    return this.bootId;
  }

  /** Milliseconds since the board started or last reset; events carry it as `ts`. */
  uptimeMs(): number {
    return this.clock.now() - this.bootAt;
  }

  onEvent(listener: BoardListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when the board resets: the runtime closes every connection. */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  // --- pins -------------------------------------------------------------------------------

  setupPin(args: { pin: number; mode: 'input' | 'output'; pull?: Pull | undefined; value?: Level | undefined; safe_value?: Level | undefined }): void {
    const { pin } = args;
    this.checkConfigurable(pin);
    const previous = this.pins.get(pin);
    if (previous?.fixed) {
      throw new ProtocolError('pin_conflict', `pin ${pin} is the actuator "${previous.name ?? pin}" from the board config; write to it with write_pin or pwm instead of setting it up`);
    }
    if (previous !== undefined && previous.mode !== 'input') this.checkNoLease(previous);
    if (args.mode === 'input') {
      if (args.value !== undefined || args.safe_value !== undefined) {
        throw new ProtocolError('bad_field', 'value: only an output takes a value or safe_value; drop it or use mode "output"');
      }
      this.releaseSlot(previous);
      this.setupInput(pin, args.pull ?? 'none', previous?.name);
      return;
    }
    if (args.pull !== undefined && args.pull !== 'none') {
      throw new ProtocolError('bad_field', 'pull: only an input takes a pull; drop it or use mode "input"');
    }
    // An output starts at its safe value: anything else would hold it off-safe with no lease.
    if (args.value !== undefined && args.safe_value !== undefined && args.value !== args.safe_value) {
      throw new ProtocolError('bad_field', `value: ${args.value} differs from safe_value ${args.safe_value}; an output starts at its safe value, so set it up at ${args.safe_value} and then write_pin ${args.value} with a timeout`);
    }
    const safe = args.safe_value ?? args.value ?? 0;
    this.releaseSlot(previous);
    this.setupOutput({ pin, name: previous?.name, fixed: false, driver: 'digital', options: {}, safeValue: safe, maxLeaseS: this.maxLeaseFor(pin) });
  }

  readPin(pin: number): Level {
    const slot = this.slot(pin);
    if (slot.mode === 'input') return this.hardware.gpio.read(pin);
    if (slot.mode === 'pwm') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is a PWM output; get_state shows its duty`);
    }
    return slot.actuator.current() === 1 ? 1 : 0;
  }

  writePin(pin: number, value: Level, timeoutS: number | undefined): LeaseView | null {
    const slot = this.slot(pin);
    if (slot.mode === 'input') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is an input; set it up with mode "output" before writing to it`);
    }
    if (slot.mode === 'pwm') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is a PWM output; use the pwm action${slot.fixed ? '' : ', or setup_pin to make it digital again'}`);
    }
    return this.drive(slot, value, timeoutS, () => slot.actuator.apply(value));
  }

  pwm(pin: number, freq: number, duty: number, timeoutS: number | undefined): LeaseView | null {
    this.checkConfigurable(pin);
    const slot = this.pins.get(pin);
    if (slot?.mode === 'input') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is an input; pwm needs a free pin, an output without a lease, or a PWM actuator`);
    }
    if (slot?.mode === 'output') {
      if (slot.fixed) throw new ProtocolError('pin_conflict', `pin ${pin} is the digital actuator "${slot.name ?? pin}"; use write_pin`);
      this.checkNoLease(slot);
    }
    // A digital output turned to PWM keeps its safe level (as duty 0 or 1), name and maximum lease.
    const safeValue = slot?.safeValue ?? 0;
    const maxLeaseS = slot?.maxLeaseS ?? this.maxLeaseFor(pin);
    this.checkLease(pin, duty, safeValue, maxLeaseS, timeoutS);
    let out = slot?.mode === 'pwm' ? slot : undefined;
    if (out === undefined) {
      this.releaseSlot(slot);
      out = this.setupOutput({ pin, name: slot?.name, fixed: false, driver: 'pwm', options: { freq }, safeValue, maxLeaseS });
    }
    const target = out;
    return this.drive(target, duty, timeoutS, () => applyPwm(target.actuator, duty, freq));
  }

  /** A write under lease (protocol.md §4): the safe value ends the lease, anything else needs one. */
  private drive(slot: OutputSlot, value: number, timeoutS: number | undefined, apply: () => void): LeaseView | null {
    this.checkLease(slot.pin, value, slot.safeValue, slot.maxLeaseS, timeoutS);
    apply();
    if (value === slot.safeValue || timeoutS === undefined) {
      this.leases.end(slot.pin);
      return null;
    }
    const lease = this.leases.grant(slot.pin, value, timeoutS * 1000);
    return this.leaseView(slot, lease);
  }

  /** Throws unless the write may go ahead: the safe value needs no lease, anything else one within the maximum. */
  private checkLease(pin: number, value: number, safeValue: number, maxLeaseS: number, timeoutS: number | undefined): void {
    if (value === safeValue) return;
    if (timeoutS === undefined) {
      throw new ProtocolError('missing_field', `timeout: required to write ${value} to pin ${pin} (its safe value is ${safeValue}); the board restores the safe value when the timeout ends`);
    }
    if (timeoutS > maxLeaseS) {
      throw new ProtocolError('lease_too_long', `timeout: ${timeoutS} s is longer than pin ${pin}'s maximum lease of ${maxLeaseS} s; renew a shorter lease before it ends instead`);
    }
  }

  private expire(lease: Lease): void {
    const slot = this.pins.get(lease.pin);
    if (slot === undefined || slot.mode === 'input') return;
    restoreSafe(slot);
    this.logger.info(`lease on pin ${lease.pin}${slot.name ? ` (${slot.name})` : ''} ended: restored ${slot.safeValue}`);
    this.emit({ event: 'lease_expired', pin: lease.pin, ...(slot.name ? { name: slot.name } : {}), value: slot.safeValue, held: lease.value });
  }

  private leaseView(slot: OutputSlot, lease: Lease): LeaseView {
    return { value: lease.value, safe_value: slot.safeValue, expires_in_s: this.leases.secondsLeft(lease) };
  }

  private slot(pin: number): PinSlot {
    this.checkPinExists(pin);
    const slot = this.pins.get(pin);
    if (slot === undefined) {
      const role = this.reserved.get(pin);
      if (role !== undefined) throw new ProtocolError('pin_conflict', `pin ${pin} is the ${role}`);
      throw new ProtocolError('pin_not_setup', `pin ${pin} is not set up; send setup_pin with mode "input" or "output" first`);
    }
    return slot;
  }

  private checkPinExists(pin: number): void {
    if (!this.hardware.gpio.has(pin)) {
      throw new ProtocolError('bad_field', `pin: ${pin} does not exist on this board (pins 0–${this.config.gpio.pin_count - 1})`);
    }
  }

  /** A pin may be (re)configured when it exists and is not a bus pin. */
  private checkConfigurable(pin: number): void {
    this.checkPinExists(pin);
    const role = this.reserved.get(pin);
    if (role !== undefined) throw new ProtocolError('pin_conflict', `pin ${pin} is the ${role}; choose another pin`);
  }

  private checkNoLease(slot: OutputSlot): void {
    const lease = this.leases.get(slot.pin);
    if (lease !== undefined) {
      throw new ProtocolError('pin_conflict', `pin ${slot.pin} holds a lease (value ${lease.value}, ${this.leases.secondsLeft(lease)} s left); write its safe value ${slot.safeValue} first`);
    }
  }

  private setupInput(pin: number, pull: Pull, name: string | undefined): InputSlot {
    this.hardware.gpio.setupInput(pin, pull);
    const slot: InputSlot = { pin, name, fixed: false, mode: 'input', pull };
    this.pins.set(pin, slot);
    return slot;
  }

  /** Every output goes through an actuator driver, so leases and active-low work the same for all. */
  private setupOutput(o: { pin: number; name: string | undefined; fixed: boolean; driver: 'digital' | 'pwm'; options: Record<string, unknown>; safeValue: number; maxLeaseS: number }): OutputSlot {
    const driver = ACTUATOR_DRIVERS[o.driver];
    if (driver === undefined) throw new Error(`actuator driver "${o.driver}" is missing from the registry`);
    const options = driver.optionsSchema.parse(o.options);
    const actuator = driver.create({ pin: o.pin, gpio: this.hardware.gpio, pwm: this.hardware.pwm, options });
    actuator.init(o.safeValue);
    const slot: OutputSlot = {
      pin: o.pin,
      name: o.name,
      fixed: o.fixed,
      mode: o.driver === 'pwm' ? 'pwm' : 'output',
      actuator,
      safeValue: o.safeValue,
      maxLeaseS: o.maxLeaseS,
      activeLow: o.options['active_low'] === true,
    };
    this.pins.set(o.pin, slot);
    return slot;
  }

  private releaseSlot(slot: PinSlot | undefined): void {
    if (slot === undefined) return;
    this.unwatch(slot.pin);
    this.leases.end(slot.pin);
    if (slot.mode === 'pwm') this.hardware.pwm.stop(slot.pin);
    this.pins.delete(slot.pin);
  }

  private applyConfigPins(): void {
    for (const p of this.config.pins) this.applyConfigPin(p);
    for (const a of this.config.actuators) {
      const maxLeaseS = Math.min(a.max_lease_s ?? this.config.max_lease_s, this.config.max_lease_s);
      const driver = a.driver === 'pwm' ? 'pwm' : 'digital';
      this.setupOutput({ pin: a.pin, name: a.name, fixed: true, driver, options: a.options, safeValue: a.safe_value, maxLeaseS });
    }
  }

  /** A pin's maximum lease from the config survives any later setup_pin of that pin. */
  private maxLeaseFor(pin: number): number {
    const own = this.config.pins.find((p) => p.pin === pin)?.max_lease_s;
    return Math.min(own ?? this.config.max_lease_s, this.config.max_lease_s);
  }

  private applyConfigPin(p: PinConfig): void {
    if (p.mode === 'input') {
      this.setupInput(p.pin, p.pull, p.name);
      return;
    }
    this.setupOutput({ pin: p.pin, name: p.name, fixed: false, driver: 'digital', options: {}, safeValue: p.safe_value ?? p.value ?? 0, maxLeaseS: this.maxLeaseFor(p.pin) });
  }

  // --- ADC, I2C, sensors ------------------------------------------------------------------

  readAdc(pin: number): { raw: number; volts: number } {
    const adc = this.hardware.adc;
    if (!adc.pins.includes(pin)) {
      throw new ProtocolError('bad_field', `pin: ${pin} has no ADC on this board; ADC pins: ${adc.pins.join(', ') || 'none'}`);
    }
    if (this.pins.get(pin)?.mode === 'output' || this.pins.get(pin)?.mode === 'pwm') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is set up as an output; the ADC reads only a free or input pin`);
    }
    const raw = adc.readU16(pin);
    return { raw, volts: round((raw / 65535) * adc.vref, 4) };
  }

  async i2cScan(busId: number | undefined): Promise<{ bus: number; addresses: number[] }> {
    const buses = this.hardware.i2cBuses;
    const id = busId ?? buses[0];
    if (id === undefined) {
      throw new ProtocolError('unsupported', 'this board has no I2C bus; declare one under i2c in the board config');
    }
    const bus = this.hardware.i2c(id);
    if (bus === undefined) throw new ProtocolError('bad_field', `bus: no I2C bus ${id} on this board; buses: ${buses.join(', ')}`);
    return { bus: id, addresses: await bus.scan() };
  }

  listSensors(): Array<Record<string, unknown>> {
    return [...this.sensors.values()].map(({ config, driver }) => ({
      name: config.name,
      driver: driver.id,
      ...(driver.bus === 'i2c' ? { bus: config.bus ?? 0, address: config.address ?? driver.addresses[0] } : {}),
      quantities: driver.quantities,
    }));
  }

  sensorNames(): string[] {
    return [...this.sensors.keys()];
  }


  async readSensor(name: string): Promise<{ values: Values; units: Readonly<Record<string, string>> }> {
    const entry = this.sensors.get(name);
    if (entry === undefined) {
      const known = this.sensorNames();
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

  // --- subscriptions ----------------------------------------------------------------------

  watchPin(pin: number, edge: Edge, onEdge: (level: Level) => void): () => void {
    const slot = this.slot(pin);
    if (slot.mode !== 'input') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is an output; edges can be watched only on an input`);
    }
    let watcher = this.edgeWatchers.get(pin);
    if (watcher === undefined) {
      const listeners = new Set<(level: Level) => void>();
      const stop = this.hardware.gpio.watch(pin, (level) => {
        for (const listener of [...listeners]) listener(level);
      });
      watcher = { stop, listeners };
      this.edgeWatchers.set(pin, watcher);
    }
    const own = watcher;
    const listener = (level: Level) => {
      if (edge === 'both' || (edge === 'rising') === (level === 1)) onEdge(level);
    };
    own.listeners.add(listener);
    return () => {
      own.listeners.delete(listener);
      if (own.listeners.size === 0 && this.edgeWatchers.get(pin) === own) this.unwatch(pin);
    };
  }

  /** Ends every pin subscription on a pin: it watched the pin as it was set up. */
  private unwatch(pin: number): void {
    const watcher = this.edgeWatchers.get(pin);
    if (watcher === undefined) return;
    this.edgeWatchers.delete(pin);
    watcher.listeners.clear();
    watcher.stop();
  }

  /** Reads a sensor every intervalMs; a read that is still running when the next is due is skipped. */
  pollSensor(name: string, intervalMs: number, onResult: (result: { values: Values; units: Readonly<Record<string, string>> } | ProtocolError) => void): () => void {
    if (!this.sensors.has(name)) {
      throw new ProtocolError('bad_field', `sensor: no sensor named ${JSON.stringify(name)}; this board has ${this.sensorNames().join(', ') || 'no sensors'}`);
    }
    let stopped = false;
    let busy = false;
    const tick = (): void => {
      if (stopped) return;
      timer = this.clock.setTimer(intervalMs, tick);
      if (busy) return;
      busy = true;
      this.readSensor(name).then(
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

  // --- state, info, power -----------------------------------------------------------------

  state(): Record<string, unknown> {
    const pins = [...this.pins.values()]
      .sort((a, b) => a.pin - b.pin)
      .map((slot) => {
        const base = { pin: slot.pin, ...(slot.name ? { name: slot.name } : {}), mode: slot.mode };
        if (slot.mode === 'input') return { ...base, pull: slot.pull, value: this.hardware.gpio.read(slot.pin) };
        const lease = this.leases.get(slot.pin);
        return {
          ...base,
          ...(slot.mode === 'pwm' ? { freq: frequencyOf(slot.actuator), duty: slot.actuator.current() } : { value: slot.actuator.current() }),
          safe_value: slot.safeValue,
          ...(slot.activeLow ? { active_low: true } : {}),
          max_lease_s: slot.maxLeaseS,
          lease: lease ? this.leaseView(slot, lease) : null,
        };
      });
    const leases = this.leases.all().map((l) => ({ pin: l.pin, value: l.value, expires_in_s: this.leases.secondsLeft(l) }));
    return { pins, leases, sensors: this.sensorNames(), boot_id: this.bootId, uptime_s: round(this.uptimeMs() / 1000, 3) };
  }

  info(): Record<string, unknown> {
    const mem = this.hardware.memory();
    return {
      name: this.config.name,
      board: this.hardware.board,
      platform: this.hardware.platform,
      firmware_version: TETHER_VERSION,
      protocol: PROTOCOL_VERSION,
      runtime: `node ${process.versions.node}`,
      boot_id: this.bootId,
      uptime_s: round(this.uptimeMs() / 1000, 3),
      mem_free: mem.free,
      mem_alloc: mem.alloc,
      capabilities: this.capabilities(),
      ...(this.hardware.signal !== undefined ? { rssi: this.hardware.signal() } : {}),
    };
  }

  capabilities(): string[] {
    const caps = ['gpio', 'leases', 'pwm', 'subscribe'];
    if (this.hardware.adc.pins.length > 0) caps.push('adc');
    if (this.hardware.i2cBuses.length > 0) caps.push('i2c');
    if (this.sensors.size > 0) caps.push('sensors');
    if (this.config.tls) caps.push('tls');
    if (this.config.auth) caps.push('auth');
    return caps;
  }

  /** The clock time until which the board is in light sleep; 0 when awake. */
  get sleepingUntil(): number {
    return this.sleepUntil > this.clock.now() ? this.sleepUntil : 0;
  }

  lightSleep(ms: number): void {
    this.sleepUntil = this.clock.now() + ms;
  }

  /** Like piconetcontrol, the reset happens a moment after the reply has gone out. */
  scheduleReset(delayMs: number): void {
    if (this.resetTimer !== undefined) return;
    this.resetTimer = this.clock.setTimer(delayMs, () => {
      this.resetTimer = undefined;
      this.reset();
    });
  }

  /** Back to power-on state: leases end, outputs go to their safe values, a new boot id. */
  reset(): void {
    this.restoreAllSafe();
    for (const slot of [...this.pins.values()]) {
      if (slot.mode === 'pwm') this.hardware.pwm.stop(slot.pin);
      this.hardware.gpio.release(slot.pin);
    }
    this.pins.clear();
    this.applyConfigPins();
    for (const pin of [...this.edgeWatchers.keys()]) this.unwatch(pin);
    this.bootId = randomUUID();
    this.bootAt = this.clock.now();
    this.sleepUntil = 0;
    this.logger.info(`board reset (boot ${this.bootId})`);
    for (const listener of [...this.resetListeners]) listener();
  }

  /** Stops timers; outputs go to their safe values as the process leaves. */
  close(): void {
    if (this.resetTimer !== undefined) this.clock.clearTimer(this.resetTimer);
    this.restoreAllSafe();
    this.listeners.clear();
    this.resetListeners.clear();
  }

  /** Ends every lease and puts every output at its safe value, without events. */
  private restoreAllSafe(): void {
    this.leases.clear();
    for (const slot of this.pins.values()) if (slot.mode !== 'input') restoreSafe(slot);
  }

  private emit(event: BoardEvent): void {
    for (const listener of [...this.listeners]) listener(event);
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

function restoreSafe(slot: OutputSlot): void {
  if (slot.mode === 'pwm') applyPwm(slot.actuator, slot.safeValue);
  else slot.actuator.apply(slot.safeValue);
}

function applyPwm(actuator: Actuator, duty: number, freq?: number): void {
  if (isPwmActuator(actuator)) actuator.apply(duty, freq);
  else actuator.apply(duty);
}

function frequencyOf(actuator: Actuator): number | undefined {
  return isPwmActuator(actuator) ? actuator.frequency() : undefined;
}
