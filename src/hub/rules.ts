// The hub's rules engine: device-to-device rules and bindings (the hub config file's and those
// made through the API, rules/rule-book.ts), fed every HubUpdate, acting through CommandSender,
// and changed live with apply(). Every action is a lease (protocol.md §4), so a hub that dies, or
// a rule that is removed, leaves no output on: the boards revert by themselves.
// docs/hub-config.md says how each kind of rule acts and why.
import type { Clock } from '../common/clock.js';
import type { JsonObject } from '../protocol/codec.js';
import { isHttpAction, isInputCondition, type BindingConfig, type Edge, type RuleConfig, type RulesConfig } from './config.js';
import { isNumber } from '../protocol/json.js';
import { BoardPins } from './rules/board-pins.js';
import { describeBinding, describeRule } from './rules/describe.js';
import { HttpCaller, HttpInputRule, HttpReadingRule } from './rules/http-rules.js';
import type { Fetch } from './rules/http-send.js';
import { LeasedOutput, type OutputTarget } from './rules/leased-output.js';
import { RuleRecord, type Logger } from './rules/record.js';
import { Binding, InputRule, ReadingRule, type RunnerParts } from './rules/runners.js';
import type { CommandSender, HubUpdate, RuleActivity } from './types.js';

export type { Logger } from './rules/record.js';

export interface RuleEngineDeps {
  sender: CommandSender;
  clock: Clock;
  logger: Logger;
  /** Called each time a rule acts; `device` is the board it writes to (for a `rule_fired` event). */
  onFired?: (rule: string, device: string, detail: JsonObject) => void;
  /** Called when an http rule's request failed after its retries; `device` is the trigger's board (for a `rule_failed` event). */
  onFailed?: (rule: string, device: string, detail: JsonObject) => void;
  /** How http rules send (default the global fetch). */
  fetch?: Fetch;
  /** Wall-clock ms, to compare with the `ts` of readings and events (default Date.now). */
  wallClock?: () => number;
}

/** What one board must report for the rules: edges of these pins, readings of these sensors. */
export interface BoardWatch {
  device: string;
  pins: Array<{ pin: number; edge: Edge }>;
  sensors: string[];
}

/** One rule or binding as it runs: what it listens to, what it drives, and its record. */
interface Installed {
  /** Its config, as JSON: a rule whose config did not change keeps running as it was. */
  readonly key: string;
  readonly record: RuleRecord;
  readonly outputs: Array<LeasedOutput | HttpCaller>;
  readonly reading?: ReadingRule | HttpReadingRule;
  readonly input?: InputRule | HttpInputRule;
  readonly binding?: Binding;
}

const targetKey = (t: OutputTarget): string => `${t.device}\u0000${t.pin}`;

export class RuleEngine {
  private readonly pins = new BoardPins();
  private installed = new Map<string, Installed>();
  /** Boards the hub has said went offline since: what BoardPins knows of them may be stale. */
  private readonly offline = new Set<string>();
  private config: RulesConfig = { rules: [], bindings: [] };
  private readingRules: Array<ReadingRule | HttpReadingRule> = [];
  private inputRules: Array<InputRule | HttpInputRule> = [];
  private bindings: Binding[] = [];
  private readonly wallClock: () => number;

  constructor(config: RulesConfig, private readonly deps: RuleEngineDeps) {
    this.wallClock = deps.wallClock ?? Date.now;
    this.apply(config);
  }

