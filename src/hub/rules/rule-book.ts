// The rules the hub runs, from two places: the hub config file's (read-only here: the file is
// their one source) and the API's (kept in the store, changed while the hub runs). Every change
// is checked by the config file's own schema and cross-rule checks (config.ts), with the file's
// rules and the stored ones beside it, then stored, then applied to the running engine, then
// logged as a `rule_changed` event. docs/api.md ("Rules") describes the routes over it.
import { formatPath } from '../../common/config-text.js';
import type { JsonObject } from '../../protocol/codec.js';
import { parseBoardState } from '../../protocol/replies.js';
import { checkRuleItems, isHttpAction, ruleItemSchema, type BindingConfig, type HubConfig, type PlacedRuleItem, type RuleConfig, type RuleItem } from '../config.js';
import { HubError, type FieldProblem } from '../errors.js';
import type { RuleEngine } from '../rules.js';
import type { HubStore, StoredRule } from '../store/port.js';
import type { DryRun, RuleBook, RuleView } from '../types.js';
import { describeBinding, describeRule, type PinLabel } from './describe.js';
import { DRY_RUN_WINDOW_MS, dryRun, type DryRunSources } from './dry-run.js';
import type { Logger } from './record.js';

/** What `rule_changed` events say happened (docs/api.md). */
export type RuleChange = 'created' | 'updated' | 'enabled' | 'disabled' | 'deleted';

export type RuleStorePort = Pick<HubStore, 'storedRules' | 'addRule' | 'replaceRule' | 'removeRule'>;

export interface RuleBookDeps {
  /** The hub config: its rules and bindings, and the telemetry intervals leases are checked against. */
  config: Pick<HubConfig, 'rules' | 'bindings' | 'telemetry'>;
  store: RuleStorePort;
  engine: Pick<RuleEngine, 'apply' | 'views'>;
  /** Where dry runs read the past. */
  history: DryRunSources;
  /** A board's last reported state (HubFacade.state), for the names its pins go by. */
  boardState: (device: string) => JsonObject | null;
  wallNow: () => number;
  /** Tells the other hubs sharing the store that the stored rules changed (HubContext.announce). */
  shared?: () => void;
  /** Logs a hub event for a board (HubContext.recordEvent). */
  recordEvent: (device: string, type: string, data: JsonObject) => void;
  logger: Logger;
}

interface Entry {
  name: string;
  source: RuleView['source'];
  enabled: boolean;
  /** What was written: the file's entry or the JSON the API accepted. */
  definition: JsonObject;
  /** The checked rule; undefined for a stored one that no longer passes the checks (see `problem`). */
  item?: RuleItem;
  /** Why a stored rule is not run: it fails a check it passed when it was stored (the config file changed since). */
  problem?: string;
}

/** Marks the paths of the other rules in a check, so that only the candidate's problems are kept. */
const OTHER = '\u0000other';

export class HubRuleBook implements RuleBook {
  private entries: Entry[] = [];
  /** The change being made: changes run one at a time, each checked against the rules as the last one left them. */
  private changing: Promise<unknown> = Promise.resolve();

  /** The file's rules and the stored ones, applied to the engine. */
  static async load(deps: RuleBookDeps): Promise<HubRuleBook> {
    return new HubRuleBook(deps, await deps.store.storedRules());
  }

  private constructor(
    private readonly deps: RuleBookDeps,
    storedRules: StoredRule[],
  ) {
    this.fill(storedRules);
  }

  /** Reads the stored rules again (another hub sharing the store changed them) and applies them. */
  reload(): Promise<void> {
    return this.oneAtATime(async () => {
      this.fill(await this.deps.store.storedRules());
    });
  }

  private fill(storedRules: StoredRule[]): void {
    const { config } = this.deps;
    this.entries = [];
    for (const rule of config.rules) this.entries.push({ name: rule.name, source: 'config', enabled: true, definition: asJson(rule), item: { kind: 'rule', config: rule } });
    for (const b of config.bindings) this.entries.push({ name: b.name, source: 'config', enabled: true, definition: asJson(b), item: { kind: 'binding', config: b } });
    // Each stored rule is checked beside the file's and the stored ones before it: a file edited
    // since may now clash with it, and then the file wins and the stored rule waits, shown with why.
    for (const stored of storedRules) {
      const entry: Entry = { name: stored.name, source: 'api', enabled: stored.enabled, definition: stored.definition };
      try {
        entry.item = this.check(stored.definition);
      } catch (err) {
        entry.problem = err instanceof HubError ? err.message : String(err);
        this.deps.logger.warn(`rules: the stored rule "${stored.name}" is not run: ${entry.problem}; change it or delete it through the API`);
      }
      this.entries.push(entry);
    }
    this.applyToEngine();
  }

