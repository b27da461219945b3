// Validates a request and routes it to the board (protocol.md §5). It never touches hardware:
// everything physical goes through Board.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ACTION_NAMES, ACTION_SCOPES, scopeAllows, type ActionArgs, type ActionName, type Scope } from '../protocol/actions.js';
import { errorReply, okReply, type JsonObject } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/errors.js';
import type { BoardEvent } from '../protocol/events.js';
import { parseRequest } from '../protocol/request.js';
import { PROTOCOL_VERSION, TETHER_VERSION } from '../protocol/version.js';
import type { Board } from './board.js';
import type { Logger } from './logger.js';

/** What a handler may do to the connection it serves. */
export interface SessionContext {
  /** The token scope this connection holds; null before auth on a board that needs tokens. */
  readonly scope: Scope | null;
  grant(scope: Scope): void;
  /**
   * Starts a subscription under a new id, if the connection may have another: `start` gets the
   * id and returns the function that stops it. Throws limit_exceeded otherwise.
   */
  addSubscription(start: (id: number) => () => void): number;
  removeSubscription(id: number): boolean;
  emit(event: BoardEvent): void;
}

type Results = JsonObject | undefined;
type Handler<A extends ActionName> = (board: Board, args: ActionArgs<A>, ctx: SessionContext) => Results | Promise<Results>;

const RESET_DELAY_MS = 1000;

type Routed = Exclude<ActionName, 'auth'>;

const HANDLERS: { [A in Routed]: Handler<A> } = {
  ping: () => undefined,
  get_version: () => ({ version: TETHER_VERSION, protocol: PROTOCOL_VERSION }),
  get_info: (board) => ({ info: board.info() }),
  list_actions: () => ({ actions: ACTION_NAMES }),
  setup_pin: (board, args) => {
    board.setupPin(args);
    return undefined;
  },
  read_pin: (board, { pin }) => ({ value: board.readPin(pin) }),
  write_pin: (board, { pin, value, timeout }) => ({ lease: board.writePin(pin, value, timeout) }),
  pwm: (board, { pin, freq, duty, timeout }) => ({ lease: board.pwm(pin, freq, duty, timeout) }),
  read_adc: (board, { pin }) => board.readAdc(pin),
  i2c_scan: (board, { bus }) => board.i2cScan(bus),
  list_sensors: (board) => ({ sensors: board.listSensors() }),
  read_sensor: (board, { name }) => board.readSensor(name),
  subscribe: (board, args, ctx) => subscribe(board, args, ctx),
  unsubscribe: (_board, { sub }, ctx) => {
    if (!ctx.removeSubscription(sub)) {
      throw new ProtocolError('bad_field', `sub: no subscription ${sub} on this connection`);
    }
    return undefined;
  },
  get_state: (board) => board.state(),
  reset: (board) => {
    board.scheduleReset(RESET_DELAY_MS);
    return { reset_in_ms: RESET_DELAY_MS };
  },
  sleep: (board, { deep, time_ms }) => {
    if (deep === true) {
      throw new ProtocolError('unsupported', `deep sleep needs a microcontroller; this ${board.hardware.platform} board can only light-sleep (deep: false)`);
    }
    board.lightSleep(time_ms);
    return { sleep_ms: time_ms };
  },
  update: () => {
    throw new ProtocolError('unsupported', 'this runtime is updated with npm, not over the protocol; update is for the MicroPython firmware');
  },
};

