// The form that starts a rollout (admin tokens): a release the hub keeps (GET /api/releases),
// the boards to update, each with the firmware it runs now, and the size of the first wave. The
// boards are taken top to bottom: the first ones checked are the first wave, as the form shows.
import { useEffect, useState } from 'preact/hooks';
import { type Api, type ReleaseView, type RolloutView } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { byteSize, dateTime } from '../format.js';
import type { HubModel } from '../model.js';
import { ErrorDetails } from './error-details.js';

export function RolloutForm({ api, model, onStarted, onClose }: { api: Api; model: HubModel; onStarted: (r: RolloutView) => void; onClose: () => void }) {
  const [releases, setReleases] = useState<ReleaseView[] | undefined>(undefined);
  const [version, setVersion] = useState('');
  const [checked, setChecked] = useState<ReadonlySet<string>>(new Set());
  const [waveSize, setWaveSize] = useState(1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(undefined);

  useEffect(() => {
    let stopped = false;
    api.releases().then(
      (list) => {
        if (stopped) return;
        setReleases(list);
        // The newest release is the likeliest to roll out.
        setVersion(list.at(-1)?.version ?? '');
      },
      (err: unknown) => !stopped && setError(describeError(err, 'loading the releases')),
    );
    return () => {
      stopped = true;
    };
  }, [api]);

  // A board in a running rollout cannot be in another (the hub answers board_in_rollout).
  const busyIn = new Map<string, number>();
  for (const r of model.rollouts.values()) if (r.state === 'running') for (const b of r.boards) busyIn.set(b.device, r.id);
  const boards = [...model.rows.values()].map((r) => r.device).sort((a, b) => a.id.localeCompare(b.id));
  const chosen = boards.filter((d) => checked.has(d.id)).map((d) => d.id);
  const firstWave = Math.min(waveSize, chosen.length);

  const toggle = (id: string, on: boolean) => {
    const next = new Set(checked);
    if (on) next.add(id);
    else next.delete(id);
    setChecked(next);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onStarted(await api.startRollout({ version, boards: chosen, waveSize }));
    } catch (err) {
      setError(describeError(err, `starting the rollout of ${version}`));
      setBusy(false);
    }
  };

  return (
    <form class="rollout-form" aria-labelledby="rollout-form-title" onSubmit={(e) => void submit(e)}>
      <h2 id="rollout-form-title">Start a rollout</h2>
      {releases === undefined && error === undefined ? (
        <p class="loading">Loading the releases…</p>
      ) : releases?.length === 0 ? (
        <p class="empty" data-no-releases>
          The hub keeps no firmware releases. On the hub's computer, add one with <code>tether hub release add DIR</code> (docs/hub.md, "Firmware releases").
        </p>
      ) : releases !== undefined ? (
        <div class="rollout-field">
          <label for="rollout-release">Release</label>
          <select id="rollout-release" value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
            {releases.map((r) => (
              <option key={r.version} value={r.version}>
                {r.version} · {r.files} files, {byteSize(r.totalBytes)} · added {dateTime(r.addedAt)}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <fieldset>
        <legend>Boards</legend>
        <p class="muted small" id="rollout-boards-help">
          Checked boards are taken top to bottom: the first {waveSize === 1 ? 'one is' : `${waveSize} are`} the first wave, the rest follow once each of those confirmed the release.
        </p>
        {boards.length === 0 ? (
          <p class="empty">No boards are registered.</p>
        ) : (
          <ul class="rollout-boards" aria-describedby="rollout-boards-help">
            {boards.map((d) => {
              const at = chosen.indexOf(d.id);
              const other = busyIn.get(d.id);
              return (
                <li key={d.id}>
                  <label>
                    <input type="checkbox" name="board" value={d.id} checked={checked.has(d.id)} disabled={other !== undefined} onChange={(e) => toggle(d.id, e.currentTarget.checked)} />
                    <span>
                      <strong>{d.name}</strong>
                      {d.name !== d.id ? <span class="muted"> ({d.id})</span> : null}
                      <span class="muted small" data-firmware>
                        {' '}
                        · {d.firmware || 'firmware unknown'} · {d.online ? 'online' : 'offline'}
                        {other !== undefined ? ` · in rollout ${other}` : ''}
                      </span>
                    </span>
                  </label>
                  {at >= 0 ? <span class="tag">wave {at < firstWave ? 1 : 2}</span> : null}
                </li>
              );
            })}
          </ul>
        )}
      </fieldset>
      <div class="rollout-field">
        <label for="rollout-wave">First wave, boards</label>
        <input id="rollout-wave" type="number" min={1} max={Math.max(1, chosen.length)} step={1} value={waveSize} onInput={(e) => setWaveSize(Math.max(1, Math.floor(Number(e.currentTarget.value) || 1)))} />
      </div>
      {error !== undefined ? (
        <div class="error" role="alert">
          <ErrorDetails error={error} />
        </div>
      ) : null}
      <p class="rollout-summary" id="rollout-summary" aria-live="polite">
        {chosen.length === 0
          ? 'Check the boards to update.'
          : `${version || 'The release'} to ${chosen.length} board${chosen.length === 1 ? '' : 's'}: ${chosen.slice(0, firstWave).join(', ')} first${chosen.length > firstWave ? `, then ${chosen.slice(firstWave).join(', ')}` : ''}.`}
      </p>
      <div class="rule-buttons">
        <button type="submit" aria-describedby="rollout-summary" disabled={busy || version === '' || chosen.length === 0}>
          {busy ? 'Starting…' : 'Start rollout'}
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
