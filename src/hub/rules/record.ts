// What the engine keeps of a rule (RuleActivity): how often it fired, when, and its latest error.
import type { JsonObject } from '../../protocol/codec.js';
import type { RuleActivity } from '../types.js';

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
  /** An action that failed for good (an http rule's request after its retries); `detail` has `code` and `message`. */
  onFailed?: (rule: string, device: string, detail: JsonObject) => void;
}

export class RuleRecord {
  private fired = 0;
  private lastFired: number | null = null;
  private lastError: string | null = null;

  constructor(
    readonly name: string,
    readonly kind: RuleActivity['kind'],
    readonly description: string,
    private readonly deps: RecordDeps,
  ) {}

  /** The rule acted: `device` is the board it wrote to. */
  fire(device: string, detail: JsonObject): void {
    this.fired++;
    this.lastFired = this.deps.wallClock();
    this.deps.logger.debug(`rule "${this.name}" fired: ${device} ${JSON.stringify(detail)}`);
    this.tell('onFired', device, detail);
  }

  /** The action failed for good: shown as `code: message` until a later one succeeds, and told to onFailed. */
  failed(device: string, failure: JsonObject & { code: string; message: string }): void {
    this.lastError = `${failure.code}: ${failure.message}`;
    this.deps.logger.warn(`rule "${this.name}": ${this.lastError}`);
    this.tell('onFailed', device, failure);
  }

  private tell(listener: 'onFired' | 'onFailed', device: string, detail: JsonObject): void {
    try {
      this.deps[listener]?.(this.name, device, detail);
    } catch (err) {
      this.deps.logger.error(`rule "${this.name}": the ${listener} listener threw: ${String(err)}`);
    }
  }

  /** A command's outcome: an error stays in the view until a later command succeeds. */
  settled(target: string, error: string | null): void {
    if (error !== null) this.deps.logger.warn(`rule "${this.name}": ${target}: ${error}`);
    this.lastError = error === null ? null : `${target}: ${error}`;
  }

  view(): RuleActivity {
    return { name: this.name, kind: this.kind, description: this.description, lastFired: this.lastFired, fired: this.fired, lastError: this.lastError };
  }
}
