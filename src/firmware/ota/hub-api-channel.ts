// An OTA channel through a hub's REST API (api.md): each request is POST
// /api/devices/:id/commands, and the board's coming back shows in GET /api/devices/:id.
import { TetherError, type JsonObject } from '../../client/index.js';
import { TRANSIENT_HUB_CODES, type OtaChannel } from './ota-channel.js';
import { OtaError } from './ota-error.js';
import { readStatus } from './ota-requests.js';
import { isRecord, type UpdateStatus } from './update-status.js';

/**
 * An error the hub answered with ({error: {code, message}}), or a failure to reach it: code
 * "unreachable" (check the hub's address and that it runs) or "unauthenticated" (give the API
 * token that the hub's data folder holds, or one it made).
 */
export class HubRequestError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HubRequestError';
  }
}

/** The longest command wait the hub takes (api.md, `timeout_ms`). */
const MAX_COMMAND_MS = 60_000;

export class HubApiChannel implements OtaChannel {
  readonly label: string;
  private readonly base: string;

  constructor(
    hub: URL,
    private readonly device: string,
    private readonly apiToken: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.base = hub.href.replace(/\/+$/, '');
    this.label = `board ${device} (via ${this.base})`;
  }

  async open(): Promise<void> {
    const view = await this.deviceView();
    if (view['online'] !== true) throw new OtaError(this.label, { code: 'board_offline' });
  }

  async request(body: JsonObject, timeoutMs?: number): Promise<JsonObject> {
    const t = Math.min(MAX_COMMAND_MS, Math.max(timeoutMs ?? 0, this.timeoutMs));
    const reply = await this.http('POST', `/api/devices/${encodeURIComponent(this.device)}/commands?timeout_ms=${t}`, body, t + 5000);
    if (reply['ok'] === true) return reply;
    throw TetherError.fromReply(reply);
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
      if (view['online'] !== true) return undefined;
      return await readStatus(this);
    } catch (err) {
      if (this.transient(err)) return undefined;
      throw err;
    }
  }

  transient(err: unknown): boolean {
    // "unreachable" is ours: the hub itself did not answer.
    return err instanceof HubRequestError && (TRANSIENT_HUB_CODES.has(err.code) || err.code === 'unreachable');
  }

  async close(): Promise<void> {
    // fetch keeps no connection of ours open
  }

  private async deviceView(): Promise<JsonObject> {
    const answer = await this.http('GET', `/api/devices/${encodeURIComponent(this.device)}`, undefined, this.timeoutMs);
    const device = answer['device'];
    if (!isRecord(device)) throw new HubRequestError('bad_reply', 200, `the hub's answer to GET /api/devices/${this.device} has no device object`);
    return device;
  }

  private async http(method: 'GET' | 'POST', path: string, body: JsonObject | undefined, timeoutMs: number): Promise<JsonObject> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(this.apiToken === undefined || this.apiToken === '' ? {} : { authorization: `Bearer ${this.apiToken}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new HubRequestError('unreachable', 0, `cannot reach the hub at ${this.base} (${cause})`);
    }
    let answer: unknown;
    try {
      answer = await response.json();
    } catch {
      throw new HubRequestError('bad_reply', response.status, `the hub answered ${method} ${path} with status ${response.status} and a body that is not JSON`);
    }
    if (!isRecord(answer)) throw new HubRequestError('bad_reply', response.status, `the hub answered ${method} ${path} with something other than a JSON object`);
    // A board's reply (relayed by POST …/commands) has "ok"; the hub's own errors do not.
    if ('ok' in answer || response.ok) return answer;
    const error = answer['error'];
    const code = isRecord(error) && typeof error['code'] === 'string' ? error['code'] : 'http_error';
    const message = isRecord(error) && typeof error['message'] === 'string' ? error['message'] : `status ${response.status}`;
    if (code === 'unauthenticated') throw new HubRequestError(code, response.status, `the hub refused the API token (${message})`);
    throw new HubRequestError(code, response.status, `the hub answered ${response.status} ${code}: ${message}`);
  }
}
