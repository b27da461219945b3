// A scriptable fake board for client and CLI tests: a real TCP (or TLS) server on 127.0.0.1,
// port 0, that reads protocol lines and answers through a handler the test can replace.
// The default handler gives canned replies; tests inject faults (delays, split writes,
// garbage lines, closes) by setting `board.handler`.
// Reply shapes are checked against the real runtime in real-board.test.ts; this fake is for faults.
// It knows challenge and response with sealing (protocol.md §8.1) for GOOD_TOKEN, as a board does.
import net from 'node:net';
import tls from 'node:tls';
import { keyOfToken, LABELS, newNonce, proof, proofEquals, Sealer, sessionKey, Unsealer } from '../../src/protocol/auth.js';
import { ACTION_NAMES, LineDecoder, encodeFrame, type JsonObject } from '../../src/protocol/index.js';

export const GOOD_TOKEN = 'fake-board-token-0123456789';

export class FakeConnection {
  /** Every request received on this connection, in order. */
  readonly received: JsonObject[] = [];
  /** Number of 'data' chunks the server read. */
  chunks = 0;
  readonly pins = new Map<number, { mode: string; value: number }>();
  nextSub = 1;
  /** Every byte received, as it came (sealed lines with their seal). */
  raw = Buffer.alloc(0);
  /** The nonces of the last challenge, until an auth uses them. */
  nonces: { client: string; board: string } | undefined;
  /** Set by an accepted auth with seal: applied once its reply is sent. */
  sealKey: Buffer | undefined;
  sealer: Sealer | undefined;
  unsealer: Unsealer | undefined;
  private seq = 0;

  constructor(readonly socket: net.Socket) {}

