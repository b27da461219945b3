// The hub's rules and bindings with when each last fired. Loaded over REST, and again whenever
// the stream says a rule fired (no polling).
import { useEffect, useState } from 'preact/hooks';
import type { Api, RuleView } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { ago, dateTime } from '../format.js';
import { useNow } from '../hooks.js';
import type { HubModel } from '../model.js';

export function RulesPage({ api, model, onError }: { api: Api; model: HubModel; onError: (e: ShownError) => void }) {
  const [rules, setRules] = useState<RuleView[] | undefined>(undefined);
  const now = useNow(5000);

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
      if (u.type !== 'event' || u.event.type !== 'rule_fired') return;
      // A burst of firings is one reload.
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void load(), 200);
    });
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      stopUpdates();
    };
  }, [api, model, model.generation]);

  return (
    <section aria-labelledby="rules-title">
      <div class="page-head">
        <h1 id="rules-title">Rules</h1>
      </div>
      {rules === undefined ? (
        <p class="loading">Loading…</p>
      ) : rules.length === 0 ? (
        <p class="empty">
          The hub runs no rules. Add them under <code>rules</code> and <code>bindings</code> in the hub config (docs/hub-config.md).
        </p>
      ) : (
        <div class="table-wrap">
          <table class="rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">What it does</th>
                <th scope="col">Last fired</th>
                <th scope="col">Fired</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.name} data-rule={r.name}>
                  <th scope="row">
                    {r.name}
                    {r.kind === 'binding' ? <span class="tag">binding</span> : null}
                  </th>
                  <td>{r.description}</td>
                  <td class="last-fired">{r.lastFired === null ? 'never' : <time dateTime={new Date(r.lastFired).toISOString()} title={dateTime(r.lastFired)}>{ago(r.lastFired, now)}</time>}</td>
                  <td>{r.fired}</td>
                  <td class={r.lastError !== null ? 'error-text' : ''}>{r.lastError ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
