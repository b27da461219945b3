// The board: pins and leases, sensors and edge subscriptions over one Hardware backend. The
// dispatcher calls these methods; nothing here knows about sockets or JSON lines. Each job
// lives in its own module (board-pins, board-sensors, board-edges); this class holds them
// together with what belongs to the whole board: its boot, events, info, sleep and reset.
import { randomUUID } from 'node:crypto';
import { ProtocolError } from '../protocol/errors.js';
import type { BoardEvent } from '../protocol/events.js';
import { PROTOCOL_VERSION, TETHER_VERSION } from '../protocol/version.js';
import type { Clock } from '../common/clock.js';
import { BoardEdges, type EdgeCallback } from './board-edges.js';
import { BoardPins, type LeaseView } from './board-pins.js';
import { BoardSensors, type SensorResult } from './board-sensors.js';
import type { BoardConfig } from './config.js';
import type { Edge, Hardware, Level, Pull } from './hal/types.js';
import type { Logger } from './logger.js';

export type { LeaseView } from './board-pins.js';
export type { SensorEntry, SensorResult } from './board-sensors.js';

export type BoardListener = (event: BoardEvent) => void;

/** Values the board restores or reports are rounded so that the wire never carries noise digits. */
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export class Board {
  readonly config: Readonly<BoardConfig>;
  readonly hardware: Hardware;
  readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pins: BoardPins;
  private readonly sensors: BoardSensors;
  private readonly edges: BoardEdges;
  private readonly listeners = new Set<BoardListener>();
  private readonly resetListeners = new Set<() => void>();
  private bootAt: number;
  private bootId = randomUUID();
  private sleepUntil = 0;
  private resetTimer: ReturnType<Clock['setTimer']> | undefined;

  constructor(config: Readonly<BoardConfig>, hardware: Hardware, clock: Clock, logger: Logger) {
    this.config = config;
    this.hardware = hardware;
    this.clock = clock;
    this.logger = logger;
    this.edges = new BoardEdges(hardware.gpio);
    this.pins = new BoardPins({ config, hardware, clock, logger, onExpired: (event) => this.emit(event), onRelease: (pin) => this.edges.unwatch(pin) });
    this.sensors = new BoardSensors(config, hardware, clock);
    this.bootAt = clock.now();
  }

  /** Sets up the configured pins and actuators and probes every sensor; throws naming the first that fails. */
  async start(): Promise<void> {
    this.pins.applyConfigPins();
    await this.sensors.start();
  }

  get id(): string {
    return this.bootId;
  }

  /** Milliseconds since the board started or last reset; events carry it as `ts`. */
  uptimeMs(): number {
    return this.clock.now() - this.bootAt;
  }

  /** A time on the board's clock as uptime, for an event that says when something happened. */
  uptimeAt(clockTime: number): number {
    return Math.max(0, clockTime - this.bootAt);
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
    this.pins.setupPin(args);
  }

  readPin(pin: number): Level {
    return this.pins.readPin(pin);
  }

  writePin(pin: number, value: Level, timeoutS: number | undefined): LeaseView | null {
    return this.pins.writePin(pin, value, timeoutS);
  }

  pwm(pin: number, freq: number, duty: number, timeoutS: number | undefined): LeaseView | null {
    return this.pins.pwm(pin, freq, duty, timeoutS);
  }

  /** The frequency a PWM output runs at; undefined for any other pin. */
  pwmFrequency(pin: number): number | undefined {
    return this.pins.pwmFrequency(pin);
  }

  watchPin(pin: number, edge: Edge, onEdge: EdgeCallback): () => void {
    const slot = this.pins.slot(pin);
    if (slot.mode !== 'input') {
      throw new ProtocolError('pin_conflict', `pin ${pin} is an output; edges can be watched only on an input`);
    }
    return this.edges.watch(pin, edge, onEdge);
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
    return this.sensors.list();
  }

  sensorNames(): string[] {
    return this.sensors.names();
  }

  readSensor(name: string): Promise<SensorResult> {
    return this.sensors.read(name);
  }

  /** Reads a sensor every intervalMs; a read that is still running when the next is due is skipped. */
  pollSensor(name: string, intervalMs: number, onResult: (result: SensorResult | ProtocolError) => void): () => void {
    return this.sensors.poll(name, intervalMs, onResult);
  }

  // --- state, info, power -----------------------------------------------------------------

  state(): Record<string, unknown> {
    return { pins: this.pins.stateRows(), leases: this.pins.leaseRows(), sensors: this.sensorNames(), boot_id: this.bootId, uptime_s: round(this.uptimeMs() / 1000, 3) };
  }

  info(): Record<string, unknown> {
    const mem = this.hardware.memory();
    const rssi = this.hardware.signal?.();
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
      ...(rssi !== undefined ? { rssi } : {}),
    };
  }

  capabilities(): string[] {
    const caps = ['gpio', 'leases', 'pwm', 'subscribe'];
    if (this.hardware.adc.pins.length > 0) caps.push('adc');
    if (this.hardware.i2cBuses.length > 0) caps.push('i2c');
    if (this.sensors.size > 0) caps.push('sensors');
    if (this.config.tls) caps.push('tls');
    if (typeof this.config.auth === 'object') caps.push('auth');
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
    this.pins.reset();
    this.edges.clear();
    this.bootId = randomUUID();
    this.bootAt = this.clock.now();
    this.sleepUntil = 0;
    this.logger.info(`board reset (boot ${this.bootId})`);
    for (const listener of [...this.resetListeners]) listener();
  }

  /** Stops timers; outputs go to their safe values as the process leaves. */
  close(): void {
    if (this.resetTimer !== undefined) this.clock.clearTimer(this.resetTimer);
    this.pins.restoreAllSafe();
    this.listeners.clear();
    this.resetListeners.clear();
  }

  private emit(event: BoardEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
