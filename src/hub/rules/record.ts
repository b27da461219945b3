// What the API shows of a rule (RuleView): how often it fired, when, and its latest error.
import type { JsonObject } from '../../protocol/codec.js';
import type { RuleView } from '../types.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface RecordDeps {
  logger: Logger;
  /** Wall-clock ms for lastFired, as the API shows times. */
  wallClock: () => number;
  onFired?: (rule: string, device: string, detail: JsonObject) => void;
}

export class RuleRecord {
  private fired = 0;
  private lastFired: number | null = null;
  private lastError: string | null = null;

  constructor(
    readonly name: string,
    readonly kind: RuleView['kind'],
    readonly description: string,
    private readonly deps: RecordDeps,
  ) {}

  /** The rule acted: `device` is the board it wrote to. */
  fire(device: string, detail: JsonObject): void {
    this.fired++;
    this.lastFired = this.deps.wallClock();
    this.deps.logger.debug(`rule "${this.name}" fired: ${device} ${JSON.stringify(detail)}`);
    try {
      this.deps.onFired?.(this.name, device, detail);
    } catch (err) {
      this.deps.logger.error(`rule "${this.name}": the onFired listener threw: ${String(err)}`);
    }
  }

  /** A command's outcome: an error stays in the view until a later command succeeds. */
  settled(target: string, error: string | null): void {
    if (error !== null) this.deps.logger.warn(`rule "${this.name}": ${target}: ${error}`);
    this.lastError = error === null ? null : `${target}: ${error}`;
  }

  view(): RuleView {
    return { name: this.name, kind: this.kind, description: this.description, lastFired: this.lastFired, fired: this.fired, lastError: this.lastError };
  }
}
