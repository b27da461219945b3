// Argument and result types of the typed helpers on BoardClient (protocol.md §5). Results are
// camelCase versions of the reply fields; `request()` gives the raw reply when more is needed.
import type { BoardEvent, JsonObject } from '../protocol/index.js';

export type Bit = 0 | 1;
export type PinMode = 'input' | 'output';
export type Pull = 'up' | 'down' | 'none';
export type Edge = 'rising' | 'falling' | 'both';

export interface SetupPinOptions {
  pin: number;
  mode: PinMode;
  pull?: Pull;
  /** Level of an output at setup, which is also its safe value. */
  value?: Bit;
  /** Level the board returns the pin to when a lease ends or the board resets. */
  safeValue?: Bit;
}

export interface WritePinOptions {
  /** Lease in seconds; required unless the value written is the pin's safe value. */
  timeout?: number;
}

export interface PwmOptions {
  /** Frequency in Hz. */
  freq: number;
  /** Duty cycle from 0 to 1. */
  duty: number;
  /** Lease in seconds. */
  timeout?: number;
}

/** What the board will hold until the lease expires; null when the pin is at its safe value. */
export interface Lease {
  value: number;
  /** What the board restores when the lease ends. */
  safeValue: number;
  expiresInS: number;
}

export interface VersionInfo {
  version: string;
  protocol: number;
}

export interface AdcReading {
  raw: number;
  volts: number;
}

export interface I2cScan {
  bus: number;
  addresses: number[];
}

export interface SensorInfo {
  name: string;
  driver: string;
  /** Quantity name → unit, e.g. { temperature: "°C" }. */
  quantities: Record<string, string>;
  [field: string]: unknown;
}

export interface SensorReading {
  values: Record<string, number>;
  units: Record<string, string>;
}

export interface BoardState {
  pins: JsonObject[];
  leases: JsonObject[];
  sensors: string[];
  /** Changes at every start and reset of the board. */
  bootId: string;
  uptimeS: number;
}

export interface SleepOptions {
  deep: boolean;
  timeMs: number;
}

export type SubscribeOptions = { pin: number; edge?: Edge } | { sensor: string; intervalMs: number };

export interface RequestOptions {
  /** Overrides the connection's per-request timeout for this call. */
  timeoutMs?: number;
}

/** An event as received: `event`, the connection's `seq`, the board's uptime `ts`, and `sub` when it belongs to a subscription. */
export type TetherEvent = BoardEvent;
