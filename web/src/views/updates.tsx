// Firmware updates: the rollouts, newest first, with their state and why one stopped (#/updates),
// and one rollout's page (#/updates/ID) with each board's wave, state, phase, versions, upload
// progress and result. Both read the model, which the stream's rollout updates keep current (no
// polling). Admin tokens get the form that starts a rollout, and a cancel that asks first.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { mayAdmin, type Api, type ApiIdentity, type RolloutBoardView, type RolloutView } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { ago, byteSize, sinceText } from '../format.js';
import { useModel, useNow } from '../hooks.js';
import type { HubModel } from '../model.js';
import { RolloutForm } from './rollout-form.js';

const BOARD_STATE: Record<RolloutBoardView['state'], string> = {
  waiting: 'waiting',
  updating: 'updating',
  confirmed: 'confirmed',
  unchanged: 'had it already',
  failed: 'failed',
  aborted: 'aborted',
  skipped: 'skipped',
};

/** What an updating board is doing (docs/hub.md, "Rolling a release out"). */
const PHASE: Record<string, string> = {
  connecting: 'waiting for its link',
  planned: 'about to upload',
  uploading: 'uploading',
  committed: 'restarting into the release',
  on_trial: 'on trial: checking its health',
};

/** Why the rollout ended early, in a sentence; null when it did not. */
function reasonText(r: RolloutView): string | null {
  if (r.reason === null) return null;
  const message = r.reason.message.replace(/\.$/, '');
  if (r.state === 'cancelled') return `Cancelled: ${message}.`;
  return `Stopped by ${r.reason.device ?? 'the release'}: ${r.reason.code}: ${message}. No board started after it.`;
}