function subscribe(board: Board, args: ActionArgs<'subscribe'>, ctx: SessionContext): Results {
  if (args.pin !== undefined && args.sensor !== undefined) {
    throw new ProtocolError('bad_field', 'pin and sensor: give one of them per subscription, not both');
  }
  if (args.pin === undefined && args.sensor === undefined) {
    throw new ProtocolError('missing_field', 'pin or sensor: give one, e.g. {"pin": 5, "edge": "both"} or {"sensor": "air", "interval_ms": 1000}');
  }
  if (args.pin !== undefined) {
    if (args.interval_ms !== undefined) throw new ProtocolError('bad_field', 'interval_ms: only a sensor subscription takes an interval');
    const pin = args.pin;
    const edge = args.edge ?? 'both';
    // An edge carries the time it happened (the kernel's timestamp on Linux), not when it was sent.
    const id = ctx.addSubscription((sub) =>
      board.watchPin(pin, edge, (value, at) => ctx.emit({ event: 'edge', sub, pin, value, ...(at !== undefined ? { ts: Math.round(board.uptimeAt(at)) } : {}) })),
    );
    return { sub: id, pin, edge };
  }
  const sensor = args.sensor as string;
  if (args.edge !== undefined) throw new ProtocolError('bad_field', 'edge: only a pin subscription takes an edge');
  if (args.interval_ms === undefined) throw new ProtocolError('missing_field', 'interval_ms: required for a sensor subscription (at least 50)');
  const interval = args.interval_ms;
  const id = ctx.addSubscription((sub) =>
    board.pollSensor(sensor, interval, (result) => {
      if (result instanceof ProtocolError) ctx.emit({ event: 'sensor_error', sub, sensor, error: result.toWire() });
      else ctx.emit({ event: 'reading', sub, sensor, values: result.values, units: result.units });
    }),
  );
  return { sub: id, sensor, interval_ms: interval };
}

export class Dispatcher {
  private readonly tokenDigests: Array<{ digest: Buffer; scope: Scope }>;

  constructor(
    private readonly board: Board,
    private readonly logger: Logger,
  ) {
    this.tokenDigests = (board.config.auth?.tokens ?? []).map((t) => ({ digest: digest(t.token), scope: t.scope }));
  }

  /** The scope a new connection starts with: everything when the board has no tokens. */
  get initialScope(): Scope | null {
    return this.tokenDigests.length === 0 ? 'admin' : null;
  }

  /** Returns the reply, or a promise of it when the action waits on hardware or sleep. */
  handle(request: JsonObject, ctx: SessionContext): JsonObject | Promise<JsonObject> {
    const wake = this.board.sleepingUntil;
    if (wake !== 0) {
      return this.board.clock.sleep(wake - this.board.clock.now()).then(() => this.handle(request, ctx));
    }
    // The token is never echoed, accepted or not: replies end up in logs and terminals.
    const echo = request['action'] === 'auth' && Object.hasOwn(request, 'token') ? { ...request, token: '***' } : request;
    try {
      const parsed = parseRequest(request);
      if (parsed.action === 'auth') return okReply(echo, { scope: this.authenticate(parsed.args.token, ctx) });
      const needed = ACTION_SCOPES[parsed.action];
      if (ctx.scope === null ? needed !== null : !scopeAllows(ctx.scope, needed)) {
        throw new ProtocolError(
          'unauthorized',
          ctx.scope === null
            ? `${parsed.action} needs a token with ${needed ?? 'read'} scope; send {"action":"auth","token":"…"} first`
            : `${parsed.action} needs a token with ${needed ?? 'read'} scope; this connection holds ${ctx.scope}`,
        );
      }
      const handler = HANDLERS[parsed.action] as Handler<Routed>;
      const results = handler(this.board, parsed.args, ctx);
      if (results instanceof Promise) {
        return results.then(
          (r) => okReply(echo, r),
          (err: unknown) => errorReply(echo, this.toWireError(err, parsed.action)),
        );
      }
      return okReply(echo, results);
    } catch (err) {
      return errorReply(echo, this.toWireError(err, typeof request['action'] === 'string' ? request['action'] : '?'));
    }
  }

  private authenticate(token: string, ctx: SessionContext): Scope {
    if (this.tokenDigests.length === 0) {
      ctx.grant('admin');
      return 'admin';
    }
    const given = digest(token);
    // Compare against every token so that timing does not tell which one nearly matched.
    let scope: Scope | undefined;
    for (const t of this.tokenDigests) if (timingSafeEqual(t.digest, given)) scope = t.scope;
    if (scope === undefined) throw new ProtocolError('unauthorized', 'token not accepted; check the token in the board config');
    ctx.grant(scope);
    return scope;
  }

  private toWireError(err: unknown, action: string): { code: ProtocolError['code']; message: string } {
    if (err instanceof ProtocolError) return err.toWire();
    this.logger.error(`internal error in ${action}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return { code: 'internal', message: `internal error in ${action}: ${err instanceof Error ? err.message : String(err)}; please report it` };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
