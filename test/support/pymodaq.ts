// PyMoDAQ's side of `tether device`'s ZeroMQ transport (docs/pymodaq.md), for tests: the device
// CLI started on free loopback ports with its banner read, and the Python clients of
// test/device/pymodaq/zmqlink_client.py (Debian's python3-zmq; CI installs it in .ci/run)
// driven one JSON command at a time.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BIN, collect, ROOT, type CliResult } from '../cli/run-cli.js';
import { LineClient } from './line-client.js';

export const BENCH_CONFIG = path.join(ROOT, 'examples', 'bench.yaml');
const DRIVER = path.join(ROOT, 'test', 'device', 'pymodaq', 'zmqlink_client.py');

/** The Python that has pyzmq: TETHER_PYZMQ_PYTHON, else Debian's, which python3-zmq installs for. */
export function pyzmqPython(): string {
  const chosen = process.env['TETHER_PYZMQ_PYTHON'];
  return chosen !== undefined && chosen !== '' ? chosen : '/usr/bin/python3';
}

/**
 * The `skip` option for these tests: false when that Python imports zmq. Without it, a
 * developer's run skips them and says how to get it; CI (CI=true) must not skip, so there they
 * run and fail.
 */
export const SKIP_WITHOUT_PYZMQ: string | false =
  spawnSync(pyzmqPython(), ['-c', 'import zmq'], { stdio: 'ignore' }).status === 0 || process.env['CI'] === 'true'
    ? false
    : `no pyzmq for ${pyzmqPython()}: apt-get install python3-zmq (or set TETHER_PYZMQ_PYTHON to a python3 that has it)`;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A PyMoDAQ reply: `{"state": "ACK" | "ERROR", "value": …}`. */
export interface Reply {
  state: 'ACK' | 'ERROR';
  value: Json;
}

export interface DeviceProcess {
  child: ChildProcess;
  pid: number;
  /** Protocol v1's TCP port. */
  port: number;
  pymodaqPort: number;
  endpoint: string;
  banner: string;
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s. */
  stop(): Promise<CliResult>;
}

const BANNER = /listening on 127\.0\.0\.1:(\d+), plain TCP; PyMoDAQ \(ZeroMQ\) on 127\.0\.0\.1:(\d+)/;

/** `tether device --sim --config <config>` on free loopback ports, once it has printed its banner. */
export async function startPymodaqDevice(config: string = BENCH_CONFIG): Promise<DeviceProcess> {
  const child = spawn(process.execPath, [BIN, 'device', '--sim', '--config', config, '--host', '127.0.0.1', '--port', '0', '--pymodaq-port', '0'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = collect(child, 10 * 60_000);
  exited.catch(() => undefined);
  let seen = '';
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 20 s; stdout: ${seen}\nstderr: ${stderr}`)), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      seen += chunk;
      const end = seen.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolve(seen.slice(0, end));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tether device exited early (code ${String(code)}); stdout: ${seen}\nstderr: ${stderr}`));
    });
  });
  const match = BANNER.exec(banner);
  if (match === null || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error(`the banner does not name both listeners: ${banner}`);
  }
  const pymodaqPort = Number(match[2]);
  return {
    child,
    pid: child.pid,
    port: Number(match[1]),
    pymodaqPort,
    endpoint: `tcp://127.0.0.1:${pymodaqPort}`,
    banner,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          return await exited;
        } finally {
          clearTimeout(killer);
        }
      }
      return exited;
    },
  };
}