  /**
   * Runs these rules and bindings from now on, without a restart: one whose config is unchanged
   * keeps running as it was (its record, its leases, its renewals); a new or changed one starts
   * afresh (a binding from its input's last level); one no longer listed stops renewing, and an
   * output no rule drives any more is set back to its safe value, or lapses on the board within its
   * lease_s where the hub does not know that value.
   */
  apply(config: RulesConfig): void {
    const next = new Map<string, Installed>();
    const made: Installed[] = [];
    const install = (name: string, key: string, make: () => Omit<Installed, 'key'>) => {
      const kept = this.installed.get(name);
      if (kept?.key === key) return next.set(name, kept);
      const fresh = { ...make(), key };
      made.push(fresh);
      next.set(name, fresh);
    };
    for (const rule of config.rules) install(rule.name, `rule ${JSON.stringify(rule)}`, () => this.installRule(rule));
    for (const b of config.bindings) install(b.name, `binding ${JSON.stringify(b)}`, () => this.installBinding(b));
    // An output no rule drives any more goes back to its safe value now (when the board told the
    // hub which it is), not a whole lease_s later; one a changed rule still drives is left to it.
    const driven = new Set([...next.values()].flatMap((i) => i.outputs.flatMap((o) => (o instanceof LeasedOutput ? [targetKey(o.target)] : []))));
    for (const [name, old] of this.installed) {
      if (next.get(name) === old) continue;
      for (const o of old.outputs) {
        if (o instanceof LeasedOutput && !driven.has(targetKey(o.target))) o.release();
        else o.close();
      }
    }
    this.installed = next;
    this.config = config;
    const all = [...next.values()];
    this.readingRules = all.flatMap((i) => (i.reading !== undefined ? [i.reading] : []));
    this.inputRules = all.flatMap((i) => (i.input !== undefined ? [i.input] : []));
    this.bindings = all.flatMap((i) => (i.binding !== undefined ? [i.binding] : []));
    // A new or changed binding takes up its input's level as last reported, if its board is
    // linked: a switch already on must not wait for its next edge to be followed again.
    for (const { binding } of made) {
      const from = binding?.config.from;
      if (binding === undefined || from === undefined || this.offline.has(from.device)) continue;
      const level = this.pins.value(from.device, from.pin);
      if (level !== undefined) binding.follow(level);
    }
  }

  private installRule(rule: RuleConfig): Omit<Installed, 'key'> {
    const { then } = rule;
    const record = this.record(rule.name, 'rule', describeRule(rule));
    if (isHttpAction(then)) {
      const caller = new HttpCaller(rule.name, then.http, { fetch: this.deps.fetch ?? globalThis.fetch, clock: this.deps.clock, record });
      return isInputCondition(rule.when)
        ? { record, outputs: [caller], input: new HttpInputRule(rule.when, caller) }
        : { record, outputs: [caller], reading: new HttpReadingRule(rule.when, caller) };
    }
    const parts = this.parts(record, { device: then.device, pin: then.pin, pwm: then.duty !== undefined, freq: then.freq, leaseS: then.lease_s });
    return isInputCondition(rule.when)
      ? { record, outputs: [parts.output], input: new InputRule(rule.when, then, parts) }
      : { record, outputs: [parts.output], reading: new ReadingRule(rule.when, then, parts) };
  }

  private installBinding(b: BindingConfig): Omit<Installed, 'key'> {
    const record = this.record(b.name, 'binding', describeBinding(b));
    const parts = this.parts(record, { device: b.to.device, pin: b.to.pin, pwm: false, leaseS: b.to.lease_s });
    return { record, outputs: [parts.output], binding: new Binding(b, parts) };
  }