  list(): RuleView[] {
    const activity = new Map(this.deps.engine.views().map((v) => [v.name, v]));
    return this.entries.map((e) => this.view(e, activity.get(e.name)));
  }

  create(definition: unknown, by: string): Promise<RuleView> {
    return this.oneAtATime(async () => {
      const item = this.check(definition);
      const entry: Entry = { name: item.config.name, source: 'api', enabled: true, definition: definition as JsonObject, item };
      await this.deps.store.addRule(entry, this.deps.wallNow(), by);
      this.entries.push(entry);
      return this.changed(entry, 'created', by);
    });
  }

  update(name: string, definition: unknown, by: string): Promise<RuleView> {
    return this.oneAtATime(async () => {
      const old = this.stored(name);
      const item = this.check(definition, old);
      const entry: Entry = { name: item.config.name, source: 'api', enabled: old.enabled, definition: definition as JsonObject, item };
      await this.deps.store.replaceRule(name, entry, this.deps.wallNow(), by);
      this.entries[this.entries.indexOf(old)] = entry;
      return this.changed(entry, 'updated', by, name !== entry.name ? { was: name } : {});
    });
  }

  setEnabled(name: string, enabled: boolean, by: string): Promise<RuleView> {
    return this.oneAtATime(async () => {
      const old = this.stored(name);
      if (old.enabled === enabled) return this.view(old);
      // A stored rule the config file now clashes with is enabled only once it passes again.
      const item = enabled && old.item === undefined ? this.check(old.definition, old) : old.item;
      const entry: Entry = { name, source: 'api', enabled, definition: old.definition, ...(item !== undefined ? { item } : {}), ...(item === undefined && old.problem !== undefined ? { problem: old.problem } : {}) };
      await this.deps.store.replaceRule(name, entry, this.deps.wallNow(), by);
      this.entries[this.entries.indexOf(old)] = entry;
      return this.changed(entry, enabled ? 'enabled' : 'disabled', by);
    });
  }

  remove(name: string, by: string): Promise<void> {
    return this.oneAtATime(async () => {
      const old = this.stored(name);
      await this.deps.store.removeRule(name);
      this.entries = this.entries.filter((e) => e !== old);
      this.changed(old, 'deleted', by);
    });
  }

