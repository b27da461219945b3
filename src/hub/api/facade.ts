// What the HTTP API needs from the hub, and nothing more: the API reads through this and sends
// commands through it, so it can be tested against a fake and the hub can change behind it.
import type { JsonObject } from '../../protocol/codec.js';
import type { BoardAdmin } from '../board-admin.js';
import type { CommandSender, DeviceSensorSummary, DeviceView, EventsQuery, HubInfo, HubUpdate, ReadingBucket, ReadingsQuery, RolloutControl, RuleBook, RuleView, SensorSummary, StorageStatus, StoredEvent } from '../types.js';

export interface HubFacade extends CommandSender {
  devices(): DeviceView[];
  device(id: string): DeviceView | undefined;
  /** The board's last reported state (the `state` event fields: pins, leases, sensors, boot_id, uptime_s), or null before one arrived. */
  state(id: string): JsonObject | null;
  sensors(id: string): Promise<SensorSummary[]>;
  /** Every board's sensors with their latest value. */
  latestSensors(): Promise<DeviceSensorSummary[]>;
  readings(q: ReadingsQuery): Promise<ReadingBucket[]>;
  events(q: EventsQuery): Promise<StoredEvent[]>;
  rules(): RuleView[];
  /** The rules to change: the API's are created, edited, enabled, disabled and deleted through it; the config file's are read-only. */
  ruleBook(): RuleBook;
  /** Whether the hub can write to its store now, and how much it takes. */
  storage(): Promise<StorageStatus>;
  /** The hub itself: its stable id, its version, and its MQTT bridge's connection (null without one). */
  hub(): HubInfo;
  /** The firmware rollouts; null when no module runs them. */
  rollouts(): RolloutControl | null;
  /** Calls the listener with every update until the returned function is called. */
  onUpdate(listener: (u: HubUpdate) => void): () => void;
  /** Registers, re-keys and removes boards; without it the API does not serve those routes. */
  boards?: BoardAdmin;
}

export type { SensorSummary };
