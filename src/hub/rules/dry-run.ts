// What one rule would have done over a stretch of the past: the stored readings and edges it
// listens to are fed, in time order, to a RuleEngine of its own whose commands and requests go
// nowhere but into the answer. The engine is the real one, so a dry run fires, renews and lets go
// exactly as the rule would live; the board's answers are taken as yes, without a safe value (the
// hub never guesses one), so a dry run shows no write of the safe value when a condition ends.
import { EVENTS_PAGE_MAX, READINGS_PAGE_MAX } from '../store/limits.js';
import { ManualClock } from '../../common/clock.js';
import { isInputCondition, type RuleItem } from '../config.js';
import { RuleEngine } from '../rules.js';
import type { DryRun, DryRunFiring, DryRunWrite, EventsQuery, HubUpdate, ReadingBucket, ReadingsQuery, StoredEvent } from '../types.js';
import { redactUrl } from './http-template.js';
import type { Logger } from './record.js';

/** How far back a dry run looks. */
export const DRY_RUN_WINDOW_MS = 60 * 60 * 1000;
/** At most this many firings and this many writes are listed; `truncated` says when more happened. */
export const DRY_RUN_MAX_ENTRIES = 500;

export interface DryRunSources {
  readings(q: ReadingsQuery): Promise<ReadingBucket[]>;
  events(q: EventsQuery): Promise<StoredEvent[]>;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

type Timed = { ts: number; update: HubUpdate };

export async function dryRun(item: RuleItem, sources: DryRunSources, range: { from: number; to: number }): Promise<DryRun> {
  const { from, to } = range;
  const inputs = await history(item, sources, range);
  const clock = new ManualClock();
  const at = () => from + clock.now();
  const fired: DryRunFiring[] = [];
  const writes: DryRunWrite[] = [];
  let truncated = false;
  const keep = <T>(list: T[], entry: T) => {
    if (list.length < DRY_RUN_MAX_ENTRIES) list.push(entry);
    else truncated = true;
  };
  const engine = new RuleEngine(item.kind === 'rule' ? { rules: [item.config], bindings: [] } : { rules: [], bindings: [item.config] }, {
    // The board says yes and names no safe value: what the rule does next depends on nothing made up.
    sender: {
      command: (device, request) => {
        keep(writes, { ts: at(), device, request });
        return Promise.resolve({ ...request, ok: true });
      },
    },
    clock,
    logger: quiet,
    wallClock: at,
    onFired: (_rule, device, detail) => keep(fired, { ts: at(), device, detail }),
    fetch: (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const device = fired.at(-1)?.device ?? '';
      keep(writes, { ts: at(), device, request: { http: { method: init?.method ?? 'GET', url: redactUrl(url) } } });
      return Promise.resolve(new Response(null, { status: 200 }));
    },
  });
  try {
    for (const { ts, update } of inputs.updates) {
      await clock.advance(Math.max(0, ts - at()));
      engine.handle(update);
      // Lets the commands' replies (and a waiting write behind them) settle before the next input.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await clock.advance(Math.max(0, to - at()));
  } finally {
    engine.close();
  }
  return { rule: item.config.name, from, to, readings: inputs.readings, edges: inputs.edges, fired, writes, truncated: truncated || inputs.truncated };
}

/** The readings or edges the rule listens to in the range, oldest first, as the hub's updates. */
type History = { updates: Timed[]; readings: number; edges: number; truncated: boolean };

async function history(item: RuleItem, sources: DryRunSources, range: { from: number; to: number }): Promise<History> {
  if (item.kind === 'binding') return edges(item.config.from.device, item.config.from.pin, sources, range);
  const { when } = item.config;
  if (isInputCondition(when)) return edges(when.device, when.pin, sources, range);
  // Every quantity of the sensor: an http rule's {values.NAME} may use the others.
  const rows = await sources.readings({ device: when.device, sensor: when.sensor, from: range.from, to: range.to, limit: READINGS_PAGE_MAX });
  const byTs = new Map<number, Record<string, number>>();
  for (const r of rows) {
    let values = byTs.get(r.ts);
    if (values === undefined) byTs.set(r.ts, (values = {}));
    values[r.quantity] = r.avg;
  }
  const updates = [...byTs]
    .sort(([a], [b]) => a - b)
    .map(([ts, values]): Timed => ({ ts, update: { type: 'reading', device: when.device, sensor: when.sensor, ts, values, units: {} } }));
  return { updates, readings: updates.length, edges: 0, truncated: rows.length >= READINGS_PAGE_MAX };
}

async function edges(device: string, pin: number, sources: DryRunSources, range: { from: number; to: number }): Promise<History> {
  const updates: Timed[] = [];
  // Paged forward by id (oldest first), as GET /api/events pages.
  for (let afterId = 0; ; ) {
    const page = await sources.events({ device, type: 'edge', from: range.from, to: range.to, afterId, limit: EVENTS_PAGE_MAX });
    for (const event of page) if ((event.data).pin === pin) updates.push({ ts: event.ts, update: { type: 'event', device, event } });
    const last = page.at(-1);
    if (page.length < EVENTS_PAGE_MAX || last === undefined) break;
    afterId = last.id;
  }
  updates.sort((a, b) => a.ts - b.ts);
  return { updates, readings: 0, edges: updates.length, truncated: false };
}