  private oneAtATime<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changing.then(change);
    this.changing = run.catch(() => undefined);
    return run;
  }

  /**
   * A listed rule as it is, or a definition checked on its own (not beside the others: it may be
   * the next version of a listed rule, which shares its name and its output).
   */
  async dryRun(rule: { name: string } | { definition: unknown }): Promise<DryRun> {
    let item: RuleItem;
    if ('name' in rule) {
      const entry = this.find(rule.name);
      item = entry.item ?? this.check(entry.definition, entry);
    } else {
      item = this.checkAlone(rule.definition);
    }
    const to = this.deps.wallNow();
    return dryRun(item, this.deps.history, { from: to - DRY_RUN_WINDOW_MS, to });
  }

  private find(name: string): Entry {
    const entry = this.entries.find((e) => e.name === name);
    if (entry === undefined) throw new HubError('not_found', `no rule or binding is named ${JSON.stringify(name)}; GET /api/rules lists them`);
    return entry;
  }

  /** A rule the API may change: one it made, not one of the config file. */
  private stored(name: string): Entry {
    // A stored rule whose name the config file took since is still the API's to change or delete.
    const own = this.entries.find((e) => e.name === name && e.source === 'api');
    if (own !== undefined) return own;
    const entry = this.find(name);
    if (entry.source === 'config') {
      throw new HubError('rule_read_only', `the rule ${JSON.stringify(name)} comes from the hub config file; change it there and restart the hub (the API changes only the rules it made)`);
    }
    return entry;
  }

  private changed(entry: Entry, change: RuleChange, by: string, extra: JsonObject = {}): RuleView {
    this.applyToEngine();
    this.deps.shared?.();
    this.deps.recordEvent(boardOf(entry), 'rule_changed', { rule: entry.name, change, by, ...extra });
    this.deps.logger.info(`rules: ${by} ${change} the rule "${entry.name}"`);
    return this.view(entry, this.deps.engine.views().find((v) => v.name === entry.name));
  }

  private applyToEngine(): void {
    const running = this.entries.filter((e) => e.enabled && e.item !== undefined).map((e) => e.item as RuleItem);
    this.deps.engine.apply({
      rules: running.flatMap((i) => (i.kind === 'rule' ? [i.config] : [])),
      bindings: running.flatMap((i) => (i.kind === 'binding' ? [i.config] : [])),
    });
  }

  /**
   * Checks a definition as the config file's rules would be: its own fields, then beside every
   * other rule and binding (the file's and the stored ones, enabled or not: a disabled rule keeps
   * its name and its output, so enabling it again cannot clash). `replacing` is the entry it
   * would take the place of, not a config rule of the same name. Throws rule_invalid with each
   * problem's path inside the definition.
   */
  private check(definition: unknown, replacing?: Entry): RuleItem {
    const item = this.parse(definition);
    const problems: FieldProblem[] = [];
    const others = this.entries.filter((e) => e !== replacing);
    // A stored rule that fails its checks has no item for checkRuleItems, but it keeps its name.
    if (others.some((e) => e.item === undefined && e.name === item.config.name)) {
      problems.push({ path: 'name', message: `the name "${item.config.name}" is used by another rule; pick another name` });
    }
    const placed: PlacedRuleItem[] = others.flatMap((e, i) => (e.item !== undefined ? [{ item: e.item, path: [OTHER, i], who: `${e.item.kind} "${e.name}"${e.source === 'config' ? ' of the hub config file' : ''}` }] : []));
    placed.push({ item, path: [], who: `${item.kind} "${item.config.name}"` });
    checkRuleItems(placed, this.deps.config, (path, message) => {
      if (path[0] !== OTHER) problems.push({ path: formatPath(path), message });
    });
    if (problems.length > 0) throw invalid(problems);
    return item;
  }

  /** The checks of one rule on its own: its fields, and those cross checks that need only it and the telemetry. */
  private checkAlone(definition: unknown): RuleItem {
    const item = this.parse(definition);
    const problems: FieldProblem[] = [];
    checkRuleItems([{ item, path: [], who: `${item.kind} "${item.config.name}"` }], this.deps.config, (path, message) => problems.push({ path: formatPath(path), message }));
    if (problems.length > 0) throw invalid(problems);
    return item;
  }

  private parse(definition: unknown): RuleItem {
    const result = ruleItemSchema.safeParse(definition);
    if (!result.success) throw invalid(result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
    const config = result.data;
    return 'from' in config ? { kind: 'binding', config } : { kind: 'rule', config };
  }

  /** `relay (pin 15) of shed` once the board reported a name for the pin, else `pin 15 of shed`. */
  private readonly pinLabel: PinLabel = (device, pin) => {
    const state = this.deps.boardState(device);
    const name = state === null ? undefined : parseBoardState(state).pins.find((p) => p.pin === pin)?.name;
    return name !== undefined ? `${name} (pin ${pin}) of ${device}` : `pin ${pin} of ${device}`;
  };

  private view(e: Entry, activity?: { lastFired: number | null; fired: number; lastError: string | null }): RuleView {
    const kind = e.item?.kind ?? (Object.hasOwn(e.definition, 'from') ? 'binding' : 'rule');
    const description = e.item === undefined ? (typeof e.definition.description === 'string' ? e.definition.description : '') : e.item.kind === 'rule' ? describeRule(e.item.config, this.pinLabel) : describeBinding(e.item.config, this.pinLabel);
    return {
      name: e.name,
      kind,
      description,
      lastFired: activity?.lastFired ?? null,
      fired: activity?.fired ?? 0,
      lastError: e.problem !== undefined && e.item === undefined ? `not run: ${e.problem}` : (activity?.lastError ?? null),
      source: e.source,
      enabled: e.enabled,
      definition: e.item !== undefined ? asJson(e.item.config) : e.definition,
    };
  }
}

function invalid(problems: FieldProblem[]): HubError {
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: see error.problems)` : '';
  return new HubError('rule_invalid', `${first?.path ?? '(top level)'}: ${first?.message ?? 'invalid'}${more}`, problems);
}

/** The board a rule's `rule_changed` events are logged under: the one it writes to, or for an http rule the one it listens to. */
function boardOf(e: Entry): string {
  const config: RuleConfig | BindingConfig | undefined = e.item?.config;
  if (config === undefined) return deviceIn(e.definition.then) ?? deviceIn(e.definition.to) ?? deviceIn(e.definition.when) ?? '';
  if ('to' in config) return config.to.device;
  return isHttpAction(config.then) ? config.when.device : config.then.device;
}

function deviceIn(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && typeof (value as { device?: unknown }).device === 'string' ? (value as { device: string }).device : undefined;
}

/** A checked config entry is JSON through and through (zod's output of JSON input). */
function asJson(config: RuleConfig | BindingConfig): JsonObject {
  return config;
}
