// An OTA channel inside the hub: requests go through the hub's command router to a linked board
// (the facade's command), which adds the commit's manifest_mac with the board's key
// (src/hub/update-mac.ts). Typed by what it uses, so that the firmware library imports nothing
// of the hub.
import { TetherError, type JsonObject } from '../../client/index.js';
import { TRANSIENT_HUB_CODES, type OtaChannel } from './ota-channel.js';
import { OtaError } from './ota-error.js';
import { readStatus } from './ota-requests.js';
import type { UpdateStatus } from './update-status.js';

/** What the channel needs of the hub. */
export interface HubCommands {
  /** Resolves with the board's reply (`ok: false` with its error included); rejects with a coded error when it cannot reach the board. */
  command(deviceId: string, request: JsonObject, options?: { timeoutMs?: number }): Promise<JsonObject>;
  /** Whether the board is linked now. */
  isOnline(deviceId: string): boolean;
}

/** The hub's own command wait when the request names none (its CommandOptions default). */
const DEFAULT_COMMAND_MS = 10_000;

export class HubCommandChannel implements OtaChannel {
  readonly label: string;

  constructor(
    private readonly hub: HubCommands,
    private readonly device: string,
    private readonly timeoutMs: number = DEFAULT_COMMAND_MS,
  ) {
    this.label = `board ${device}`;
  }

  open(): Promise<void> {
    return this.hub.isOnline(this.device) ? Promise.resolve() : Promise.reject(new OtaError(this.label, { code: 'board_offline' }));
  }

  async request(body: JsonObject, timeoutMs?: number): Promise<JsonObject> {
    const reply = await this.hub.command(this.device, body, { timeoutMs: Math.max(timeoutMs ?? 0, this.timeoutMs) });
    if (reply['ok'] === true) return reply;
    throw TetherError.fromReply(reply);
  }

  /** The hub's command adds it. */
  commitProof(): JsonObject {
    return {};
  }

  committed(): Promise<void> {
    // Nothing to close: the board's link goes down and comes back by itself.
    return Promise.resolve();
  }

  async pollStatus(): Promise<UpdateStatus | undefined> {
    if (!this.hub.isOnline(this.device)) return undefined;
    try {
      return await readStatus(this);
    } catch (err) {
      if (this.transient(err)) return undefined;
      throw err;
    }
  }

  transient(err: unknown): boolean {
    if (!(err instanceof Error) || !('code' in err)) return false;
    return typeof err.code === 'string' && TRANSIENT_HUB_CODES.has(err.code);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
