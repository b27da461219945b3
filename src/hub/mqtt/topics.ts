// The MQTT bridge's topic names (docs/mqtt.md "Topics" and "Home Assistant discovery"), made and
// parsed in one place so that what the hub publishes, what it subscribes to and what it reads
// back when it looks for stale discovery configs can never disagree. No I/O.
import { DEVICE_ID } from '../config-fields.js';

/** The board id the bridge never bridges: its topics would be the hub's own (`<base>/hub/…`). */
export const HUB_BOARD_ID = 'hub';

/** What an incoming message on one of the bridge's command subscriptions asks for. */
export type CommandTopic =
  | { board: string; kind: 'pin-set' | 'pin-percentage-set'; pin: number }
  | { board: string; kind: 'reset' | 'command' };

export interface DiscoveryTopic {
  component: string;
  nodeId: string;
  objectId: string;
}

// Home Assistant reads node and object ids only from these characters (its discovery topic matcher).
const NOT_DISCOVERY_SAFE = /[^A-Za-z0-9_-]/g;
const DISCOVERY_LEVEL = /^[A-Za-z0-9_-]+$/;
const COMPONENT = /^[a-z_]+$/;
const PIN = /^(0|[1-9][0-9]{0,2})$/;
const PIN_MAX = 255;

/** A topic level Home Assistant accepts as a node or object id: other characters become `_`. */
export function discoverySafe(text: string): string {
  return text.replace(NOT_DISCOVERY_SAFE, '_');
}

export class Topics {
  constructor(
    readonly base: string,
    readonly discoveryPrefix: string,
    readonly hubId: string,
  ) {}

  hubAvailability(): string {
    return `${this.base}/${HUB_BOARD_ID}/availability`;
  }

  boardsOnline(): string {
    return `${this.base}/${HUB_BOARD_ID}/boards_online`;
  }

  board(board: string): { availability: string } {
    return { availability: `${this.of(board)}/availability` };
  }

  pinState(board: string, pin: number): string {
    return `${this.pin(board, pin)}/state`;
  }

  pinSet(board: string, pin: number): string {
    return `${this.pin(board, pin)}/set`;
  }

  pinPercentage(board: string, pin: number): string {
    return `${this.pin(board, pin)}/percentage`;
  }

  pinPercentageSet(board: string, pin: number): string {
    return `${this.pin(board, pin)}/percentage/set`;
  }

  sensor(board: string, sensor: string, quantity: string): string {
    return `${this.of(board)}/sensor/${sensor}/${quantity}`;
  }

  signal(board: string): string {
    return `${this.of(board)}/signal`;
  }

  uptime(board: string): string {
    return `${this.of(board)}/uptime`;
  }

  resetSet(board: string): string {
    return `${this.of(board)}/reset/set`;
  }

  command(board: string): string {
    return `${this.of(board)}/command`;
  }

  reply(board: string): string {
    return `${this.of(board)}/reply`;
  }

  event(board: string): string {
    return `${this.of(board)}/event`;
  }

  /** What the bridge subscribes to for commands (docs/mqtt.md "Topics"); parseCommandTopic reads what arrives. */
  commandSubscriptions(): string[] {
    return [`${this.base}/+/pin/+/set`, `${this.base}/+/pin/+/percentage/set`, `${this.base}/+/reset/set`, `${this.base}/+/command`];
  }

  /** `<hub id>_<board>`: two hubs on one broker never share a discovery topic. */
  nodeId(board: string): string {
    return `${this.hubId}_${discoverySafe(board)}`;
  }

  /** A board entity's retained discovery config topic. */
  discovery(component: string, board: string, objectId: string): string {
    return this.discoveryAt(component, this.nodeId(board), objectId);
  }

  /**
   * The hub device's own configs, under node `<hub id>_hub`: no bridged board can take that node
   * (a board with id `hub` is never bridged), and isOurs() covers it like any other.
   */
  hubDiscovery(component: string, objectId: string): string {
    return this.discoveryAt(component, this.nodeId(HUB_BOARD_ID), objectId);
  }

  /** Where Home Assistant announces itself (`online` when it starts: the configs must be sent again). */
  homeAssistantStatus(): string {
    return `${this.discoveryPrefix}/status`;
  }

  /** Every discovery config topic, for reading back the retained ones when the bridge connects. */
  discoverySubscription(): string {
    return `${this.discoveryPrefix}/+/+/+/config`;
  }

  /** An incoming command topic, or null for one that is not a command topic of a bridged board. */
  parseCommandTopic(topic: string): CommandTopic | null {
    const levels = this.levelsUnder(this.base, topic);
    if (levels === null) return null;
    const [board, ...rest] = levels;
    if (board === undefined || !DEVICE_ID.test(board) || board === HUB_BOARD_ID) return null;
    const path = rest.join('/');
    if (path === 'command') return { board, kind: 'command' };
    if (path === 'reset/set') return { board, kind: 'reset' };
    if (rest[0] !== 'pin' || rest[1] === undefined) return null;
    const pin = parsePin(rest[1]);
    if (pin === null) return null;
    const tail = rest.slice(2).join('/');
    if (tail === 'set') return { board, kind: 'pin-set', pin };
    if (tail === 'percentage/set') return { board, kind: 'pin-percentage-set', pin };
    return null;
  }

  /** `<prefix>/<component>/<node_id>/<object_id>/config`, or null for any other topic. */
  parseDiscoveryTopic(topic: string): DiscoveryTopic | null {
    const levels = this.levelsUnder(this.discoveryPrefix, topic);
    if (levels === null || levels.length !== 4 || levels[3] !== 'config') return null;
    const [component, nodeId, objectId] = levels as [string, string, string, string];
    if (!COMPONENT.test(component) || !DISCOVERY_LEVEL.test(nodeId) || !DISCOVERY_LEVEL.test(objectId)) return null;
    return { component, nodeId, objectId };
  }

  /** Whether a discovery node id is one this hub made (so a stale config under it is the hub's to clear). */
  isOurs(nodeId: string): boolean {
    return nodeId.startsWith(`${this.hubId}_`) && nodeId.length > this.hubId.length + 1;
  }

  private of(board: string): string {
    return `${this.base}/${board}`;
  }

  private pin(board: string, pin: number): string {
    return `${this.of(board)}/pin/${pin}`;
  }

  private discoveryAt(component: string, nodeId: string, objectId: string): string {
    return `${this.discoveryPrefix}/${component}/${nodeId}/${discoverySafe(objectId)}/config`;
  }

  private levelsUnder(root: string, topic: string): string[] | null {
    if (!topic.startsWith(`${root}/`)) return null;
    return topic.slice(root.length + 1).split('/');
  }
}

function parsePin(level: string): number | null {
  if (!PIN.test(level)) return null;
  const pin = Number(level);
  return pin <= PIN_MAX ? pin : null;
}
