// The three kinds of rule, each turning what the hub hears into writes on one LeasedOutput.
// Why each acts as it does is in docs/hub-config.md ("How rules act").
import type { BindingConfig, Edge, InputCondition, PinAction, ReadingCondition } from '../config.js';
import type { HubUpdate } from '../types.js';
import type { BoardPins } from './board-pins.js';
import type { LeasedOutput } from './leased-output.js';
import type { RuleRecord } from './record.js';

export interface RunnerParts {
  record: RuleRecord;
  output: LeasedOutput;
  pins: BoardPins;
}

abstract class Runner {
  constructor(protected readonly parts: RunnerParts) {}

  /** A reading or edge older than this is history: a lease granted for it would have ended. */
  get staleAfterS(): number {
    return this.parts.output.target.leaseS;
  }
}

export type Reading = Extract<HubUpdate, { type: 'reading' }>;

/** The level or duty a rule's `then` sets (a toggle works its value out per press). */
function fixedValue(then: PinAction): number {
  return then.duty ?? then.value ?? 1;
}

/** A reading rule holds its output while the condition holds, renewing on each reading that still matches. */
export class ReadingRule extends Runner {
  private holding = false;

  constructor(
    readonly when: ReadingCondition,
    private readonly then: PinAction,
    parts: RunnerParts,
  ) {
    super(parts);
  }

  onReading({ values }: Reading): void {
    const v = values[this.when.quantity];
    if (typeof v !== 'number') return;
    const { output, record } = this.parts;
    const wanted = fixedValue(this.then);
    const holdsNow = holds(this.when, v);
    if (holdsNow && this.holding) {
      output.renew(wanted);
    } else if (holdsNow) {
      this.holding = true;
      record.fire(this.then.device, { pin: this.then.pin, value: wanted, lease_s: this.then.lease_s, trigger: { device: this.when.device, sensor: this.when.sensor, [this.when.quantity]: v } });
      output.write(wanted);
    } else if (this.holding) {
      // Stop renewing; end the lease now only where the board told us the safe value (LeasedOutput.release).
      this.holding = false;
      output.release();
    }
  }
}

/** Whether `v` meets the condition's above, below or equals (one is given: hasComparison). */
export function holds(w: ReadingCondition, v: number): boolean {
  if (w.above !== undefined) return v > w.above;
  if (w.below !== undefined) return v < w.below;
  return v === w.equals;
}

/** Whether an edge to `level` is one the condition's `edge` asks for. */
export function edgeMatches(edge: Edge, level: number): boolean {
  return edge === 'both' || (edge === 'rising' ? level === 1 : level === 0);
}

/**
 * An input rule acts once per matching edge: a press is a moment, not a condition the hub could
 * keep checking, so its lease is simply how long the output may stay on after the press.
 */
export class InputRule extends Runner {
  constructor(
    readonly when: InputCondition,
    private readonly then: PinAction,
    parts: RunnerParts,
  ) {
    super(parts);
  }

  onEdge(level: number): void {
    if (!edgeMatches(this.when.edge, level)) return;
    const { output, record, pins } = this.parts;
    const { device, pin } = this.then;
    // A toggle flips what the output will be once the commands under way land, else what the
    // board last reported (state, a reply, lease_expired); unknown counts as off, so it turns on.
    const value = this.then.toggle === true ? 1 - (output.pending() ?? pins.value(device, pin) ?? 0) : fixedValue(this.then);
    record.fire(device, { pin, value, lease_s: this.then.lease_s, trigger: { device: this.when.device, pin: this.when.pin, value: level } });
    output.write(value);
  }
}

/** A binding mirrors an input onto an output, renewing while the output is away from its safe value. */
export class Binding extends Runner {
  private level: number | undefined;

  constructor(
    readonly config: BindingConfig,
    parts: RunnerParts,
  ) {
    super(parts);
  }

  /** The input's level, from an edge or the source board's state. */
  follow(level: number): void {
    const { output, record } = this.parts;
    const { to } = this.config;
    const value = to.invert ? 1 - level : level;
    if (level !== this.level) {
      this.level = level;
      record.fire(to.device, { pin: to.pin, value, lease_s: to.lease_s, trigger: { device: this.config.from.device, pin: this.config.from.pin, value: level } });
      output.write(value);
    } else {
      output.renew(value);
    }
    output.keepRenewing(value);
  }

  /** The source went offline: its level is unknown, so stop renewing and let the lease lapse on the board. */
  sourceLost(): void {
    this.level = undefined;
    this.parts.output.letGo();
  }
}
