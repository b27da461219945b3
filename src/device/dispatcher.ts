// Validates a request and routes it to the board (protocol.md §5). It never touches hardware:
// everything physical goes through Board.
import { timingSafeEqual } from 'node:crypto';
import { keyOfToken, LABELS, newNonce, proof, proofEquals, sessionKey } from '../protocol/auth.js';
import { ACTION_NAMES, ACTION_SCOPES, scopeAllows, type ActionArgs, type ActionName, type Scope } from '../protocol/actions.js';
import { errorReply, okReply, type JsonObject } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/errors.js';
import type { BoardEvent } from '../protocol/events.js';
import { parseRequest } from '../protocol/request.js';
import { PROTOCOL_VERSION, TETHER_VERSION } from '../protocol/version.js';
import type { Board } from './board.js';
import { GuessLimiter } from './guesses.js';
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
  /**
   * The connection's challenge–response state (protocol.md §8.1); absent where the connection is
   * authenticated another way (the hub link, whose frames are sealed by the link itself).
   */
  readonly handshake?: Handshake;
  /** Who is at the other end, for the log (an address and port); absent on the hub link. */
  readonly peer?: string;
}

/** The nonces of one challenge: the client's and the board's. */
export interface NoncePair {
  client: string;
  board: string;
}

/** What the dispatcher may do to a direct connection's authentication (protocol.md §8.1). */
export interface Handshake {
  /** True once an auth with seal was accepted: every later frame is sealed, both ways. */
  readonly sealed: boolean;
  /** Keeps the nonces of a challenge, replacing any earlier pair. */
  remember(pair: NoncePair): void;
  /** Gives back the pair and forgets it: each challenge serves one auth. */
  takePair(): NoncePair | undefined;
  /** Seals every frame after the reply being built, both ways, with this session key. */
  sealAfterReply(key: Buffer): void;
  /** Ends the connection once the reply being built is sent. */
  closeAfterReply(): void;
}

export interface DispatcherOptions {
  /** Where the board's challenge nonces come from (tests pin them to reproduce vectors). */
  newNonce?: () => string;
}

type Results = JsonObject | undefined;
type Reply = JsonObject | Promise<JsonObject>;
/** An auth whose arguments are in order: what is left is checking the token or the proof. */
type Check = () => JsonObject;
type Handler<A extends ActionName> = (board: Board, args: ActionArgs<A>, ctx: SessionContext) => Results | Promise<Results>;

const RESET_DELAY_MS = 1000;

