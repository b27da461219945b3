// One request of an `http` rule action, tried again after a network error, a timeout or a 5xx
// (a 4xx is the server saying no, which asking again will not change). Node's own fetch (undici).
import type { Clock } from '../../common/clock.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT';
/** The codes of a `rule_failed` event of an http rule (docs/hub-config.md). */
export type HttpFailureCode = 'http_timeout' | 'http_unreachable' | 'http_status';
export type Fetch = typeof globalThis.fetch;

export interface HttpRequest {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Tries after the first. */
  retries: number;
}

export type HttpOutcome =
  | { ok: true; status: number; attempts: number }
  | { ok: false; code: HttpFailureCode; message: string; status?: number; attempts: number }
  /** Stopped by `signal` (the hub is closing): nothing to report. */
  | { ok: false; code: 'aborted'; attempts: number };

export interface SendDeps {
  fetch: Fetch;
  clock: Clock;
  signal: AbortSignal;
}

/** The wait before retry n (1, 2, …): 1 s, 2 s, 4 s, at most 8 s. */
export function retryDelayMs(n: number): number {
  return Math.min(8000, 1000 * 2 ** (n - 1));
}

type Attempt = { status: number; statusText: string } | { error: 'timeout' | 'aborted' } | { error: 'unreachable'; reason: string };

export async function sendWithRetries(req: HttpRequest, deps: SendDeps): Promise<HttpOutcome> {
  const host = hostOf(req.url);
  for (let attempts = 1; ; attempts++) {
    const result = await attempt(req, deps);
    if ('error' in result && result.error === 'aborted') return { ok: false, code: 'aborted', attempts };
    const failure = describe(result, host, req.timeoutMs, attempts);
    if (failure === null && 'status' in result) return { ok: true, status: result.status, attempts };
    const retryable = 'error' in result || result.status >= 500;
    if (failure !== null && (!retryable || attempts > req.retries)) return failure;
    if (!(await wait(retryDelayMs(attempts), deps))) return { ok: false, code: 'aborted', attempts };
  }
}

async function attempt(req: HttpRequest, deps: SendDeps): Promise<Attempt> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  try {
    const response = await deps.fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: AbortSignal.any([deps.signal, timeout]),
    });
    // Nothing of the answer is used; cancelling frees the connection without reading a large one.
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, statusText: response.statusText };
  } catch (err) {
    if (deps.signal.aborted) return { error: 'aborted' };
    if (timeout.aborted) return { error: 'timeout' };
    return { error: 'unreachable', reason: reasonOf(err) };
  }
}

function describe(result: Attempt, host: string, timeoutMs: number, attempts: number): Extract<HttpOutcome, { code: HttpFailureCode }> | null {
  const after = `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  if ('status' in result) {
    if (result.status < 400) return null;
    const hint = result.status < 500 ? 'the server refused the request: check the url, its idx and any credentials' : 'the server failed: see its log';
    return { ok: false, code: 'http_status', status: result.status, attempts, message: `${[result.status, result.statusText].filter((x) => x !== '').join(' ')} from ${host} ${after}; ${hint}` };
  }
  if (result.error === 'timeout') return { ok: false, code: 'http_timeout', attempts, message: `no answer from ${host} within ${timeoutMs} ms, ${after}; check that the server is up, or raise timeout_ms` };
  const reason = result.error === 'unreachable' ? ` (${result.reason})` : '';
  return { ok: false, code: 'http_unreachable', attempts, message: `cannot reach ${host}${reason}, ${after}; check the url's host and port and that the server is running` };
}

/** Waits on the hub's clock; false when the signal stopped it first. */
function wait(ms: number, deps: SendDeps): Promise<boolean> {
  return new Promise((resolve) => {
    if (deps.signal.aborted) return resolve(false);
    const onAbort = () => {
      deps.clock.clearTimer(timer);
      resolve(false);
    };
    const timer = deps.clock.setTimer(ms, () => {
      deps.signal.removeEventListener('abort', onAbort);
      resolve(true);
    });
    deps.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

// undici puts the system's reason (ECONNREFUSED, ENOTFOUND) on the error's cause.
function reasonOf(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
