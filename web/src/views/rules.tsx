// The hub's rules and bindings: what each does (the hub names pins as their boards do), where
// it comes from, when it last fired, and for an admin token the forms that make, edit, enable,
// disable and delete the rules made through the API (the config file's are read-only here). A
// dry run shows what a rule would have done over the last hour. Loaded over REST, and again
// whenever the stream says a rule fired or changed (no polling).
import { useEffect, useState } from 'preact/hooks';
import { mayAdmin, type Api, type ApiIdentity, type DryRun, type JsonObject, type RuleView } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { ago, clockTime, dateTime } from '../format.js';
import { useModel, useNow } from '../hooks.js';
import type { HubModel } from '../model.js';
import { pinLabel, pinsOf, type PinView } from './pins.js';
import { draftOf, EMPTY_DRAFT, RuleForm, type BoardChoices, type Draft } from './rule-form.js';

type Editing = { name?: string; draft: Draft } | undefined;

export function RulesPage({ api, model, identity, onError }: { api: Api; model: HubModel; identity: ApiIdentity | undefined; onError: (e: ShownError) => void }) {
  const [rules, setRules] = useState<RuleView[] | undefined>(undefined);
  const [editing, setEditing] = useState<Editing>(undefined);
  const [dryRun, setDryRun] = useState<DryRun | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [reload, setReload] = useState(0);
  const pins = useBoardPins(api, model);
  const now = useNow(5000);
  useModel(model);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const load = () =>
      api
        .rules()
        .then((list) => !stopped && setRules(list))
        .catch((err: unknown) => !stopped && onError(describeError(err, 'loading the rules')));
    void load();
    const stopUpdates = model.onUpdate((u) => {
      if (u.type !== 'event' || (u.event.type !== 'rule_fired' && u.event.type !== 'rule_changed')) return;
      // A burst of firings is one reload.
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void load(), 200);
    });
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      stopUpdates();
    };
  }, [api, model, model.generation, reload]);

  // Changing rules needs an admin token (docs/api.md#rules); the hub refuses the others anyway.
  const mayEdit = mayAdmin(identity);
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      setReload((n) => n + 1);
    } catch (err) {
      onError(describeError(err, what));
    }
  };
  const runDry = (name: string) => act(`the dry run of ${name}`, async () => setDryRun(await api.dryRun({ name })));
  const boards: BoardChoices = {
    devices: [...model.rows.keys()].sort(),
    pinsOf: (device) => pins(device),
    sensorsOf: (device) => (model.rows.get(device)?.sensors ?? []).map((s) => ({ sensor: s.sensor, quantity: s.quantity })),
  };

  return (
    <section aria-labelledby="rules-title">
      <div class="page-head">
        <h1 id="rules-title">Rules</h1>
        {mayEdit && editing === undefined ? (
          <button type="button" onClick={() => setEditing({ draft: EMPTY_DRAFT })}>
            New rule
          </button>
        ) : null}
      </div>
      {identity !== undefined && !mayEdit ? (
        <p class="muted small" data-read-only>
          Signed in as {identity.name}, which may not change rules: that needs a token with the admin scope.
        </p>
      ) : null}
      {editing !== undefined ? (
        <RuleForm
          key={editing.name ?? '(new)'}
          api={api}
          {...(editing.name !== undefined ? { editing: editing.name } : {})}
          initial={editing.draft}
          boards={boards}
          onSaved={() => {
            setEditing(undefined);
            setReload((n) => n + 1);
          }}
          onCancel={() => setEditing(undefined)}
          onDryRun={setDryRun}
        />
      ) : null}
      {dryRun !== undefined ? <DryRunResult run={dryRun} pins={pins} onClose={() => setDryRun(undefined)} /> : null}
      {rules === undefined ? (
        <p class="loading">Loading…</p>
      ) : rules.length === 0 ? (
        <p class="empty">
          The hub runs no rules. {mayEdit ? 'Make one with New rule, or add' : 'Add'} them under <code>rules</code> and <code>bindings</code> in the hub config (docs/hub-config.md).
        </p>
      ) : (
        <div class="table-wrap">
          <table class="rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">What it does</th>
                <th scope="col">From</th>
                <th scope="col">Last fired</th>
                <th scope="col">Fired</th>
                <th scope="col">Last error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.name} data-rule={r.name} data-source={r.source} data-enabled={String(r.enabled)}>
                  <th scope="row">
                    {r.name}
                    {r.kind === 'binding' ? <span class="tag">binding</span> : null}
                    {!r.enabled ? <span class="tag disabled">disabled</span> : null}
                  </th>
                  <td class="what">{r.description}</td>
                  <td class="source">
                    {r.source === 'config' ? (
                      <span class="config-note" title="Change it in the hub config file and restart the hub">
                        Hub config file (read-only here)
                      </span>
                    ) : (
                      'API'
                    )}
                  </td>
                  <td class="last-fired">{r.lastFired === null ? 'never' : <time dateTime={new Date(r.lastFired).toISOString()} title={dateTime(r.lastFired)}>{ago(r.lastFired, now)}</time>}</td>
                  <td class="fired">{r.fired}</td>
                  <td class={r.lastError !== null ? 'error-text' : ''}>{r.lastError ?? '—'}</td>
                  <td>
                    <div class="rule-actions">
                      <button type="button" class="secondary" aria-label={`Dry run of ${r.name}: what it would have done in the last hour`} onClick={() => void runDry(r.name)}>
                        Dry run
                      </button>
                      {mayEdit && r.source === 'api' ? (
                        confirming === r.name ? (
                          <span role="group" aria-label={`Delete ${r.name}?`}>
                            <button type="button" class="danger" onClick={() => void act(`deleting ${r.name}`, () => api.deleteRule(r.name)).then(() => setConfirming(undefined))}>
                              Delete {r.name}
                            </button>
                            <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>
                              Keep it
                            </button>
                          </span>
                        ) : (
                          <>
                            <button type="button" class="secondary" aria-label={`Edit ${r.name}`} onClick={() => setEditing({ name: r.name, draft: draftOf(r.definition) })}>
                              Edit
                            </button>
                            <button
                              type="button"
                              class="secondary"
                              aria-label={`${r.enabled ? 'Disable' : 'Enable'} ${r.name}`}
                              onClick={() => void act(`${r.enabled ? 'disabling' : 'enabling'} ${r.name}`, () => api.setRuleEnabled(r.name, !r.enabled))}
                            >
                              {r.enabled ? 'Disable' : 'Enable'}
                            </button>
                            <button type="button" class="secondary" aria-label={`Delete ${r.name}`} onClick={() => setConfirming(r.name)}>
                              Delete
                            </button>
                          </>
                        )
                      ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Each board's pins by number, from its state: the stream's when it came, else asked once over REST. */
function useBoardPins(api: Api, model: HubModel): (device: string) => PinView[] {
  const [fetched, setFetched] = useState<ReadonlyMap<string, PinView[]>>(new Map());
  const devices = [...model.rows.keys()].sort().join('\n');
  useEffect(() => {
    let stopped = false;
    const ids = devices === '' ? [] : devices.split('\n');
    void Promise.all(ids.map(async (id) => [id, pinsOf((await api.state(id).catch(() => null)) ?? undefined)] as const)).then((entries) => !stopped && setFetched(new Map(entries)));
    return () => {
      stopped = true;
    };
  }, [api, devices, model.generation]);
  return (device) => {
    const live = model.states.get(device);
    return live !== undefined ? pinsOf(live.state) : (fetched.get(device) ?? []);
  };
}

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?');
const obj = (v: unknown): JsonObject => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {});

/** `relay (pin 15) of shed`: the board's own name for the pin when it reported one. */
function pinOf(device: unknown, pin: unknown, pins: (device: string) => PinView[]): string {
  const known = pins(str(device)).find((p) => p.pin === pin);
  return `${known !== undefined ? pinLabel(known) : `pin ${str(pin)}`} of ${str(device)}`;
}

function DryRunResult({ run, pins, onClose }: { run: DryRun; pins: (device: string) => PinView[]; onClose: () => void }) {
  const what = (detail: JsonObject, device: string): string => {
    const http = obj(detail.http);
    if (detail.http !== undefined) return `send ${str(http.method)} ${str(http.url)}`;
    const value = detail.value === 1 ? 'on' : detail.value === 0 ? 'off' : str(detail.value);
    return `set ${pinOf(device, detail.pin, pins)} to ${value} for ${str(detail.lease_s)} s`;
  };
  const trigger = (detail: JsonObject): string =>
    Object.entries(obj(detail.trigger))
      .filter(([k]) => k !== 'device')
      .map(([k, v]) => `${k} ${str(v)}`)
      .join(', ');
  return (
    <section class="dry-run" aria-labelledby="dry-run-title" aria-live="polite" data-dry-run={run.rule} data-fired={run.fired.length}>
      <h2 id="dry-run-title">Dry run of {run.rule}</h2>
      <p>
        From {clockTime(run.from)} to {clockTime(run.to)}, fed {run.readings} readings and {run.edges} edges, it would have fired{' '}
        <strong>{run.fired.length === 1 ? 'once' : `${run.fired.length} times`}</strong> and sent {run.writes.length} write{run.writes.length === 1 ? '' : 's'} (renewals included)
        {run.truncated ? ', and more than shown' : ''}.
      </p>
      {run.fired.length > 0 ? (
        <ol class="dry-run-fired">
          {run.fired.map((f, i) => (
            <li key={i}>
              <time dateTime={new Date(f.ts).toISOString()}>{clockTime(f.ts)}</time> {what(f.detail, f.device)}
              {trigger(f.detail) !== '' ? <span class="muted"> ({trigger(f.detail)})</span> : null}
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">Nothing in the last hour would have made it act.</p>
      )}
      <button type="button" class="secondary" onClick={onClose}>
        Close the dry run
      </button>
    </section>
  );
}
