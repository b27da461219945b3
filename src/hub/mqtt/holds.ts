// Outputs switched on from MQTT: each is a LeasedOutput (the rules' own), written with a lease and
// renewed while it stays on, the board stays linked and the broker stays connected. Whenever one
// of those goes, renewing stops and the board's lease ends it (docs/mqtt.md "On and off are
// leases"); nothing here ever turns an output back on by itself.
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../device/logger.js';
import { BoardPins } from '../rules/board-pins.js';
import { LeasedOutput } from '../rules/leased-output.js';
import type { BoardState } from '../../protocol/replies.js';
import type { CommandSender } from '../types.js';

/** A PWM peripheral reports the duty it could set, which may differ from the one asked in the last digits. */
const DUTY_TOLERANCE = 0.002;

export interface HoldTarget {
  board: string;
  pin: number;
  pwm: boolean;
  leaseS: number;
  renewS: number;
}

export interface HeldOutputsDeps {
  sender: CommandSender;
  clock: Clock;
  logger: Logger;
}

export class HeldOutputs {
  /** What the boards last said about their pins (state, write replies, lease_expired). */
  readonly pins = new BoardPins();
  private readonly outputs = new Map<string, LeasedOutput>();
  /**
   * Outputs a state report has shown at the value held. Only these can be seen changed by
   * someone else: a report sent before our write landed (an edge elsewhere re-publishes the
   * last state) shows the old value and says nothing about other writers.
   */
  private readonly confirmed = new WeakSet<LeasedOutput>();

  constructor(private readonly deps: HeldOutputsDeps) {}

  /** Sets the output: held and renewed when `value` is not its safe value, written plainly when it is. */
  set(target: HoldTarget, value: number): void {
    const output = this.outputOf(target);
    this.confirmed.delete(output);
    output.write(value);
    output.keepRenewing(value);
  }

  /** Stops renewing one board's outputs (its link went, or it restored a safe value by itself). */
  letGo(board: string, pin?: number): void {
    for (const output of this.outputs.values()) {
      if (output.target.device === board && (pin === undefined || output.target.pin === pin)) output.letGo();
    }
  }

  /**
   * A state the board reported: an output it shows at another value than the one held, with no
   * write of ours under way, was set by someone else (the dashboard, a rule, a script). The last
   * writer wins; renewing ours would switch it back behind their back.
   */
  noteState(board: string, state: BoardState): void {
    for (const output of this.outputs.values()) {
      const held = output.holding();
      if (output.target.device !== board || held === undefined || output.pending() !== undefined) continue;
      const pin = state.pins.find((p) => p.pin === output.target.pin);
      const reported = pin?.mode === 'pwm' ? pin.duty : pin?.mode === 'output' ? pin.value : undefined;
      if (reported === undefined) continue;
      if (Math.abs(reported - held) <= DUTY_TOLERANCE) {
        this.confirmed.add(output);
        continue;
      }
      if (!this.confirmed.has(output)) continue;
      output.letGo();
      this.deps.logger.info(`mqtt: pin ${output.target.pin} of ${board} was set to ${reported} by another writer; the hub stops holding it at ${held}`);
    }
  }

  /** Stops renewing every output (the broker went: nobody could turn them off now). */
  letGoAll(): void {
    for (const output of this.outputs.values()) output.letGo();
  }

  close(): void {
    for (const output of this.outputs.values()) output.close();
    this.outputs.clear();
  }

  private outputOf(target: HoldTarget): LeasedOutput {
    const key = `${target.board}\u0000${target.pin}`;
    const existing = this.outputs.get(key);
    // A changed lease or kind (the board's config changed) makes a fresh output.
    if (existing !== undefined && existing.target.leaseS === target.leaseS && existing.target.pwm === target.pwm && existing.target.renewS === target.renewS) return existing;
    existing?.close();
    const where = `pin ${target.pin} of ${target.board}`;
    const output = new LeasedOutput(
      { device: target.board, pin: target.pin, pwm: target.pwm, leaseS: target.leaseS, renewS: target.renewS },
      {
        sender: this.deps.sender,
        clock: this.deps.clock,
        pins: this.pins,
        settled: (error) => {
          if (error !== null) this.deps.logger.warn(`mqtt: ${where}: the board did not take the write (${error})`);
        },
      },
    );
    this.outputs.set(key, output);
    return output;
  }
}
