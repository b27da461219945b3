// The hub's rules engine: device-to-device rules and bindings from the hub config, fed every
// HubUpdate, acting through CommandSender. Every action is a lease (protocol.md §4), so a hub that
// dies leaves no output on: the boards revert by themselves. docs/hub-config.md says how each
// kind of rule acts and why.
import type { Clock } from '../common/clock.js';
import type { JsonObject } from '../protocol/codec.js';
import { isHttpAction, isInputCondition, type Edge, type RulesConfig } from './config.js';
import { isNumber } from '../protocol/json.js';
import { BoardPins } from './rules/board-pins.js';
import { describeBinding, describeRule } from './rules/describe.js';
import { HttpCaller, HttpInputRule, HttpReadingRule } from './rules/http-rules.js';
import type { Fetch } from './rules/http-send.js';
import { LeasedOutput, type OutputTarget } from './rules/leased-output.js';
import { RuleRecord, type Logger } from './rules/record.js';
import { Binding, InputRule, ReadingRule, type RunnerParts } from './rules/runners.js';
import type { CommandSender, HubUpdate, RuleView } from './types.js';

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

export class RuleEngine {
  private readonly pins = new BoardPins();
  private readonly records: RuleRecord[] = [];
  private readonly outputs: Array<LeasedOutput | HttpCaller> = [];
  private readonly readingRules: Array<ReadingRule | HttpReadingRule> = [];
  private readonly inputRules: Array<InputRule | HttpInputRule> = [];
  private readonly bindings: Binding[] = [];
  private readonly wallClock: () => number;

  constructor(
    private readonly config: RulesConfig,
    private readonly deps: RuleEngineDeps,
  ) {
    this.wallClock = deps.wallClock ?? Date.now;
    for (const rule of config.rules) {
      const { then } = rule;
      if (isHttpAction(then)) {
        const caller = new HttpCaller(rule.name, then.http, { fetch: deps.fetch ?? globalThis.fetch, clock: deps.clock, record: this.record(rule.name, 'rule', describeRule(rule)) });
        this.outputs.push(caller);
        if (isInputCondition(rule.when)) this.inputRules.push(new HttpInputRule(rule.when, caller));
        else this.readingRules.push(new HttpReadingRule(rule.when, caller));
        continue;
      }
      const parts = this.parts(rule.name, 'rule', describeRule(rule), { device: then.device, pin: then.pin, pwm: then.duty !== undefined, freq: then.freq, leaseS: then.lease_s });
      if (isInputCondition(rule.when)) this.inputRules.push(new InputRule(rule.when, then, parts));
      else this.readingRules.push(new ReadingRule(rule.when, then, parts));
    }
    for (const b of config.bindings) {
      this.bindings.push(new Binding(b, this.parts(b.name, 'binding', describeBinding(b), { device: b.to.device, pin: b.to.pin, pwm: false, leaseS: b.to.lease_s })));
    }
  }

  /** Feed every hub update. Never throws: a rule's trouble is logged and shown in views(). */
  handle(update: HubUpdate): void {
    try {
      this.dispatch(update);
    } catch (err) {
      this.deps.logger.error(`rules: cannot handle a ${update.type} update: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  views(): RuleView[] {
    return this.records.map((r) => r.view());
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
    for (const o of this.outputs) o.close();
  }

  private dispatch(update: HubUpdate): void {
    switch (update.type) {
      case 'device':
        if (!update.device.online) for (const b of this.bindings) if (b.config.from.device === update.device.id) b.sourceLost();
        return;
      case 'state':
        this.pins.applyState(update.device, update.state);
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
    for (const b of this.bindings) if (b.config.from.device === device && b.config.from.pin === pin && !this.stale(ts, b)) b.follow(value);
  }

  /**
   * A reading or edge whose lease would have ended by now is history (a board's backlog after an
   * outage, protocol.md §10.4): acting on it would hold an output for a condition long gone.
   */
  private stale(ts: number, runner: { staleAfterS: number }): boolean {
    return ts + runner.staleAfterS * 1000 < this.wallClock();
  }

  private record(name: string, kind: RuleView['kind'], description: string): RuleRecord {
    const { logger, onFired, onFailed } = this.deps;
    const record = new RuleRecord(name, kind, description, { logger, wallClock: this.wallClock, onFired, onFailed });
    this.records.push(record);
    return record;
  }

  private parts(name: string, kind: RuleView['kind'], description: string, target: OutputTarget): RunnerParts {
    const record = this.record(name, kind, description);
    const where = `pin ${target.pin} of ${target.device}`;
    const output = new LeasedOutput(target, { sender: this.deps.sender, clock: this.deps.clock, pins: this.pins, settled: (error) => record.settled(where, error) });
    this.outputs.push(output);
    return { record, output, pins: this.pins };
  }
}
