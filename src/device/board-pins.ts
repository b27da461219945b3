// The board's pins and the leases on its outputs (protocol.md §4): setup, writes under lease,
// expiry back to the safe value, and the config's pins and actuators at start and reset.
import { ProtocolError } from '../protocol/errors.js';
import type { BoardEvent } from '../protocol/events.js';
import type { Clock } from '../common/clock.js';
import { dataPinOf, type BoardConfig, type PinConfig } from './config.js';
import { ACTUATOR_DRIVERS } from './drivers/actuators/index.js';
import { isPwmActuator } from './drivers/actuators/pwm.js';
import type { Actuator } from './drivers/types.js';
import { PinCapabilityError, type Hardware, type Level, type Pull } from './hal/types.js';
import { LeaseTable, type Lease } from './leases.js';
import type { Logger } from './logger.js';
import type { InputSlot, OutputSlot, PinSlot } from './pins.js';

export interface LeaseView {
  value: number;
  safe_value: number;
  expires_in_s: number;
}

export interface BoardPinsOptions {
  config: Readonly<BoardConfig>;
  hardware: Hardware;
  clock: Clock;
  logger: Logger;
  /** A lease ended on its own: the board sends this event to every client. */
  onExpired: (event: BoardEvent) => void;
  /** A pin is set up anew or released: its edge subscriptions end. */
  onRelease: (pin: number) => void;
}

export class BoardPins {
  private readonly config: Readonly<BoardConfig>;
  private readonly hardware: Hardware;
  private readonly logger: Logger;
  private readonly onExpired: (event: BoardEvent) => void;
  private readonly onRelease: (pin: number) => void;
  private readonly pins = new Map<number, PinSlot>();
  private readonly reserved = new Map<number, string>();
  private readonly leases: LeaseTable;

  constructor(o: BoardPinsOptions) {
    this.config = o.config;
    this.hardware = o.hardware;
    this.logger = o.logger;
    this.onExpired = o.onExpired;
    this.onRelease = o.onRelease;
    this.leases = new LeaseTable(o.clock, (lease) => this.expire(lease));
    for (const bus of o.config.i2c) {
      if (bus.sda !== undefined) this.reserved.set(bus.sda, `SDA of I2C bus ${bus.bus}`);
      if (bus.scl !== undefined) this.reserved.set(bus.scl, `SCL of I2C bus ${bus.bus}`);
    }
    // A 1-Wire or DHT sensor's data pin belongs to its driver (the kernel's, on Linux).
    for (const sc of o.config.sensors) {
      const pin = dataPinOf(sc);
      if (pin !== undefined) this.reserved.set(pin, `data pin of the sensor "${sc.name}" (${sc.driver})`);
    }
  }

  /** The pin's slot, if it is set up. */
  get(pin: number): PinSlot | undefined {
    return this.pins.get(pin);
  }

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

  /** The frequency a PWM output runs at; undefined for any other pin. */
  pwmFrequency(pin: number): number | undefined {
    const slot = this.pins.get(pin);
    return slot?.mode === 'pwm' ? frequencyOf(slot.actuator) : undefined;
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
      // A digital output's line is given back first: held as a GPIO, a pin cannot carry PWM.
      if (slot?.mode === 'output') this.hardware.gpio.release(pin);
      out = this.setupPwmOutput({ pin, name: slot?.name, fixed: false, driver: 'pwm', options: { freq }, safeValue, maxLeaseS });
    }
    const target = out;
    return this.drive(target, duty, timeoutS, () => applyPwm(target.actuator, duty, freq));
  }

  /** Sets up a PWM output; a pin the backend cannot run PWM on is `unsupported`, with the backend's advice. */
  private setupPwmOutput(o: Parameters<BoardPins['setupOutput']>[0]): OutputSlot {
    try {
      return this.setupOutput(o);
    } catch (err) {
      if (err instanceof PinCapabilityError) throw new ProtocolError('unsupported', err.message);
      throw err;
    }
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
    this.onExpired({ event: 'lease_expired', pin: lease.pin, ...(slot.name ? { name: slot.name } : {}), value: slot.safeValue, held: lease.value });
  }

  private leaseView(slot: OutputSlot, lease: Lease): LeaseView {
    return { value: lease.value, safe_value: slot.safeValue, expires_in_s: this.leases.secondsLeft(lease) };
  }

  /** The pin's slot; throws pin_not_setup (or pin_conflict for a bus pin) when it has none. */
  slot(pin: number): PinSlot {
    this.checkPinExists(pin);
    const slot = this.pins.get(pin);
    if (slot === undefined) {
      const role = this.reserved.get(pin);
      if (role !== undefined) throw new ProtocolError('pin_conflict', `pin ${pin} is the ${role}`);
      throw new ProtocolError('pin_not_setup', `pin ${pin} is not set up; send setup_pin with mode "input" or "output" first`);
    }
    return slot;
  }

  checkPinExists(pin: number): void {
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
    const debounceMs = this.config.pins.find((p) => p.pin === pin)?.debounce_ms;
    this.hardware.gpio.setupInput(pin, pull, debounceMs === undefined ? {} : { debounceMs });
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
    this.onRelease(slot.pin);
    this.leases.end(slot.pin);
    if (slot.mode === 'pwm') this.hardware.pwm.stop(slot.pin);
    this.pins.delete(slot.pin);
  }

  /** Sets up the config's pins and actuators, each at its safe value. */
  applyConfigPins(): void {
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

  /** Every set-up pin as get_state shows it, in pin order. */
  stateRows(): Array<Record<string, unknown>> {
    return [...this.pins.values()]
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
  }

  leaseRows(): Array<{ pin: number; value: number; expires_in_s: number }> {
    return this.leases.all().map((l) => ({ pin: l.pin, value: l.value, expires_in_s: this.leases.secondsLeft(l) }));
  }

  /** Back to power-on state: every output safe, every pin released, the config's pins set up again. */
  reset(): void {
    this.restoreAllSafe();
    for (const slot of [...this.pins.values()]) {
      if (slot.mode === 'pwm') this.hardware.pwm.stop(slot.pin);
      this.hardware.gpio.release(slot.pin);
    }
    this.pins.clear();
    this.applyConfigPins();
  }

  /** Ends every lease and puts every output at its safe value, without events. */
  restoreAllSafe(): void {
    this.leases.clear();
    for (const slot of this.pins.values()) if (slot.mode !== 'input') restoreSafe(slot);
  }
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