/** A copy of examples/bench.yaml with `pymodaq` fields changed, in a fresh temporary folder. */
export function benchConfigWith(pymodaq: JsonObject): { file: string; remove(): void } {
  const doc = parseYaml(fs.readFileSync(BENCH_CONFIG, 'utf8')) as Record<string, unknown>;
  const current = (doc['pymodaq'] ?? {}) as Record<string, unknown>;
  doc['pymodaq'] = { ...current, ...pymodaq };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-pymodaq-'));
  const file = path.join(dir, 'bench.yaml');
  fs.writeFileSync(file, stringifyYaml(doc));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The resident set size of a process, in bytes (Linux: /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(kb?.[1] !== undefined, `no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

/** What one driver command gives back: `ok` false when the driver itself failed (a bad command). */
export type DriverResult = JsonObject & { ok: boolean };

/** A request's outcome, as the plugin's link sees it. */
export interface Exchange {
  reply: Reply;
  /** Frames of the reply after the envelope: 1; 0 when it timed out. */
  frames: number;
  /** The request timed out, so the link closed its socket and opened one with a new identity. */
  reconnected: boolean;
  identity: string;
}

/** The Python side: one process holding any number of named DEALER / REQ clients. */
export class PyMoDAQClients {
  private readonly pending = new Map<number, (result: DriverResult) => void>();
  private nextId = 1;
  private err = '';
  private exitedWith: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const result = JSON.parse(buffered.slice(0, end)) as DriverResult;
        buffered = buffered.slice(end + 1);
        const resolve = this.pending.get(result['id'] as number);
        this.pending.delete(result['id'] as number);
        resolve?.(result);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.err += s));
    child.once('exit', (code, signal) => {
      this.exitedWith = `the Python clients exited (${String(code ?? signal)}): ${this.err}`;
      for (const resolve of this.pending.values()) resolve({ ok: false, error: this.exitedWith });
      this.pending.clear();
    });
  }

  static start(): PyMoDAQClients {
    const child = spawn(pyzmqPython(), ['-u', DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', () => undefined);
    return new PyMoDAQClients(child);
  }

  /** Sends one command to the driver and resolves with its result line. */
  run(command: JsonObject): Promise<DriverResult> {
    if (this.exitedWith !== undefined) return Promise.resolve({ ok: false, error: this.exitedWith });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin?.write(JSON.stringify({ ...command, id }) + '\n');
    });
  }

  /** As run, but a driver failure throws. */
  async must(command: JsonObject): Promise<DriverResult> {
    const result = await this.run(command);
    assert.equal(result.ok, true, `driver command ${JSON.stringify(command)} failed: ${JSON.stringify(result)}`);
    return result;
  }

  /** Opens a client (a DEALER scans first, as the plugin does, unless `scan` is false) and returns its scan reply, if any. */
  async open(name: string, endpoint: string, options: { kind?: 'dealer' | 'req'; timeoutMs?: number; scan?: boolean } = {}): Promise<{ identity: string; scan?: Reply }> {
    const kind = options.kind ?? 'dealer';
    const result = await this.must({ op: 'open', name, endpoint, kind, timeout_ms: options.timeoutMs ?? 2000, scan: options.scan ?? kind === 'dealer' });
    return { identity: result['identity'] as string, ...(result['scan'] !== undefined ? { scan: result['scan'] as unknown as Reply } : {}) };
  }

  /** One request/reply on a client: `body` as JSON, or `text` / `bytes` sent as they are. */
  async exchange(name: string, request: { body: Json } | { text: string } | { bytes: Buffer }): Promise<Exchange> {
    const payload: JsonObject = 'body' in request ? { body: request.body } : 'text' in request ? { text: request.text } : { b64: request.bytes.toString('base64') };
    return asExchange(await this.must({ op: 'request', name, ...payload }));
  }

  /** The reply to a JSON request. */
  async request(name: string, body: Json): Promise<Reply> {
    return (await this.exchange(name, { body })).reply;
  }

  /** The plugin's grab: AQ-MULTI of the addresses (no channel) then the pins. */
  async multiAcquisition(name: string, addresses: string[], pins: number[]): Promise<Reply> {
    return asExchange(await this.must({ op: 'multi_acquisition', name, addresses, pins })).reply;
  }

  /** The plugin's move: PI with a float value and the pin as a string. */
  async pilotage(name: string, pin: number, value: number): Promise<Reply> {
    return asExchange(await this.must({ op: 'pilotage', name, pin, value })).reply;
  }

  /** Raw frames on a client's socket (strings as UTF-8, Buffers as they are); no reply awaited. */
  async send(name: string, frames: (string | Buffer)[]): Promise<void> {
    await this.must({ op: 'send', name, frames: frames.map((f) => (typeof f === 'string' ? f : { b64: f.toString('base64') })) });
  }

  /** The next raw message on a client's socket, as UTF-8 texts, or undefined after timeoutMs. */
  async recv(name: string, timeoutMs: number): Promise<string[] | undefined> {
    const result = await this.must({ op: 'recv', name, timeout_ms: timeoutMs });
    if (result['timeout'] === true) return undefined;
    return (result['frames'] as JsonObject[]).map((f) => {
      assert.ok(typeof f['text'] === 'string', `a reply frame is not UTF-8: ${JSON.stringify(f)}`);
      return f['text'];
    });
  }

  async close(name: string): Promise<void> {
    await this.must({ op: 'close', name });
  }

  /** Closes stdin (the driver closes its sockets and exits); kills it if it has not within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  }
}

function asExchange(result: DriverResult): Exchange {
  return { reply: result['reply'] as unknown as Reply, frames: result['frames'] as number, reconnected: result['reconnected'] as boolean, identity: result['identity'] as string };
}

/** A JSON value that must be a reply object (an item of AQ-MULTI or PI-MULTI). */
export function asReply(value: Json | undefined, what = 'the item'): Reply {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${what}: expected a reply object, got ${JSON.stringify(value)}`);
  assert.ok(value['state'] === 'ACK' || value['state'] === 'ERROR', `${what}: expected a state, got ${JSON.stringify(value)}`);
  assert.ok('value' in value, `${what}: no value in ${JSON.stringify(value)}`);
  return { state: value['state'], value: value['value'] };
}

/** Asserts an ACK and returns its value. */
export function ack(reply: Reply, what = 'the request'): Json {
  assert.equal(reply.state, 'ACK', `${what}: expected ACK, got ${JSON.stringify(reply)}`);
  return reply.value;
}

/** Asserts an ERROR whose value is "<code>: <what to send instead>" and returns the code. */
export function errorCode(reply: Reply, what = 'the request'): string {
  assert.equal(reply.state, 'ERROR', `${what}: expected ERROR, got ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.value, 'string', `${what}: the ERROR's value is a message`);
  const match = /^([a-z_]+): \S/.exec(reply.value as string);
  assert.ok(match?.[1] !== undefined, `${what}: the ERROR's value starts with a code and a colon: ${JSON.stringify(reply.value)}`);
  return match[1];
}

/**
 * A protocol v1 client on the TCP port that keeps the events it receives apart from its
 * replies. It pings at once: a board without tokens closes a connection that sends nothing.
 */
export class V1Client {
  readonly events: JsonObject[] = [];

  private constructor(private readonly line: LineClient) {}

  static async connect(port: number): Promise<V1Client> {
    const client = new V1Client(await LineClient.connect(port));
    assert.equal((await client.request({ action: 'ping' }))['ok'], true);
    return client;
  }

  /** Sends a request and returns its reply; events that arrive first are kept in `events`. */
  async request(message: JsonObject, timeoutMs = 5000): Promise<JsonObject> {
    await this.line.send(message);
    for (;;) {
      const frame = (await this.line.next(timeoutMs)) as JsonObject;
      if (typeof frame['event'] === 'string' && !('ok' in frame)) this.events.push(frame);
      else return frame;
    }
  }

  /** Waits for an event matching `match` (among those already kept, or arriving before timeoutMs). */
  async event(match: (event: JsonObject) => boolean, what: string, timeoutMs: number): Promise<JsonObject> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.pull(left))) throw new Error(`${what}: no such event within ${timeoutMs} ms; events: ${JSON.stringify(this.events)}`);
    }
  }

  /** The events kept so far, after reading what arrives within `ms`. */
  async eventsAfter(ms: number): Promise<JsonObject[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.pull(left))) return this.events;
    }
  }

  /** Keeps the next event; false when none came within timeoutMs. */
  private async pull(timeoutMs: number): Promise<boolean> {
    let frame: JsonObject;
    try {
      frame = (await this.line.next(timeoutMs)) as JsonObject;
    } catch (e) {
      if (this.line.closed) throw e;
      return false;
    }
    assert.equal(typeof frame['event'], 'string', `a reply arrived while only events were expected: ${JSON.stringify(frame)}`);
    this.events.push(frame);
    return true;
  }

  /** The pin's entry in get_state. */
  async pinState(pin: number): Promise<JsonObject> {
    const state = await this.request({ action: 'get_state' });
    assert.equal(state['ok'], true, JSON.stringify(state));
    const entry = (state['pins'] as JsonObject[]).find((p) => p['pin'] === pin);
    assert.ok(entry !== undefined, `pin ${pin} is not in get_state: ${JSON.stringify(state)}`);
    return entry;
  }

  close(): void {
    this.line.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
