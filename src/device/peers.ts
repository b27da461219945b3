// Following other boards without a hub (docs/board-config.md#peers): this board is a protocol-v1
// client of each peer (the client SDK), and drives its own outputs from what the peer reports.
// Every local write is a lease renewed only while the peer keeps answering, so a peer that dies,
// or a network that drops, leaves the output at its safe value within lease_s. The firmware's
// counterpart is firmware/tether/peers.py, with the same config and the same mapping.
import { readFile } from 'node:fs/promises';
import { connect, TetherError, type BoardClient, type Subscription, type TetherEvent } from '../client/index.js';
import { hostPort } from '../common/address.js';
import type { Clock } from '../common/clock.js';
import type { Board } from './board.js';
import { ConfigError, peerOutput, type BoardConfig, type PeerConfig, type PeerRule } from './config.js';
import type { Logger } from './logger.js';

const DIAL_MS = 3000;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 30_000;

/** The local output's value for a value the peer reported; `last` is what the rule gave before. */
export function mappedValue(rule: PeerRule, value: number, last: number | undefined): number {
  if (rule.sensor === undefined) return rule.invert === true ? 1 - value : value;
  if (rule.range !== undefined) {
    const [lo, hi] = rule.range;
    const [dLo, dHi] = rule.duty ?? [0, 1];
    const f = Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
    return Math.round((dLo + (dHi - dLo) * f) * 1e4) / 1e4;
  }
  const { on, off } = rule.threshold ?? { on: 0, off: 0 };
  // Between the two thresholds the output keeps what it had (off until a threshold is crossed).
  if (on > off ? value >= on : value <= on) return 1;
  if (on > off ? value <= off : value >= off) return 0;
  return last ?? 0;
}

interface Bound {
  rule: PeerRule;
  pin: number;
  pwm: boolean;
}

export interface Peers {
  /** Each peer's state, for logs and tests. */
  status(): Array<{ name: string; up: boolean; connections: number; lastError: string | undefined }>;
  close(): Promise<void>;
}

/** Starts following every peer of the config; a token_file that cannot be read stops the start. */
export async function startPeers(config: Readonly<BoardConfig>, board: Board, clock: Clock, logger: Logger): Promise<Peers> {
  const followers: PeerFollower[] = [];
  for (const [i, peer] of config.peers.entries()) {
    const token = peer.token_file === undefined ? peer.token : await readToken(peer.token_file, i);
    const rules = peer.follow.map((rule) => {
      const out = peerOutput(config, rule.to);
      if (out === undefined) throw new Error(`peers[${i}]: ${String(rule.to)} is not an output (the config check lets no such rule through)`);
      return { rule, ...out };
    });
    followers.push(new PeerFollower(peer, token, rules, board, clock, logger));
  }
  for (const f of followers) f.start();
  return {
    status: () => followers.map((f) => f.status()),
    close: async () => {
      await Promise.all(followers.map((f) => f.close()));
    },
  };
}

async function readToken(file: string, index: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(`peers[${index}].token_file`, [`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); put the followed board's token there`]);
  }
}

class PeerFollower {
  private readonly last = new Map<number, number>();
  private client: BoardClient | undefined;
  private closed = false;
  private up = false;
  private connections = 0;
  private lastError: string | undefined;
  /** What this connection has logged already. */
  private readonly said = new Set<string>();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly peer: PeerConfig,
    private readonly token: string | undefined,
    private readonly rules: readonly Bound[],
    private readonly board: Board,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  status() {
    return { name: this.peer.name, up: this.up, connections: this.connections, lastError: this.lastError };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.client?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let ceiling = BACKOFF_FIRST_MS;
    while (!this.closed) {
      const before = this.lastError;
      try {
        await this.once();
        this.lastError = 'the connection closed';
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
      }
      if (this.up) ceiling = BACKOFF_FIRST_MS;
      this.up = false;
      if (this.closed) break;
      // Once per kind of failure, not at every retry.
      if (this.lastError !== before) this.logger.warn(`peer ${this.peer.name} (${hostPort(this.peer.host, this.peer.port)}): ${this.lastError}; retrying`);
      await this.pause(Math.floor(Math.random() * ceiling));
      ceiling = Math.min(BACKOFF_MAX_MS, ceiling * 2);
    }
  }

  /**
   * The board's clock, cut short by close() or by `until` settling first; either way its timer is
   * cleared, and it clears only its own wake, never a later pause's.
   */
  private async pause(ms: number, until?: Promise<unknown>): Promise<void> {
    let wake: (() => void) | undefined;
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const slept = new Promise<void>((resolve) => {
      wake = resolve;
      timer = this.clock.setTimer(ms, resolve);
    });
    this.wake = wake;
    try {
      await (until === undefined ? slept : Promise.race([slept, until]));
    } finally {
      if (timer !== undefined) this.clock.clearTimer(timer);
      if (this.wake === wake) this.wake = undefined;
    }
  }

