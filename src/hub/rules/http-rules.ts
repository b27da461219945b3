// Rules whose action is an HTTP request (a webhook: Domoticz's /json.htm, Node-RED, any
// endpoint). Nothing here waits on the network inside the rules engine: requests run on their
// own, at most one per rule at a time. Why each acts as it does: docs/hub-config.md.
import type { Clock } from '../../common/clock.js';
import type { JsonObject } from '../../protocol/codec.js';
import { hasComparison, type HttpActionConfig, type InputCondition, type ReadingCondition } from '../config.js';
import { escapeForBody, escapeForHeader, escapeForUrl, redactUrl, render, type TriggerFields } from './http-template.js';
import { sendWithRetries, type Fetch, type HttpRequest } from './http-send.js';
import type { RuleRecord } from './record.js';
import { edgeMatches, holds, type Reading } from './runners.js';

/**
 * A reading or edge older than this is not sent: a board's backlog after an outage (protocol.md
 * §10.4) would otherwise reach Domoticz as if it were the current value.
 */
export const HTTP_STALE_S = 60;

export interface HttpCallerDeps {
  fetch: Fetch;
  clock: Clock;
  record: RuleRecord;
}

interface Trigger {
  /** The board it came from: the events log files the rule's events under it. */
  device: string;
  fields: TriggerFields;
  /** What `rule_fired` shows as its trigger. */
  detail: JsonObject;
}

/** Sends one rule's requests: throttled by min_interval_s, one at a time, only the latest trigger waiting. */
export class HttpCaller {
  private lastAccepted = -Infinity;
  private inFlight = false;
  private waiting: Trigger | undefined;
  private closed = false;
  private readonly stop = new AbortController();

  constructor(
    private readonly rule: string,
    private readonly config: HttpActionConfig,
    private readonly deps: HttpCallerDeps,
  ) {}

  trigger(t: Trigger): void {
    const now = this.deps.clock.now();
    if (this.closed || now - this.lastAccepted < this.config.min_interval_s * 1000) return;
    this.lastAccepted = now;
    if (this.inFlight) this.waiting = t;
    else void this.send(t);
  }

  /** Drops what waits and aborts what is under way; nothing is reported for either. */
  close(): void {
    this.closed = true;
    this.waiting = undefined;
    this.stop.abort();
  }

  private async send(t: Trigger): Promise<void> {
    this.inFlight = true;
    try {
      const request = this.request({ ...t.fields, rule: this.rule });
      if (typeof request === 'string') {
        this.deps.record.failed(t.device, { code: 'http_template', message: request });
        return;
      }
      this.deps.record.fire(t.device, { http: { method: request.method, url: redactUrl(request.url) }, trigger: t.detail });
      const outcome = await sendWithRetries(request, { fetch: this.deps.fetch, clock: this.deps.clock, signal: this.stop.signal });
      if (outcome.ok) this.deps.record.settled('http', null);
      else if (outcome.code !== 'aborted') {
        const { code, message, attempts } = outcome;
        this.deps.record.failed(t.device, { code, message, attempts, ...('status' in outcome && outcome.status !== undefined ? { status: outcome.status } : {}), url: redactUrl(request.url) });
      }
    } finally {
      this.inFlight = false;
      const next = this.waiting;
      this.waiting = undefined;
      if (next !== undefined && !this.closed) void this.send(next);
    }
  }

  /** The request for these fields, or why it cannot be made (a `{values.NAME}` the reading lacks). */
  private request(fields: TriggerFields): HttpRequest | string {
    const { url, method, body, headers, timeout_ms: timeoutMs, retries } = this.config;
    const parts = [render(url, fields, escapeForUrl), ...(body !== undefined ? [render(body, fields, escapeForBody)] : [])];
    const rendered = Object.entries(headers).map(([name, value]) => [name, render(value, fields, escapeForHeader)] as const);
    const missing = [...parts, ...rendered.map(([, r]) => r)].find((r) => r.missing !== undefined)?.missing;
    if (missing !== undefined) return `this ${fields.sensor !== undefined ? `reading of ${fields.sensor}` : 'trigger'} has no value for {${missing}}; nothing was sent (check the quantity's name in the sensor's readings)`;
    const sentHeaders: Record<string, string> = Object.fromEntries(rendered.map(([name, r]) => [name, r.text]));
    const renderedBody = parts[1]?.text;
    if (renderedBody !== undefined && !Object.keys(sentHeaders).some((h) => h.toLowerCase() === 'content-type')) {
      sentHeaders['content-type'] = /^\s*[[{]/.test(renderedBody) ? 'application/json' : 'text/plain; charset=utf-8';
    }
    return { ...withoutUserInfo(parts[0]?.text ?? url, sentHeaders), method, ...(renderedBody !== undefined ? { body: renderedBody } : {}), timeoutMs, retries };
  }
}

/**
 * fetch refuses a URL with `user:password@`, which Domoticz setups use for basic
 * authentication: it becomes the Authorization header, unless the rule gives one itself.
 */
function withoutUserInfo(url: string, headers: Record<string, string>): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (u.username === '' && u.password === '') return { url, headers };
  const credentials = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  const given = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
  return { url: u.toString(), headers: given ? headers : { ...headers, authorization: `Basic ${credentials}` } };
}

/**
 * Without a comparison, every reading of the quantity is sent (min_interval_s thins them out);
 * with one, a request goes when the condition starts to hold, not again while it still does.
 */
export class HttpReadingRule {
  readonly staleAfterS = HTTP_STALE_S;
  private holding = false;

  constructor(
    readonly when: ReadingCondition,
    private readonly caller: HttpCaller,
  ) {}

  onReading(reading: Reading): void {
    const v = reading.values[this.when.quantity];
    if (typeof v !== 'number') return;
    if (hasComparison(this.when)) {
      const was = this.holding;
      this.holding = holds(this.when, v);
      if (was || !this.holding) return;
    }
    const fields: Record<string, string> = { device: reading.device, sensor: reading.sensor, quantity: this.when.quantity, value: String(v), ts: new Date(reading.ts).toISOString() };
    for (const [name, value] of Object.entries(reading.values)) fields[`values.${name}`] = String(value);
    this.caller.trigger({ device: reading.device, fields, detail: { device: reading.device, sensor: reading.sensor, [this.when.quantity]: v } });
  }
}

/** Each matching edge sends one request. */
export class HttpInputRule {
  readonly staleAfterS = HTTP_STALE_S;

  constructor(
    readonly when: InputCondition,
    private readonly caller: HttpCaller,
  ) {}

  onEdge(level: number, ts: number): void {
    if (!edgeMatches(this.when.edge, level)) return;
    const { device, pin } = this.when;
    this.caller.trigger({ device, fields: { device, pin: String(pin), value: String(level), ts: new Date(ts).toISOString() }, detail: { device, pin, value: level } });
  }
}
