// The hub's REST API as the dashboard calls it: the token in the Authorization header, and every
// failure turned into an ApiError with the hub's code (docs/api.md#errors) and its message.
import type { ApiIdentity, ApiScope } from '../../src/hub/api-scope.js';
import type { BoardLinkMaterial, DeviceSensorSummary, DeviceView, DryRun, HubInfo, MqttStatus, NewBoardLink, ReadingBucket, RuleView, SensorSummary, StorageStatus, StoredEvent } from '../../src/hub/types.js';
import type { JsonObject } from '../../src/protocol/json.js';

export type { ApiIdentity, ApiScope, BoardLinkMaterial, DeviceSensorSummary, DeviceView, DryRun, HubInfo, JsonObject, MqttStatus, NewBoardLink, ReadingBucket, RuleView, SensorSummary, StorageStatus, StoredEvent };

/** One problem of a field the hub refused (rule_invalid), at its path inside what was sent (`then.lease_s`). */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Whether the dashboard offers the token its switches and command forms: control and admin
 * tokens. The hub refuses a read token's commands anyway; until whoami answers, nothing is offered.
 */
export function mayControl(identity: ApiIdentity | undefined): boolean {
  return identity?.scope === 'control' || identity?.scope === 'admin';
}

/** Whether the dashboard offers the token what changes the hub's registry of boards (add, new token, remove): admin tokens only. */
export function mayAdmin(identity: ApiIdentity | undefined): boolean {
  return identity?.scope === 'admin';
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status, 0 when the hub could not be reached. */
    readonly status: number,
    /** Each field's problem, when the hub lists them (rule_invalid). */
    readonly problems: readonly FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class Api {
  constructor(readonly token: string) {}

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
    return (await this.request<{ readings: ReadingBucket[] }>('GET', `/api/devices/${encodeURIComponent(id)}/readings?${query}`)).readings;
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

  /** A protocol request to the board; resolves with its success reply, rejects with its refusal. */
  command(id: string, body: JsonObject): Promise<JsonObject> {
    return this.request('POST', `/api/devices/${encodeURIComponent(id)}/commands`, body);
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

  private async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: JsonObject): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw new ApiError('hub_unreachable', `cannot reach the hub at ${location.host}`, 0);
    }
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch {
      throw new ApiError('bad_reply', `the hub answered ${method} ${path} with HTTP ${res.status} and no JSON`, res.status);
    }
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: unknown; message?: unknown; problems?: unknown } }).error;
    const code = typeof error?.code === 'string' ? error.code : 'internal';
    const message = typeof error?.message === 'string' ? error.message : `HTTP ${res.status}`;
    const problems = Array.isArray(error?.problems) ? (error.problems as unknown[]).filter((p): p is FieldProblem => typeof (p as FieldProblem | null)?.path === 'string' && typeof (p as FieldProblem).message === 'string') : [];
    throw new ApiError(code, message, res.status, problems);
  }
}
