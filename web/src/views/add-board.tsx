// "Add board" (#/add, admin tokens): registers a board through POST /api/devices and shows what
// it needs to link, ready to copy. The hub checks the id again; its coded refusal shows here.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, NewBoardLink } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { BoardLinkMaterialView } from './board-link.js';
import { ErrorDetails } from './error-details.js';

/** As the hub takes it (docs/api.md, Registering boards); the hub checks it again. */
const BOARD_ID = '[A-Za-z0-9_.\\-]{1,64}';

/** What to try next for the codes POST /api/devices answers with. */
const ADD_NEXT: Record<string, string> = {
  conflict: 'A board with this id is registered already: pick another id, or give that board a new token on its page.',
  bad_request: 'Use 1–64 of A–Z a–z 0–9 _ . - for the id.',
};

export function AddBoardPage({ api, mayAdmin }: { api: Api; mayAdmin: boolean }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [made, setMade] = useState<NewBoardLink | undefined>(undefined);
  const result = useRef<HTMLDivElement>(null);

  // The material replaces the form: move the focus there so a screen reader reads it next.
  useEffect(() => {
    if (made !== undefined) result.current?.focus();
  }, [made]);

  if (!mayAdmin) {
    return (
      <section aria-labelledby="add-title">
        <h1 id="add-title">Add board</h1>
        <p class="notice">Adding boards needs a token with the admin scope; this one may not. Sign in with the admin token (tether hub token show prints its link).</p>
      </section>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setMade(await api.registerBoard(id.trim(), name.trim() === '' ? undefined : name.trim()));
    } catch (err) {
      const shown = describeError(err, `registering ${id.trim()}`);
      setError({ ...shown, next: ADD_NEXT[shown.code] ?? shown.next });
    } finally {
      setBusy(false);
    }
  };

  if (made !== undefined) {
    return (
      <div ref={result} tabIndex={-1} class="add-board-done">
        <p class="crumbs">
          <a href="#/">Boards</a> / add board
        </p>
        <BoardLinkMaterialView made={made} rotated={false} />
        <p class="actions">
          <a href={`#/board/${encodeURIComponent(made.device.id)}`}>Open {made.device.name}’s page</a>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setMade(undefined);
              setId('');
              setName('');
            }}
          >
            Add another board
          </button>
        </p>
      </div>
    );
  }

  return (
    <section aria-labelledby="add-title">
      <p class="crumbs">
        <a href="#/">Boards</a> / add board
      </p>
      <h1 id="add-title">Add board</h1>
      <p class="muted">
        Registers a board with this hub and shows, once, what it needs to link: its <code>config/hub.json</code> with its token, and the commands for a
        Linux board or a board on USB. The same as <code>tether hub add-device</code>.
      </p>
      <form class="add-board" onSubmit={(e) => void submit(e)} aria-describedby={error !== undefined ? 'add-error' : undefined}>
        <label>
          Board id
          <input
            name="id"
            required
            pattern={BOARD_ID}
            maxLength={64}
            autoComplete="off"
            spellcheck={false}
            aria-describedby="add-id-help"
            value={id}
            onInput={(e) => setId(e.currentTarget.value)}
          />
        </label>
        <span id="add-id-help" class="muted small">
          what the board says in its hello: 1–64 of A–Z a–z 0–9 _ . -
        </span>
        <label>
          Name <span class="muted small">(optional)</span>
          <input name="name" maxLength={100} autoComplete="off" placeholder="e.g. Garden shed" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Registering…' : 'Register board'}
        </button>
      </form>
      {error !== undefined ? (
        <div id="add-error" class="error" role="alert">
          <ErrorDetails error={error} />
        </div>
      ) : null}
    </section>
  );
}
