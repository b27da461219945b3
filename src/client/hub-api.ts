// The hub's REST API (docs/api.md) as one typed client, for the dashboard in the browser and the
// CLI in Node alike: it needs nothing but fetch, so the web bundle imports this file as it is.
// Every failure is a HubApiError with a stable code: the hub's own (docs/api.md#error-codes), a
// board's refusal relayed by the hub (with the board's reply), or one of this client's:
// `hub_unreachable` (nothing answered at the address) and `bad_reply` (the answer was not the
// API's JSON).
import type { ApiIdentity } from '../hub/api-scope.js';
import type { DeviceSensorSummary, DeviceView, DryRun, HubInfo, NewBoardLink, ReadingBucket, ReleaseView, RolloutView, RuleView, StorageStatus, StoredEvent } from '../hub/types.js';
import { isObject, type JsonObject } from '../protocol/json.js';

/** One problem of a field the hub refused (rule_invalid), at its path inside what was sent (`then.lease_s`). */
export interface FieldProblem {
  path: string;
  message: string;
}

export class HubApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status, 0 when the hub could not be reached. */
    readonly status: number,
    /** Field by field, what the hub refused in what was sent (rule_invalid); else empty. */
    readonly problems: readonly FieldProblem[] = [],
    /** The board's own reply, when this is a board's refusal the hub relayed. */
    readonly reply?: JsonObject,
  ) {
    super(message);
    this.name = 'HubApiError';
  }
}

