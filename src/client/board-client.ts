// One connection to a board speaking protocol v1 (protocol.md §2–§7). Requests may be
// pipelined; replies come back in request order, so each reply settles the oldest pending
// slot. Events (lines with `event` and no `ok`) go to events() streams and subscriptions.
import type { Socket } from 'node:net';
import {
  LineDecoder,
  decodeFrame,
  encodeFrame,
  isEventMessage,
  type JsonObject,
  type Scope,
} from '../protocol/index.js';
import { isNonce, keyOfToken, LABELS, newNonce, proof, proofEquals, SealError, Sealer, sessionKey, Unsealer } from '../protocol/auth.js';
import { TetherError } from './errors.js';
import { DEFAULT_EVENT_BUFFER } from './event-queue.js';
import { arrayOf, field, isBit, isNumber, isObject, isString, recordOf } from './reply-fields.js';
import { EventStream, Subscription } from './subscription.js';
import type {
  AdcReading,
  Bit,
  BoardState,
  I2cScan,
  Lease,
  PwmOptions,
  RequestOptions,
  SensorInfo,
  SensorReading,
  SetupPinOptions,
  SleepOptions,
  SubscribeOptions,
  TetherEvent,
  VersionInfo,
  WritePinOptions,
} from './types.js';

export const DEFAULT_TIMEOUT_MS = 5000;
/**
 * Longest reply line accepted by default. A reply echoes its request (up to the board's 64 KiB
 * frame limit) and adds results, so it may be longer than any request.
 */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;
/** How long close() waits for the board to close its side before destroying the socket. */
const CLOSE_GRACE_MS = 2000;

export interface BoardClientOptions {
  /** host:port, used in error messages. */
  remote: string;
  timeoutMs?: number;
  maxFrameBytes?: number;
  eventBufferSize?: number;
}

interface Slot {
  action: string;
  resolve(reply: JsonObject): void;
  reject(error: TetherError): void;
  timer: NodeJS.Timeout | undefined;
  /** Settled by its timeout: the late reply still takes this slot and is dropped. */
  timedOut: boolean;
  /** Runs synchronously when the reply arrives, before any later line is read. */
  onReply: ((reply: JsonObject) => void) | undefined;
}

export class BoardClient {
  /** host:port of the board. */
  readonly remote: string;
  /** Resolves once the socket has closed, for whatever reason. Never rejects. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly timeoutMs: number;
  private readonly eventBufferSize: number;
  private readonly decoder: LineDecoder;
  private readonly slots: Slot[] = [];
  private readonly streams = new Set<EventStream>();
  private readonly subscriptions = new Map<number, Subscription>();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private socketError: Error | undefined;
  /** Set by authenticate(): this client's frames after its auth line are sealed (protocol.md §8.1). */
  private sealer: Sealer | undefined;
  /** Set by authenticate(): the board's frames after its auth reply are sealed. */
  private unsealer: Unsealer | undefined;
  /** A line failed its seal: nothing more from this connection is read. */
  private sealBroken = false;