  private async once(): Promise<void> {
    const p = this.peer;
    // Requests time out within a lease, so a peer gone without a FIN is noticed before long.
    const timeoutMs = Math.min(5000, p.lease_s * 1000);
    const client = await connect({ host: p.host, port: p.port, connectTimeoutMs: DIAL_MS, timeoutMs, ...(this.token === undefined ? {} : { token: this.token }) });
    this.client = client;
    try {
      if (this.closed) return;
      this.up = true;
      this.connections++;
      this.said.clear();
      const subs: Array<Promise<void>> = [];
      const inputs = [...new Set(this.rules.flatMap((b) => (b.rule.input === undefined ? [] : [b.rule.input])))];
      const sensors = [...new Set(this.rules.flatMap((b) => (b.rule.sensor === undefined ? [] : [b.rule.sensor])))];
      for (const pin of inputs) {
        const sub = await this.refused(client.subscribe({ pin, edge: 'both' }));
        if (sub !== undefined) subs.push(this.consume(sub, (b) => b.rule.input === pin, (e) => e['value']));
      }
      for (const sensor of sensors) {
        const sub = await this.refused(client.subscribe({ sensor, intervalMs: p.every_ms }));
        if (sub !== undefined) subs.push(this.consume(sub, (b) => b.rule.sensor === sensor, (e, b) => valueOf(e['values'], b.rule.quantity)));
      }
      await this.poll(client);
      await Promise.allSettled(subs);
    } finally {
      this.client = undefined;
      await client.close();
    }
  }

  /** Pins are asked every every_ms (an input's edges come at once besides); with none, a ping keeps the peer proven alive. */
  private async poll(client: BoardClient): Promise<void> {
    const pins = [...new Set(this.rules.flatMap((b) => (b.rule.sensor === undefined ? [b.rule.input ?? b.rule.output ?? -1] : [])))];
    while (!this.closed && client.isOpen) {
      if (pins.length === 0) await client.ping();
      for (const pin of pins) {
        const value = await this.refused(client.readPin(pin));
        for (const b of this.rules) if (b.rule.sensor === undefined && (b.rule.input ?? b.rule.output) === pin) this.apply(b, value);
      }
      await this.pause(this.peer.every_ms, client.closed);
    }
  }

  /**
   * A request the peer refused (a rule naming a sensor it lacks, a pin that is not an input) is
   * said once and its rules renew nothing, while the other rules go on; a timeout or a closed
   * connection still ends the connection.
   */
  private async refused<T>(request: Promise<T>): Promise<T | undefined> {
    try {
      return await request;
    } catch (err) {
      if (!(err instanceof TetherError) || err.reply === undefined) throw err;
      this.say(`the board refused ${String(err.reply['action'])}: ${err.code}: ${err.message}`, '');
      return undefined;
    }
  }

  private async consume(sub: Subscription, matches: (b: Bound) => boolean, value: (e: TetherEvent, b: Bound) => unknown): Promise<void> {
    // A sensor_error renews nothing: a faulty sensor lets the output go to safe.
    for await (const event of sub) {
      if (event.event !== 'edge' && event.event !== 'reading') continue;
      for (const b of this.rules) if (matches(b)) this.apply(b, value(event, b));
    }
  }

  private apply(b: Bound, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    const v = mappedValue(b.rule, value, this.last.get(b.pin));
    this.last.set(b.pin, v);
    try {
      // A PWM output keeps the frequency it runs at; only the duty follows the peer.
      if (b.pwm) this.board.pwm(b.pin, this.board.pwmFrequency(b.pin) ?? 1000, v, this.peer.lease_s);
      else this.board.writePin(b.pin, v === 0 ? 0 : 1, this.peer.lease_s);
    } catch (err) {
      this.say(`pin ${b.pin}: ${err instanceof Error ? err.message : String(err)}`, 'cannot drive ');
    }
  }

  /** A rule's problem, logged once per connection however often it recurs (several may alternate). */
  private say(message: string, prefix: string): void {
    if (!this.said.has(message)) this.logger.warn(`peer ${this.peer.name}: ${prefix}${message}`);
    this.said.add(message);
    this.lastError = message;
  }
}

function valueOf(values: unknown, quantity: string | undefined): unknown {
  return typeof values === 'object' && values !== null && quantity !== undefined ? (values as Record<string, unknown>)[quantity] : undefined;
}