export interface HubApiOptions {
  /** The hub's HTTP address (`http://127.0.0.1:8080`); empty: the page's own origin, as the dashboard is served by the hub. */
  base?: string;
  /** An API token (docs/api.md#tokens); sent as `Authorization: Bearer`. */
  token?: string;
  /** Each request's time limit in ms; none by default (the browser has its own). */
  timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class HubApi {
  readonly base: string;
  readonly token: string | undefined;
  private readonly timeoutMs: number | undefined;

  constructor(options: HubApiOptions = {}) {
    this.base = (options.base ?? '').replace(/\/+$/, '');
    this.token = options.token === '' ? undefined : options.token;
    this.timeoutMs = options.timeoutMs;
  }

  /** Where the hub is, for messages: its address, or the page's host in the dashboard. */
  get where(): string {
    // `location` is the browser's; Node has none (and its types do not declare it).
    const page = (globalThis as { location?: { host: string } }).location;
    return this.base !== '' ? this.base : (page?.host ?? 'this page');
  }

  health(): Promise<{ ok: true; version: string; devices: number; online: number; storage: StorageStatus }> {
    return this.request('GET', '/api/health');
  }

  /** The hub's id, version and MQTT bridge (null without one). */
  hub(): Promise<HubInfo> {
    return this.request('GET', '/api/hub');
  }

  /** The token's name and scope. */
  whoami(): Promise<ApiIdentity> {
    return this.request('GET', '/api/whoami');
  }

  async devices(): Promise<DeviceView[]> {
    return (await this.request<{ devices: DeviceView[] }>('GET', '/api/devices')).devices;
  }

  async device(id: string): Promise<DeviceView> {
    const answer = await this.request<{ device?: unknown }>('GET', `/api/devices/${encodeURIComponent(id)}`);
    if (!isObject(answer.device)) throw new HubApiError('bad_reply', `the hub's answer to GET /api/devices/${id} has no device object`, 200);
    return answer.device as unknown as DeviceView;
  }

  async sensors(): Promise<DeviceSensorSummary[]> {
    return (await this.request<{ sensors: DeviceSensorSummary[] }>('GET', '/api/sensors')).sensors;
  }

  /** The board's last reported state (get_state's fields), or null before it reported one. */
  async state(id: string): Promise<JsonObject | null> {
    return (await this.request<{ state: JsonObject | null }>('GET', `/api/devices/${encodeURIComponent(id)}/state`)).state;
  }

  async events(id: string, limit: number): Promise<StoredEvent[]> {
    return (await this.request<{ events: StoredEvent[] }>('GET', `/api/devices/${encodeURIComponent(id)}/events?limit=${limit}`)).events;
  }

  async readings(id: string, q: { sensor: string; quantity: string; from: number; to: number; bucketMs: number }): Promise<ReadingBucket[]> {
    const query = new URLSearchParams({ sensor: q.sensor, quantity: q.quantity, from: String(Math.floor(q.from)), to: String(Math.ceil(q.to)), bucket_ms: String(q.bucketMs) });
    return (await this.request<{ readings: ReadingBucket[] }>('GET', `/api/devices/${encodeURIComponent(id)}/readings?${query.toString()}`)).readings;
  }

  async rules(): Promise<RuleView[]> {
    return (await this.request<{ rules: RuleView[] }>('GET', '/api/rules')).rules;
  }

  /** Makes a rule or binding (a hub config rules[] or bindings[] entry); needs an admin token. */
  async createRule(definition: JsonObject): Promise<RuleView> {
    return (await this.request<{ rule: RuleView }>('POST', '/api/rules', definition)).rule;
  }

  /** Replaces a rule made through the API; the definition may rename it. */
  async updateRule(name: string, definition: JsonObject): Promise<RuleView> {
    return (await this.request<{ rule: RuleView }>('PUT', `/api/rules/${encodeURIComponent(name)}`, definition)).rule;
  }

  async setRuleEnabled(name: string, enabled: boolean): Promise<RuleView> {
    return (await this.request<{ rule: RuleView }>('POST', `/api/rules/${encodeURIComponent(name)}/${enabled ? 'enable' : 'disable'}`)).rule;
  }

  async deleteRule(name: string): Promise<void> {
    await this.request('DELETE', `/api/rules/${encodeURIComponent(name)}`);
  }

  /** What a listed rule, or a definition not saved, would have done over the last hour. */
  dryRun(rule: { name: string } | { definition: JsonObject }): Promise<DryRun> {
    return 'name' in rule ? this.request('GET', `/api/rules/${encodeURIComponent(rule.name)}/dry-run`) : this.request('POST', '/api/rules/dry-run', rule.definition);
  }

  /**
   * A protocol request to the board; resolves with its success reply. A board's refusal rejects
   * with its code and its reply (`reply`); `waitMs` is how long the hub waits for the board
   * (docs/api.md, `timeout_ms`).
   */
  command(id: string, body: JsonObject, options: { waitMs?: number } = {}): Promise<JsonObject> {
    const query = options.waitMs !== undefined ? `?timeout_ms=${options.waitMs}` : '';
    // The hub answers within its own wait; this client's limit must not end the request first.
    const limit = options.waitMs !== undefined && this.timeoutMs !== undefined ? Math.max(this.timeoutMs, options.waitMs + 5000) : this.timeoutMs;
    return this.request('POST', `/api/devices/${encodeURIComponent(id)}/commands${query}`, body, limit);
  }

  /** Registers a board (admin); the answer holds its token and link material, shown this once. */
  registerBoard(id: string, name?: string): Promise<NewBoardLink> {
    return this.request('POST', '/api/devices', name !== undefined ? { id, name } : { id });
  }

  /** A new token for the board (admin); the old one stops working at once. */
  rotateBoardToken(id: string): Promise<NewBoardLink> {
    return this.request('POST', `/api/devices/${encodeURIComponent(id)}/token`);
  }

  /** Unregisters the board and closes its link (admin). */
  async removeBoard(id: string): Promise<void> {
    await this.request('DELETE', `/api/devices/${encodeURIComponent(id)}`);
  }

  /** The firmware releases the hub keeps, oldest first: what a rollout may send. */
  async releases(): Promise<ReleaseView[]> {
    return (await this.request<{ releases: ReleaseView[] }>('GET', '/api/releases')).releases;
  }

  /** The firmware rollouts, newest first, each with every board's wave, progress and result. */
  async rollouts(): Promise<RolloutView[]> {
    return (await this.request<{ rollouts: RolloutView[] }>('GET', '/api/rollouts')).rollouts;
  }

  async rollout(id: number): Promise<RolloutView> {
    return (await this.request<{ rollout: RolloutView }>('GET', `/api/rollouts/${id}`)).rollout;
  }

  /** Rolls a stored release out to `boards` (admin): the first `waveSize` of them first, the rest once each of those confirmed it. */
  async startRollout(request: { version: string; boards: string[]; waveSize?: number }): Promise<RolloutView> {
    const body: JsonObject = { version: request.version, boards: request.boards, ...(request.waveSize !== undefined ? { wave_size: request.waveSize } : {}) };
    return (await this.request<{ rollout: RolloutView }>('POST', '/api/rollouts', body)).rollout;
  }

  /** Cancels a running rollout (admin): no board starts, the updates under way are aborted. */
  async cancelRollout(id: number): Promise<RolloutView> {
    return (await this.request<{ rollout: RolloutView }>('POST', `/api/rollouts/${id}/cancel`)).rollout;
  }

  private async request<T>(method: Method, path: string, body?: JsonObject, timeoutMs = this.timeoutMs): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(timeoutMs !== undefined ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      });
    } catch (err) {
      const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new HubApiError('hub_unreachable', `cannot reach the hub at ${this.where} (${cause})`, 0);
    }
    let answer: unknown;
    try {
      answer = await res.json();
    } catch {
      throw new HubApiError('bad_reply', `the hub answered ${method} ${path} with HTTP ${res.status} and no JSON`, res.status);
    }
    if (!isObject(answer)) throw new HubApiError('bad_reply', `the hub answered ${method} ${path} with something other than a JSON object`, res.status);
    if (res.ok && answer['ok'] !== false) return answer as T;
    // A board's reply (relayed by POST …/commands) has "ok"; the hub's own errors do not.
    const error = answer['error'];
    const code = isObject(error) && typeof error['code'] === 'string' ? error['code'] : 'internal';
    const message = isObject(error) && typeof error['message'] === 'string' ? error['message'] : `HTTP ${res.status}`;
    const problems = isObject(error) && Array.isArray(error['problems']) ? error['problems'].filter((p): p is FieldProblem => isObject(p) && typeof p['path'] === 'string' && typeof p['message'] === 'string') : [];
    throw new HubApiError(code, message, res.status, problems, 'ok' in answer ? answer : undefined);
  }
}