/** "3 boards: 1 confirmed, 1 updating, 1 waiting". */
function boardCounts(r: RolloutView): string {
  const counts = new Map<string, number>();
  for (const b of r.boards) counts.set(BOARD_STATE[b.state], (counts.get(BOARD_STATE[b.state]) ?? 0) + 1);
  const parts = [...counts].map(([state, n]) => `${n} ${state}`);
  return `${r.boards.length} board${r.boards.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** Where a running rollout is: which wave runs, and what waits for it. */
function progressText(r: RolloutView): string {
  switch (r.state) {
    case 'done':
      return `Done: every board runs ${r.version}.`;
    case 'stopped':
    case 'cancelled':
      return reasonText(r) ?? r.state;
    case 'running': {
      const firstOpen = r.boards.some((b) => b.wave === 1 && (b.state === 'waiting' || b.state === 'updating'));
      const second = r.boards.filter((b) => b.wave === 2).length;
      if (firstOpen) return second > 0 ? `Wave 1 is under way; wave 2 (${second} board${second === 1 ? '' : 's'}) waits until each board of wave 1 confirmed ${r.version}.` : 'Under way.';
      return 'Wave 2 is under way.';
    }
  }
}

export function UpdatesPage({ api, model, identity }: { api: Api; model: HubModel; identity: ApiIdentity | undefined }) {
  useModel(model);
  const [starting, setStarting] = useState(false);
  const now = useNow(10_000);
  const mayStart = mayAdmin(identity);
  const rollouts = [...model.rollouts.values()].sort((a, b) => b.id - a.id);
  return (
    <section aria-labelledby="updates-title">
      <div class="page-head">
        <h1 id="updates-title">Updates</h1>
        {mayStart && !starting ? (
          <button type="button" onClick={() => setStarting(true)}>
            New rollout
          </button>
        ) : null}
      </div>
      {identity !== undefined && !mayStart ? (
        <p class="muted small" data-read-only>
          Signed in as {identity.name}, which may watch rollouts but not start or cancel them: that needs a token with the admin scope.
        </p>
      ) : null}
      {starting ? (
        <RolloutForm
          api={api}
          model={model}
          onStarted={(view) => {
            model.setRollout(view);
            setStarting(false);
            location.hash = `#/updates/${view.id}`;
          }}
          onClose={() => setStarting(false)}
        />
      ) : null}
      {!model.rolloutsLoaded ? (
        model.loaded ? (
          <p class="empty">The hub did not list its rollouts; they show when the page reconnects.</p>
        ) : (
          <p class="loading">Loading…</p>
        )
      ) : rollouts.length === 0 ? (
        <p class="empty">No firmware rollouts yet. {mayStart ? 'Start one with New rollout: it' : 'A rollout'} sends a release the hub keeps to boards in two waves (docs/hub.md).</p>
      ) : (
        <ol class="rollouts" aria-label="Rollouts, newest first">
          {rollouts.map((r) => {
            const reason = reasonText(r);
            return (
            <li key={r.id} data-rollout={r.id} data-state={r.state}>
              <div class="rollout-head">
                <a href={`#/updates/${r.id}`}>
                  Rollout {r.id}: {r.version}
                </a>
                <span class={`tag state-${r.state}`}>{r.state}</span>
              </div>
              <p class="muted small">
                {boardCounts(r)} · started {ago(r.createdAt, now)} by {r.createdBy}
              </p>
              {reason !== null ? <p class={r.state === 'stopped' ? 'error-text' : 'muted'}>{reason}</p> : null}
            </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

export function RolloutPage({ api, model, id, identity, onError }: { api: Api; model: HubModel; id: number; identity: ApiIdentity | undefined; onError: (e: ShownError) => void }) {
  useModel(model);
  const now = useNow(10_000);
  const [missing, setMissing] = useState<string | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  /** Closes the question and gives the focus back to the button that asked it. */
  const keep = () => {
    setConfirming(false);
    opener.current?.focus();
  };
  const rollout = model.rollouts.get(id);
  const known = rollout !== undefined;

  // The snapshot holds the last 100 rollouts: an older one is asked for by its id.
  useEffect(() => {
    if (known || !model.loaded) return undefined;
    let stopped = false;
    api.rollout(id).then(
      (view) => !stopped && model.setRollout(view),
      (err: unknown) => !stopped && setMissing(describeError(err, `loading rollout ${id}`).message),
    );
    return () => {
      stopped = true;
    };
  }, [api, model, id, known, model.loaded]);
  // The question takes the focus, so the keyboard and a screen reader land on it.
  useLayoutEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);

  if (rollout === undefined) {
    return (
      <section aria-labelledby="rollout-title">
        <p class="crumbs">
          <a href="#/updates">Updates</a> ›
        </p>
        <h1 id="rollout-title">Rollout {id}</h1>
        {missing !== undefined ? <p class="error-text">{missing}</p> : <p class="loading">Loading…</p>}
      </section>
    );
  }
  const cancel = async () => {
    setCancelling(true);
    try {
      model.setRollout(await api.cancelRollout(id));
      setConfirming(false);
    } catch (err) {
      onError(describeError(err, `cancelling rollout ${id}`));
    } finally {
      setCancelling(false);
    }
  };
  const mayCancel = mayAdmin(identity) && rollout.state === 'running';
  return (
    <section aria-labelledby="rollout-title" data-rollout-page={id} data-state={rollout.state}>
      <p class="crumbs">
        <a href="#/updates">Updates</a> ›
      </p>
      <div class="page-head">
        <h1 id="rollout-title">
          Rollout {id}: {rollout.version}
        </h1>
        <span class={`tag state-${rollout.state}`}>{rollout.state}</span>
      </div>
      <p role="status" class={`rollout-progress${rollout.state === 'stopped' ? ' error' : ''}`} data-reason-device={rollout.reason?.device ?? undefined} data-reason-code={rollout.reason?.code ?? undefined}>
        {progressText(rollout)}
      </p>
      <dl class="facts">
        <div>
          <dt>Started</dt>
          <dd>
            {sinceText(rollout.createdAt, now)} by {rollout.createdBy}
          </dd>
        </div>
        <div>
          <dt>First wave</dt>
          <dd>
            {rollout.waveSize} board{rollout.waveSize === 1 ? '' : 's'}
          </dd>
        </div>
        {rollout.endedAt !== null ? (
          <div>
            <dt>Ended</dt>
            <dd>{sinceText(rollout.endedAt, now)}</dd>
          </div>
        ) : null}
      </dl>
      {mayCancel ? (
        <p class="actions">
          <button ref={opener} type="button" class="secondary danger" aria-haspopup="dialog" onClick={() => setConfirming(true)}>
            Cancel rollout…
          </button>
        </p>
      ) : null}
      {mayCancel && confirming ? (
        <div class="confirm" role="alertdialog" aria-labelledby="cancel-question" aria-describedby="cancel-detail" onKeyDown={(e) => e.key === 'Escape' && keep()}>
          <p id="cancel-question">
            <strong>Cancel rollout {id}?</strong>
          </p>
          <p id="cancel-detail">No board starts after this and the uploads under way stop; a board already restarting into {rollout.version} keeps it.</p>
          <div class="actions">
            <button type="button" class="danger" ref={confirmButton} disabled={cancelling} onClick={() => void cancel()}>
              Cancel rollout {id}
            </button>
            <button type="button" class="secondary" disabled={cancelling} onClick={keep}>
              Keep it running
            </button>
          </div>
        </div>
      ) : null}
      {[1, 2].map((wave) => {
        const boards = rollout.boards.filter((b) => b.wave === wave);
        if (boards.length === 0) return null;
        return (
          <div key={wave}>
            <h2 id={`wave-${wave}`}>Wave {wave}</h2>
            <ul class="rollout-board-list" aria-labelledby={`wave-${wave}`}>
              {boards.map((b) => (
                <RolloutBoard key={b.device} board={b} name={model.rows.get(b.device)?.device.name ?? b.device} />
              ))}
            </ul>
          </div>
        );
      })}
    </section>
  );
}

function RolloutBoard({ board: b, name }: { board: RolloutBoardView; name: string }) {
  const percent = b.totalBytes > 0 ? Math.floor((b.sentBytes / b.totalBytes) * 100) : 0;
  return (
    <li class="rollout-board" data-rollout-board={b.device} data-state={b.state} data-phase={b.phase ?? ''}>
      <div class="rollout-head">
        <a href={`#/board/${encodeURIComponent(b.device)}`}>{name}</a>
        <span class={`tag state-${b.state}`}>{BOARD_STATE[b.state]}</span>
        {b.state === 'updating' && b.phase !== null ? <span class="muted small">{PHASE[b.phase] ?? b.phase}</span> : null}
      </div>
      <p class="rollout-versions">
        <span class="muted small">Version </span>
        <span data-versions>
          {b.fromVersion ?? '—'} → {b.version ?? '—'}
        </span>
      </p>
      {b.totalBytes > 0 ? (
        <div class="rollout-upload">
          <progress max={b.totalBytes} value={b.sentBytes} aria-label={`Upload to ${name}`} aria-valuetext={`${percent}%, ${byteSize(b.sentBytes)} of ${byteSize(b.totalBytes)}`} />
          <span class="muted small">
            {byteSize(b.sentBytes)} of {byteSize(b.totalBytes)} ({percent}%)
          </span>
        </div>
      ) : null}
      {b.error !== null ? (
        <p class="error-text" data-error-code={b.error.code}>
          {b.error.code}: {b.error.message}
        </p>
      ) : null}
    </li>
  );
}