  /** Wraps a connected socket; use connect() rather than calling this. */
  constructor(socket: Socket, options: BoardClientOptions) {
    this.socket = socket;
    this.remote = options.remote;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.eventBufferSize = options.eventBufferSize ?? DEFAULT_EVENT_BUFFER;
    this.decoder = new LineDecoder(options.maxFrameBytes ?? DEFAULT_MAX_REPLY_BYTES);
    const sink = {
      frame: (bytes: Buffer) => this.onFrame(bytes),
      oversize: (limit: number) => this.onBadLine(`a line longer than ${limit} bytes (raise maxFrameBytes if the board really sends that much)`),
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, sink));
    socket.on('error', (err) => {
      this.socketError ??= err;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.onClose();
        resolve();
      });
    });
  }

  /** False once close() was called or the connection dropped. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * Writes every message in one write (pipelined) and resolves with every reply, in order.
   * Error replies are returned, not thrown; a timeout or a dropped connection rejects.
   */
  send(batch: readonly object[], options: RequestOptions = {}): Promise<JsonObject[]> {
    try {
      return Promise.all(this.pipeline(batch, options));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new TypeError(String(err)));
    }
  }

  /**
   * Like send(), but one promise per message, so replies can be used as they arrive and a
   * timeout spoils only its own entry. Attach a handler to every promise: each may reject.
   * Throws (synchronously) when the connection is not open or a message cannot be encoded.
   */
  pipeline(batch: readonly object[], options: RequestOptions = {}): Promise<JsonObject>[] {
    if (batch.length === 0) return [];
    if (this.state !== 'open') throw this.notOpenError(batch[0]);
    const text = batch.map((message) => this.encode(message)).join('');
    const replies = batch.map((message) => this.enqueue(actionOf(message), options.timeoutMs ?? this.timeoutMs));
    this.socket.write(text);
    return replies;
  }

  /** Sends one request; resolves with its reply, or throws TetherError with the board's code when ok is false. */
  async request(message: object, options: RequestOptions = {}): Promise<JsonObject> {
    const reply = await this.exchange(message, options, undefined);
    if (reply['ok'] !== true) throw TetherError.fromReply(reply);
    return reply;
  }

  /** Round trip in milliseconds. */
  async ping(): Promise<number> {
    const start = performance.now();
    await this.request({ action: 'ping' });
    return performance.now() - start;
  }

  /** Plain auth (protocol.md §8): sends the token in clear. connect() uses authenticate() unless told otherwise. */
  async auth(token: string): Promise<Scope> {
    return field(await this.request({ action: 'auth', token }), 'scope', isScope, 'read, actuate or admin');
  }

  /**
   * Challenge and response (protocol.md §8.1): proves that this client holds `token` without
   * sending it, checks that the board holds it too, and seals every later frame both ways. The
   * board's proof is checked before anything else is sent: a board that cannot give it (a
   * wrong address, or a device posing as the board) gets nothing, and the connection is closed
   * (`board_unverified`). A board that does not know `challenge` is `challenge_unsupported`.
   * `newNonce` is for tests that reproduce the protocol's vectors.
   */
  async authenticate(token: string, options: { newNonce?: () => string } = {}): Promise<Scope> {
    if (this.sealer !== undefined) {
      throw new TetherError('unsupported', `the connection to ${this.remote} is sealed and keeps its authentication while it lasts; open a new connection to authenticate again`);
    }
    const mine = (options.newNonce ?? newNonce)();
    const challenge = await this.exchange({ action: 'challenge', nonce: mine }, {}, undefined);
    if (challenge['ok'] !== true) {
      const refusal = TetherError.fromReply(challenge);
      if (refusal.code !== 'unknown_action') throw refusal;
      throw new TetherError(
        'challenge_unsupported',
        `${this.remote} does not know the challenge action (firmware older than challenge and response, or another server), so it could only take the token in clear, where anyone on the network can read it. Update the board; or, on a network you trust, pass auth: 'plain' (CLI: --plain-auth)`,
        { reply: challenge, cause: refusal },
      );
    }
    const theirs = field(challenge, 'nonce', isNonce, '32 lowercase hex digits');
    const key = keyOfToken(token);
    const expected = proof(key, LABELS.direct.board, mine, theirs);
    const sealKey = sessionKey(key, LABELS.direct.session, mine, theirs);
    let verified = false;
    const pending = this.exchange({ action: 'auth', proof: proof(key, LABELS.direct.client, mine, theirs), seal: true }, {}, (reply) => {
      // Runs before the next line is read: every line after this reply is sealed.
      verified = reply['ok'] === true && proofEquals(reply['board_proof'], expected);
      if (verified) this.unsealer = new Unsealer(sealKey, LABELS.direct.toClient);
    });
    this.sealer = new Sealer(sealKey, LABELS.direct.toBoard);
    const reply = await pending;
    if (reply['ok'] !== true) throw TetherError.fromReply(reply);
    if (!verified) {
      this.socket.destroy();
      throw new TetherError(
        'board_unverified',
        `${this.remote} could not prove that it knows the token, so it is not the board the token belongs to: check the address (another board, or a device posing as this one, answers there); nothing was sent to it but the proof, which is no use to it`,
        { reply },
      );
    }
    return field(reply, 'scope', isScope, 'read, actuate or admin');
  }

  async getVersion(): Promise<VersionInfo> {
    const reply = await this.request({ action: 'get_version' });
    return { version: field(reply, 'version', isString, 'string'), protocol: field(reply, 'protocol', isNumber, 'number') };
  }

  async getInfo(): Promise<JsonObject> {
    return field(await this.request({ action: 'get_info' }), 'info', isObject, 'object');
  }

  async listActions(): Promise<string[]> {
    return arrayOf(await this.request({ action: 'list_actions' }), 'actions', isString, 'names');
  }

  async setupPin(options: SetupPinOptions): Promise<void> {
    const { safeValue, ...rest } = options;
    await this.request({ action: 'setup_pin', ...rest, ...(safeValue === undefined ? {} : { safe_value: safeValue }) });
  }

  async readPin(pin: number): Promise<Bit> {
    return field(await this.request({ action: 'read_pin', pin }), 'value', isBit, '0 or 1');
  }

  /** Sets an output; with a timeout the board puts the pin back to its safe value when it expires. */
  async writePin(pin: number, value: Bit, options: WritePinOptions = {}): Promise<Lease | null> {
    return parseLease(await this.request({ action: 'write_pin', pin, value, ...options }));
  }

  async pwm(pin: number, options: PwmOptions): Promise<Lease | null> {
    return parseLease(await this.request({ action: 'pwm', pin, ...options }));
  }

  async readAdc(pin: number): Promise<AdcReading> {
    const reply = await this.request({ action: 'read_adc', pin });
    return { raw: field(reply, 'raw', isNumber, 'number'), volts: field(reply, 'volts', isNumber, 'number') };
  }

  async i2cScan(bus?: number): Promise<I2cScan> {
    const reply = await this.request({ action: 'i2c_scan', ...(bus === undefined ? {} : { bus }) });
    return { bus: field(reply, 'bus', isNumber, 'number'), addresses: arrayOf(reply, 'addresses', isNumber, 'numbers') };
  }

  async listSensors(): Promise<SensorInfo[]> {
    const isSensor = (v: unknown): v is SensorInfo =>
      isObject(v) && isString(v['name']) && isString(v['driver']) && isObject(v['quantities']);
    return arrayOf(await this.request({ action: 'list_sensors' }), 'sensors', isSensor, '{name, driver, quantities}');
  }

  async readSensor(name: string): Promise<SensorReading> {
    const reply = await this.request({ action: 'read_sensor', name });
    return { values: recordOf(reply, 'values', isNumber, 'numbers'), units: recordOf(reply, 'units', isString, 'unit names') };
  }

  async getState(): Promise<BoardState> {
    const reply = await this.request({ action: 'get_state' });
    return {
      pins: arrayOf(reply, 'pins', isObject, 'objects'),
      leases: arrayOf(reply, 'leases', isObject, 'objects'),
      sensors: arrayOf(reply, 'sensors', isString, 'sensor names'),
      bootId: field(reply, 'boot_id', isString, 'a string'),
      uptimeS: field(reply, 'uptime_s', isNumber, 'a number'),
    };
  }

  async reset(): Promise<void> {
    await this.request({ action: 'reset' });
  }

  async sleep(options: SleepOptions): Promise<void> {
    await this.request({ action: 'sleep', deep: options.deep, time_ms: options.timeMs });
  }

  /** Subscribes to a pin's edges or a sensor's readings; iterate the result for its events. */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const message =
      'pin' in options
        ? { action: 'subscribe', pin: options.pin, ...(options.edge === undefined ? {} : { edge: options.edge }) }
        : { action: 'subscribe', sensor: options.sensor, interval_ms: options.intervalMs };
    let subscription: Subscription | undefined;
    // Registered before the next line is read, so an event right behind the reply is not missed.
    const reply = await this.exchange(message, {}, (r) => {
      const id = r['sub'];
      if (r['ok'] !== true || typeof id !== 'number') return;
      subscription = new Subscription(id, this.eventBufferSize, (sub) => this.unsubscribe(sub));
      this.subscriptions.set(id, subscription);
    });
    if (reply['ok'] !== true) throw TetherError.fromReply(reply);
    if (subscription === undefined) return field(reply, 'sub', (_v): _v is never => false, 'number');
    return subscription;
  }

  /**
   * Every event on this connection from now on (lease_expired, edges, readings, …). Each call
   * returns its own stream; close it, or break out of the loop, when done.
   */
  events(): EventStream {
    const stream = new EventStream(this.eventBufferSize, (s) => this.streams.delete(s));
    if (this.state === 'closed') stream.close();
    else this.streams.add(stream);
    return stream;
  }

  /**
   * Ends the connection cleanly: no new requests; replies already asked for may still arrive;
   * resolves once the socket has closed.
   */
  async close(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.socket.end();
      const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      await this.closed;
      clearTimeout(timer);
    }
    await this.closed;
  }

  private exchange(message: object, options: RequestOptions, onReply: Slot['onReply']): Promise<JsonObject> {
    if (this.state !== 'open') return Promise.reject(this.notOpenError(message));
    let text: string;
    try {
      text = this.encode(message);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new TypeError(String(err)));
    }
    const reply = this.enqueue(actionOf(message), options.timeoutMs ?? this.timeoutMs, onReply);
    this.socket.write(text);
    return reply;
  }

  private enqueue(action: string, timeoutMs: number, onReply?: Slot['onReply']): Promise<JsonObject> {
    return new Promise<JsonObject>((resolve, reject) => {
      const slot: Slot = { action, resolve, reject, timer: undefined, timedOut: false, onReply };
      slot.timer = setTimeout(() => {
        slot.timedOut = true;
        reject(
          new TetherError(
            'timeout',
            `no reply to ${action} from ${this.remote} within ${timeoutMs} ms; the board may be busy or hung (raise the timeout, or check it with ping)`,
          ),
        );
      }, timeoutMs);
      this.slots.push(slot);
    });
  }

  /** One frame as it goes on the wire: sealed once authenticate() sealed the connection. */
  private encode(message: object): string {
    const line = encodeFrame(message);
    return this.sealer === undefined ? line : `${this.sealer.sealText(line.slice(0, -1))}\n`;
  }

  /** A received line without its seal; undefined when it failed, and then the connection is closed. */
  private unseal(line: Buffer): Buffer | undefined {
    if (this.unsealer === undefined) return line;
    try {
      return this.unsealer.open(line);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      this.socketError ??= new Error(`${err.message}; something on the network path changed or injected a line, so the connection was closed`);
      this.sealBroken = true;
      this.socket.destroy();
      return undefined;
    }
  }

  private onFrame(line: Buffer): void {
    if (this.sealBroken) return;
    const bytes = this.unseal(line);
    if (bytes === undefined) return;
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      const code = decoded.error.code;
      const what = code === 'bad_utf8' ? 'a line that is not UTF-8' : code === 'bad_json' ? 'a line that is not JSON' : 'a line that is JSON but not an object';
      this.onBadLine(`${what} (${preview(bytes)})`);
      return;
    }
    const message = decoded.message;
    if (isEventMessage(message)) {
      this.onEvent(message as TetherEvent);
      return;
    }
    if (typeof message['ok'] !== 'boolean') {
      this.onBadLine(`a JSON object with neither a boolean "ok" (a reply) nor an "event" field (${preview(bytes)})`);
      return;
    }
    const slot = this.slots.shift();
    // A reply with no request outstanding has nothing to settle; it is dropped.
    if (slot === undefined || slot.timedOut) return;
    clearTimeout(slot.timer);
    slot.onReply?.(message);
    slot.resolve(message);
  }

  /** A line that is no reply still takes the oldest slot, keeping later replies aligned. */
  private onBadLine(reason: string): void {
    const slot = this.slots.shift();
    if (slot === undefined || slot.timedOut) return;
    clearTimeout(slot.timer);
    slot.reject(new TetherError('bad_reply', `${this.remote} answered ${slot.action} with ${reason}; check that it is a Tether board speaking protocol v1`));
  }

  private onEvent(event: TetherEvent): void {
    for (const stream of this.streams) stream.push(event);
    const sub = event['sub'];
    if (typeof sub === 'number') this.subscriptions.get(sub)?.push(event);
  }

  private async unsubscribe(subscription: Subscription): Promise<void> {
    this.subscriptions.delete(subscription.id);
    subscription.end();
    if (this.state !== 'open') return;
    try {
      await this.request({ action: 'unsubscribe', sub: subscription.id });
    } catch (err) {
      // The board forgets subscriptions with the connection; nothing is left to undo.
      if (err instanceof TetherError && err.code === 'connection_closed') return;
      throw err;
    }
  }

  private onClose(): void {
    const wasClosing = this.state === 'closing';
    this.state = 'closed';
    const why = this.socketError !== undefined ? ` (${this.socketError.message})` : wasClosing ? ' (closed by this client)' : ' (closed by the board)';
    for (const slot of this.slots.splice(0)) {
      clearTimeout(slot.timer);
      if (!slot.timedOut) {
        slot.reject(new TetherError('connection_closed', `the connection to ${this.remote} closed before the reply to ${slot.action} arrived${why}`, { cause: this.socketError }));
      }
    }
    for (const stream of [...this.streams]) stream.close();
    for (const sub of this.subscriptions.values()) sub.end();
    this.subscriptions.clear();
  }

  private notOpenError(message: unknown): TetherError {
    const what = this.state === 'closing' ? 'is closing' : 'is closed';
    return new TetherError('connection_closed', `cannot send ${actionOf(message)}: the connection to ${this.remote} ${what}`);
  }
}

function isScope(value: unknown): value is Scope {
  return value === 'read' || value === 'actuate' || value === 'admin';
}

function actionOf(message: unknown): string {
  const action = isObject(message) ? message['action'] : undefined;
  return typeof action === 'string' ? action : 'the request';
}

function preview(bytes: Buffer): string {
  const text = bytes.subarray(0, 60).toString('utf8');
  return JSON.stringify(bytes.length > 60 ? `${text}…` : text);
}

function parseLease(reply: JsonObject): Lease | null {
  const lease = reply['lease'];
  if (lease === null || lease === undefined) return null;
  if (isObject(lease) && isNumber(lease['value']) && isNumber(lease['safe_value']) && isNumber(lease['expires_in_s'])) {
    return { value: lease['value'], safeValue: lease['safe_value'], expiresInS: lease['expires_in_s'] };
  }
  return field(reply, 'lease', (_v): _v is never => false, '{value, safe_value, expires_in_s} or null');
}