  /** Feed every hub update. Never throws: a rule's trouble is logged and shown in views(). */
  handle(update: HubUpdate): void {
    try {
      this.dispatch(update);
    } catch (err) {
      this.deps.logger.error(`rules: cannot handle a ${update.type} update: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  views(): RuleActivity[] {
    return [...this.installed.values()].map((i) => i.record.view());
  }

  /** The edge subscriptions and sensors each board must report for these rules, one entry per board. */
  watches(): BoardWatch[] {
    const boards = new Map<string, { pins: Map<number, Edge>; sensors: Set<string> }>();
    const board = (device: string) => {
      let b = boards.get(device);
      if (b === undefined) boards.set(device, (b = { pins: new Map(), sensors: new Set() }));
      return b;
    };
    const watchPin = (device: string, pin: number, edge: Edge) => {
      const pins = board(device).pins;
      const prev = pins.get(pin);
      // One subscription per pin (protocol.md §5.14): rules wanting different edges share "both" and filter.
      pins.set(pin, prev === undefined || prev === edge ? edge : 'both');
    };
    for (const rule of this.config.rules) {
      if (isInputCondition(rule.when)) watchPin(rule.when.device, rule.when.pin, rule.when.edge);
      else board(rule.when.device).sensors.add(rule.when.sensor);
    }
    // A binding follows the level both ways.
    for (const b of this.config.bindings) watchPin(b.from.device, b.from.pin, 'both');
    return [...boards].map(([device, b]) => ({
      device,
      pins: [...b.pins].sort(([a], [c]) => a - c).map(([pin, edge]) => ({ pin, edge })),
      sensors: [...b.sensors],
    }));
  }

  /** Stops every renewal; commands under way finish, http requests under way are aborted, nothing new is sent. */
  close(): void {
    for (const i of this.installed.values()) for (const o of i.outputs) o.close();
  }

  private dispatch(update: HubUpdate): void {
    switch (update.type) {
      case 'device':
        if (update.device.online) this.offline.delete(update.device.id);
        else {
          this.offline.add(update.device.id);
          for (const b of this.bindings) if (b.config.from.device === update.device.id) b.sourceLost();
        }
        return;
      case 'state':
        this.pins.applyState(update.device, update.state);
        // A state that comes after its board went offline (a reply or an event still being taken
        // in) is known, but drives no binding: the source is lost until it links again.
        if (this.offline.has(update.device)) return;
        for (const b of this.bindings) {
          const level = b.config.from.device === update.device ? this.pins.value(update.device, b.config.from.pin) : undefined;
          if (level !== undefined) b.follow(level);
        }
        return;
      case 'reading':
        for (const r of this.readingRules) {
          if (r.when.device === update.device && r.when.sensor === update.sensor && !this.stale(update.ts, r)) r.onReading(update);
        }
        return;
      case 'event':
        return this.onEvent(update.device, update.event.type, update.event.data, update.event.ts);
      case 'rollout':
        return;
    }
  }

  private onEvent(device: string, type: string, data: JsonObject, ts: number): void {
    const { pin, value } = data;
    if (!isNumber(pin) || !isNumber(value)) return;
    // protocol.md §7: lease_expired's `value` is the safe value the board restored.
    if (type === 'lease_expired') this.pins.noteExpired(device, pin, value);
    if (type !== 'edge') return;
    this.pins.noteValue(device, pin, value);
    for (const r of this.inputRules) if (r.when.device === device && r.when.pin === pin && !this.stale(ts, r)) r.onEdge(value, ts);
    // An edge committed after its board went offline drives no binding either (see 'state').
    if (this.offline.has(device)) return;
    for (const b of this.bindings) if (b.config.from.device === device && b.config.from.pin === pin && !this.stale(ts, b)) b.follow(value);
  }

  /**
   * A reading or edge whose lease would have ended by now is history (a board's backlog after an
   * outage, protocol.md §10.4): acting on it would hold an output for a condition long gone.
   */
  private stale(ts: number, runner: { staleAfterS: number }): boolean {
    return ts + runner.staleAfterS * 1000 < this.wallClock();
  }

  private record(name: string, kind: RuleActivity['kind'], description: string): RuleRecord {
    const { logger, onFired, onFailed } = this.deps;
    return new RuleRecord(name, kind, description, { logger, wallClock: this.wallClock, onFired, onFailed });
  }

  private parts(record: RuleRecord, target: OutputTarget): RunnerParts {
    const where = `pin ${target.pin} of ${target.device}`;
    const output = new LeasedOutput(target, { sender: this.deps.sender, clock: this.deps.clock, pins: this.pins, settled: (error) => record.settled(where, error) });
    return { record, output, pins: this.pins };
  }
}
