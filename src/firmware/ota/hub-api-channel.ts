// An OTA channel through a hub's REST API (api.md), with the API's client (client/hub-api.ts):
// each request is POST /api/devices/:id/commands, and the board's coming back shows in
// GET /api/devices/:id. The hub's own refusals are HubApiErrors; a board's, TetherErrors.
import { HubApi, HubApiError } from '../../client/hub-api.js';
import { TetherError, type JsonObject } from '../../client/index.js';
import { TRANSIENT_HUB_CODES, type OtaChannel } from './ota-channel.js';
import { OtaError } from './ota-error.js';
import { readStatus } from './ota-requests.js';
import type { DeviceView } from '../../hub/types.js';
import type { UpdateStatus } from './update-status.js';

/** The longest command wait the hub takes (api.md, `timeout_ms`). */
const MAX_COMMAND_MS = 60_000;

export class HubApiChannel implements OtaChannel {
  readonly label: string;
  private readonly api: HubApi;

  constructor(
    hub: URL,
    private readonly device: string,
    apiToken: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.api = new HubApi({ base: hub.href, ...(apiToken !== undefined ? { token: apiToken } : {}), timeoutMs });
    this.label = `board ${device} (via ${this.api.base})`;
  }

  async open(): Promise<void> {
    const view = await this.deviceView();
    if (!view.online) throw new OtaError(this.label, { code: 'board_offline' });
  }

  async request(body: JsonObject, timeoutMs?: number): Promise<JsonObject> {
    const t = Math.min(MAX_COMMAND_MS, Math.max(timeoutMs ?? 0, this.timeoutMs));
    try {
      return await this.api.command(this.device, body, { waitMs: t });
    } catch (err) {
      if (err instanceof HubApiError && err.reply !== undefined) throw TetherError.fromReply(err.reply);
      throw err;
    }
  }

  /** The hub signs the commit it relays with the board's link key. */
  commitProof(): JsonObject {
    return {};
  }

  async committed(): Promise<void> {
    // Nothing to close: the hub notices the board going away and coming back.
  }

  async pollStatus(): Promise<UpdateStatus | undefined> {
    try {
      const view = await this.deviceView();
      if (!view.online) return undefined;
      return await readStatus(this);
    } catch (err) {
      if (this.transient(err)) return undefined;
      throw err;
    }
  }

  transient(err: unknown): boolean {
    // hub_unreachable: the hub itself did not answer.
    return err instanceof HubApiError && (TRANSIENT_HUB_CODES.has(err.code) || err.code === 'hub_unreachable');
  }

  async close(): Promise<void> {
    // fetch keeps no connection of ours open
  }

  private deviceView(): Promise<DeviceView> {
    return this.api.device(this.device);
  }
}