type Routed = Exclude<ActionName, 'auth' | 'challenge'>;

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
  /** Each token's key (SHA-256 of it, protocol.md §8.1): plain tokens are compared by it too. */
  private readonly tokens: Array<{ key: Buffer; scope: Scope }>;
  private readonly newNonce: () => string;
  private readonly guesses: GuessLimiter;
  /**
   * Set as the board stops: a request still on its way (one that waited out a light sleep, or
   * a transport's queue) must not drive an output after the board has put them all safe.
   */
  private closed = false;

  constructor(
    private readonly board: Board,
    private readonly logger: Logger,
    options: DispatcherOptions = {},
  ) {
    const auth = board.config.auth;
    this.tokens = (typeof auth === 'object' ? auth.tokens : []).map((t) => ({ key: keyOfToken(t.token), scope: t.scope }));
    this.newNonce = options.newNonce ?? newNonce;
    this.guesses = new GuessLimiter(board.clock, logger);
  }

  /** Logs the failed auths not yet logged; called when the board closes. Later requests are refused. */
  close(): void {
    this.closed = true;
    this.guesses.close();
  }

  /** The scope a new connection starts with: everything when the board has no tokens. */
  get initialScope(): Scope | null {
    return this.tokens.length === 0 ? 'admin' : null;
  }

  /** Returns the reply, or a promise of it when the action waits on hardware or sleep. */
  handle(request: JsonObject, ctx: SessionContext): JsonObject | Promise<JsonObject> {
    if (this.closed) return errorReply(request['action'] === 'auth' ? masked(request) : request, { code: 'unsupported', message: 'the board is stopping; connect again once it has restarted' });
    const wake = this.board.sleepingUntil;
    if (wake !== 0) {
      return this.board.clock.sleep(wake - this.board.clock.now()).then(() => this.handle(request, ctx));
    }
    const isAuth = request['action'] === 'auth';
    // The token and the proof are never echoed, accepted or not: replies end up in logs and terminals.
    const echo = isAuth ? masked(request) : request;
    // Any auth uses up the last challenge's nonces, accepted or not, so a captured proof never works twice.
    const pair = isAuth ? ctx.handshake?.takePair() : undefined;
    try {
      const parsed = parseRequest(request);
      if (parsed.action === 'auth') {
        const outcome = this.authenticate(parsed.args, pair, ctx);
        return typeof outcome === 'function' ? this.guess(outcome, request, echo, ctx) : okReply(echo, outcome);
      }
      if (parsed.action === 'challenge') return okReply(echo, this.challenge(parsed.args.nonce, ctx));
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
      if (isAuth) return this.refuseAuth(err, request, echo, ctx);
      return errorReply(echo, this.toWireError(err, typeof request['action'] === 'string' ? request['action'] : '?'));
    }
  }

  /**
   * protocol.md §8: a connection's guess waits longer after each of its failures, and a wrong one
   * is answered only when the board-wide rate allows. The session answers in order, so the wait
   * holds back what the connection sent after it, and nothing else.
   */
  private guess(check: Check, request: JsonObject, echo: JsonObject, ctx: SessionContext): Reply {
    const run = (): Reply => {
      try {
        const results = check();
        this.guesses.succeeded(ctx);
        return okReply(echo, results);
      } catch (err) {
        const reply = this.refuseAuth(err, request, echo, ctx);
        const wait = this.guesses.failed(ctx, ctx.peer ?? 'the hub link');
        return wait > 0 ? this.board.clock.sleep(wait).then(() => reply) : reply;
      }
    };
    const delay = this.guesses.delayBefore(ctx);
    return delay > 0 ? this.board.clock.sleep(delay).then(run) : run();
  }

  private refuseAuth(err: unknown, request: JsonObject, echo: JsonObject, ctx: SessionContext): JsonObject {
    // The client of a failed auth with seal goes on sealing frames that the board cannot open.
    if (request['seal'] === true && ctx.handshake?.sealed === false) ctx.handshake.closeAfterReply();
    return errorReply(echo, this.toWireError(err, 'auth'));
  }

  /** protocol.md §8.1: the board's fresh nonce, remembered with the client's for the next auth. */
  private challenge(clientNonce: string, ctx: SessionContext): JsonObject {
    const handshake = ctx.handshake;
    if (handshake === undefined) throw new ProtocolError('unsupported', 'challenge is for direct connections; this one is authenticated already');
    if (handshake.sealed) throw resealing('challenge');
    const board = this.newNonce();
    handshake.remember({ client: clientNonce, board });
    return { nonce: board };
  }

  /** The reply of an auth that checks nothing, or the check of a token or proof (a guess). */
  private authenticate(args: ActionArgs<'auth'>, pair: NoncePair | undefined, ctx: SessionContext): JsonObject | Check {
    if (ctx.handshake?.sealed === true) throw resealing('auth');
    if (args.token !== undefined && args.proof !== undefined) {
      throw new ProtocolError('bad_field', 'token and proof: send one of them, the proof after a challenge (the token never needs to cross the network)');
    }
    if (args.proof !== undefined) {
      const given = args.proof;
      return this.proofCheck(pair, (p) => this.checkProof(given, args.seal === true, p, ctx));
    }
    if (args.seal === true) throw new ProtocolError('bad_field', 'seal: only an auth with a proof can seal the connection; send challenge, then auth with proof and seal');
    if (args.token === undefined) {
      throw new ProtocolError('missing_field', 'token: required; send {"action":"auth","token":"…"}, or a challenge and then {"action":"auth","proof":"…"}');
    }
    if (this.tokens.length === 0) {
      ctx.grant('admin');
      return { scope: 'admin' };
    }
    const token = args.token;
    return () => ({ scope: this.checkToken(token, ctx) });
  }

  private checkToken(token: string, ctx: SessionContext): Scope {
    const given = keyOfToken(token);
    // Compare against every token so that timing does not tell which one nearly matched.
    let scope: Scope | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.key, given)) scope = t.scope;
    if (scope === undefined) throw new ProtocolError('unauthorized', 'token not accepted; check the token in the board config');
    ctx.grant(scope);
    return scope;
  }

  /** A proof can only be checked against a challenge and a token; without them nothing is guessed. */
  private proofCheck(pair: NoncePair | undefined, check: (pair: NoncePair) => JsonObject): Check {
    if (pair === undefined) {
      throw new ProtocolError('unauthorized', 'no challenge to answer: send {"action":"challenge","nonce":"<32 hex digits>"} first; each challenge serves one auth');
    }
    if (this.tokens.length === 0) {
      throw new ProtocolError('unauthorized', 'this board has no tokens (its config says auth: none), so it cannot prove it knows yours; connect without a token');
    }
    return () => check(pair);
  }

  /** The client's proof against every token's; the reply proves the board knows the token too. */
  private checkProof(given: string, seal: boolean, pair: NoncePair, ctx: SessionContext): JsonObject {
    const { client, board } = pair;
    let match: { key: Buffer; scope: Scope } | undefined;
    for (const t of this.tokens) if (proofEquals(given, proof(t.key, LABELS.direct.client, client, board))) match = t;
    if (match === undefined) throw new ProtocolError('unauthorized', 'proof not accepted: the token is not one of this board\'s; check the token in the board config');
    ctx.grant(match.scope);
    if (seal) ctx.handshake?.sealAfterReply(sessionKey(match.key, LABELS.direct.session, client, board));
    return { scope: match.scope, board_proof: proof(match.key, LABELS.direct.board, client, board) };
  }

  private toWireError(err: unknown, action: string): { code: ProtocolError['code']; message: string } {
    if (err instanceof ProtocolError) return err.toWire();
    this.logger.error(`internal error in ${action}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return { code: 'internal', message: `internal error in ${action}: ${err instanceof Error ? err.message : String(err)}; please report it` };
  }
}

function masked(request: JsonObject): JsonObject {
  const echo = { ...request };
  if (Object.hasOwn(echo, 'token')) echo['token'] = '***';
  if (Object.hasOwn(echo, 'proof')) echo['proof'] = '***';
  return echo;
}

/** A sealed connection keeps the seal and the scope it was given for as long as it lasts. */
function resealing(action: string): ProtocolError {
  return new ProtocolError('unsupported', `${action}: this connection is sealed and keeps its authentication while it lasts; open a new connection to authenticate again`);
}