  send(message: object): void {
    const line = encodeFrame(message);
    this.socket.write(this.sealer === undefined ? line : Buffer.concat([this.sealer.seal(line.slice(0, -1)), Buffer.from('\n')]));
    if (this.sealKey !== undefined) {
      this.sealer = new Sealer(this.sealKey, LABELS.direct.toClient);
      this.unsealer = new Unsealer(this.sealKey, LABELS.direct.toBoard);
      this.sealKey = undefined;
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends an event with this connection's next seq and a fake uptime. */
  event(fields: JsonObject): void {
    this.send({ ...fields, seq: ++this.seq, ts: 1000 + this.seq });
  }

  /** Writes `data` in separate writes cut at the given byte offsets, pausing between them. */
  async writeSplit(data: Buffer, cuts: readonly number[], pauseMs = 10): Promise<void> {
    const points = [0, ...[...cuts].sort((a, b) => a - b), data.length];
    for (let i = 0; i + 1 < points.length; i++) {
      const piece = data.subarray(points[i], points[i + 1]);
      if (piece.length === 0) continue;
      await new Promise<void>((resolve) => this.socket.write(piece, () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

export type Handler = (request: JsonObject, conn: FakeConnection, board: FakeBoard) => void;

export interface FakeBoardOptions {
  handler?: Handler;
  /** Serve TLS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export class FakeBoard {
  handler: Handler;
  readonly connections: FakeConnection[] = [];
  private readonly waiters: ((conn: FakeConnection) => void)[] = [];
  private readonly server: net.Server;

  private constructor(options: FakeBoardOptions) {
    this.handler = options.handler ?? answer;
    const onSocket = (socket: net.Socket) => this.accept(socket);
    this.server = options.tls !== undefined ? tls.createServer({ key: options.tls.key, cert: options.tls.cert }, onSocket) : net.createServer(onSocket);
  }

  static async start(options: FakeBoardOptions = {}): Promise<FakeBoard> {
    const board = new FakeBoard(options);
    await new Promise<void>((resolve, reject) => {
      board.server.once('error', reject);
      board.server.listen(0, '127.0.0.1', () => resolve());
    });
    return board;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('fake board is not listening');
    return address.port;
  }

  /** The next connection accepted; call it before connecting. */
  nextConnection(): Promise<FakeConnection> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const conn of this.connections) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const conn = new FakeConnection(socket);
    this.connections.push(conn);
    this.waiters.shift()?.(conn);
    const decoder = new LineDecoder();
    socket.on('data', (chunk: Buffer) => {
      conn.chunks++;
      conn.raw = Buffer.concat([conn.raw, chunk]);
      decoder.push(chunk, {
        frame: (line) => {
          let bytes: Buffer;
          try {
            bytes = conn.unsealer === undefined ? line : conn.unsealer.open(line);
          } catch {
            socket.destroy();
            return;
          }
          let request: JsonObject;
          try {
            request = JSON.parse(bytes.toString('utf8')) as JsonObject;
          } catch {
            conn.send({ ok: false, error: { code: 'bad_json', message: 'the frame is not valid JSON' } });
            return;
          }
          conn.received.push(request);
          this.handler(request, conn, this);
        },
        oversize: () => conn.send({ ok: false, error: { code: 'frame_too_large', message: 'too long' } }),
      });
    });
  }
}

export function ok(request: JsonObject, results: JsonObject = {}): JsonObject {
  return { ...request, ...results, ok: true };
}

export function fail(request: JsonObject, code: string, message: string): JsonObject {
  return { ...request, ok: false, error: { code, message } };
}

/** The canned reply to a request, with a little per-connection pin state. */
export function reply(request: JsonObject, conn: FakeConnection): JsonObject {
  const pin = typeof request['pin'] === 'number' ? request['pin'] : -1;
  const notSetUp = () => fail(request, 'pin_not_setup', `pin ${pin} is not set up; call setup_pin first`);
  switch (request['action']) {
    case 'ping':
    case 'reset':
    case 'sleep':
    case 'unsubscribe':
      return ok(request);
    case 'challenge': {
      const board = newNonce();
      conn.nonces = { client: String(request['nonce']), board };
      return ok(request, { nonce: board });
    }
    case 'auth': {
      if (request['proof'] === undefined) {
        return request['token'] === GOOD_TOKEN ? ok(request, { scope: 'admin' }) : fail(request, 'unauthorized', 'unknown token');
      }
      const nonces = conn.nonces;
      conn.nonces = undefined;
      const key = keyOfToken(GOOD_TOKEN);
      if (nonces === undefined || !proofEquals(request['proof'], proof(key, LABELS.direct.client, nonces.client, nonces.board))) {
        return fail({ ...request, proof: '***' }, 'unauthorized', 'unknown token');
      }
      if (request['seal'] === true) conn.sealKey = sessionKey(key, LABELS.direct.session, nonces.client, nonces.board);
      return ok({ ...request, proof: '***' }, { scope: 'admin', board_proof: proof(key, LABELS.direct.board, nonces.client, nonces.board) });
    }
    case 'get_version':
      return ok(request, { version: '0.1.0', protocol: 1 });
    case 'get_info':
    case 'get_resource_info':
      return ok(request, { info: { board: 'fake board', mem_free: 1000 } });
    case 'list_actions':
      return ok(request, { actions: ACTION_NAMES });
    case 'setup_pin':
      conn.pins.set(pin, { mode: String(request['mode']), value: typeof request['value'] === 'number' ? request['value'] : 0 });
      return ok(request);
    case 'read_pin': {
      const state = conn.pins.get(pin);
      return state === undefined ? notSetUp() : ok(request, { value: state.value });
    }
    case 'write_pin': {
      const state = conn.pins.get(pin);
      if (state === undefined) return notSetUp();
      state.value = Number(request['value']);
      const timeout = request['timeout'];
      return ok(request, { lease: typeof timeout === 'number' && state.value !== 0 ? { value: state.value, safe_value: 0, expires_in_s: timeout } : null });
    }
    case 'pwm':
      return ok(request, { lease: { value: request['duty'], safe_value: 0, expires_in_s: request['timeout'] } });
    case 'read_adc':
      return ok(request, { raw: 32768, volts: 1.65 });
    case 'i2c_scan':
      return ok(request, { bus: request['bus'] ?? 0, addresses: [0x38, 0x48] });
    case 'list_sensors':
      return ok(request, { sensors: [{ name: 'air', driver: 'aht10', quantities: { temperature: '°C', humidity: '%' } }] });
    case 'read_sensor':
      return request['name'] === 'air'
        ? ok(request, { values: { temperature: 21.5, humidity: 40.25 }, units: { temperature: '°C', humidity: '%' } })
        : fail(request, 'bad_field', `name: no sensor named ${JSON.stringify(request['name'])}`);
    case 'subscribe':
      return ok(request, { sub: conn.nextSub++ });
    case 'get_state':
      return ok(request, { pins: [...conn.pins].map(([p, s]) => ({ pin: p, ...s })), leases: [] });
    default:
      return fail(request, 'unknown_action', `action: no action named ${JSON.stringify(request['action'])}`);
  }
}

/** The default handler: answer at once with the canned reply. */
export const answer: Handler = (request, conn) => conn.send(reply(request, conn));
