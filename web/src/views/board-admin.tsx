// A board's registration on its page (admin tokens): a new token, shown once with the board's
// new config, or removing the board. Each asks to be confirmed first, since the board linked
// with the old token is cut off at once.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, NewBoardLink } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import type { HubModel } from '../model.js';
import { BoardLinkMaterialView } from './board-link.js';

type Asking = 'rotate' | 'remove' | undefined;

const CONFIRM: Record<'rotate' | 'remove', { question: (id: string) => string; detail: string; yes: string }> = {
  rotate: {
    question: (id) => `Give ${id} a new token?`,
    detail: 'The token it has now stops working at once: the hub closes its link, and it links again only with the new config shown next.',
    yes: 'Yes, make a new token',
  },
  remove: {
    question: (id) => `Remove ${id} from this hub?`,
    detail: 'The hub closes its link and forgets it; it cannot link again until it is added again. Its readings and events stay until retention removes them.',
    yes: 'Yes, remove it',
  },
};

export function BoardAdminSection({ api, model, id, onError }: { api: Api; model: HubModel; id: string; onError: (e: ShownError) => void }) {
  const [asking, setAsking] = useState<Asking>(undefined);
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<NewBoardLink | undefined>(undefined);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openers = { rotate: useRef<HTMLButtonElement>(null), remove: useRef<HTMLButtonElement>(null) };
  /** Closes the question and gives the focus back to the button that asked it. */
  const cancel = () => {
    if (asking !== undefined) openers[asking].current?.focus();
    setAsking(undefined);
  };
  const materialRef = useRef<HTMLDivElement>(null);

  // The question takes the focus, so the keyboard and a screen reader land on it.
  useEffect(() => {
    if (asking !== undefined) confirmRef.current?.focus();
  }, [asking]);
  useEffect(() => {
    if (made !== undefined) materialRef.current?.focus();
  }, [made]);

  const run = async (what: 'rotate' | 'remove') => {
    setBusy(true);
    try {
      if (what === 'rotate') {
        setMade(await api.rotateBoardToken(id));
      } else {
        await api.removeBoard(id);
        // The stream has no "board removed" update: the list is loaded again.
        location.hash = '#/';
        void model.load(api).catch((err: unknown) => onError(describeError(err, 'loading the boards')));
        return;
      }
      setAsking(undefined);
    } catch (err) {
      onError(describeError(err, what === 'rotate' ? `giving ${id} a new token` : `removing ${id}`));
    } finally {
      setBusy(false);
    }
  };

  const confirm = asking !== undefined ? CONFIRM[asking] : undefined;
  return (
    <section class="board-admin" aria-labelledby="board-admin-title">
      <h2 id="board-admin-title">Registration</h2>
      <p class="actions">
        <button ref={openers.rotate} type="button" class="secondary" aria-haspopup="dialog" disabled={busy} onClick={() => setAsking('rotate')}>
          New token…
        </button>
        <button ref={openers.remove} type="button" class="secondary danger" aria-haspopup="dialog" disabled={busy} onClick={() => setAsking('remove')}>
          Remove board…
        </button>
      </p>
      {asking !== undefined && confirm !== undefined ? (
        <div
          class="confirm"
          role="alertdialog"
          aria-labelledby="confirm-question"
          aria-describedby="confirm-detail"
          data-confirm={asking}
          onKeyDown={(e) => e.key === 'Escape' && cancel()}
        >
          <p id="confirm-question">
            <strong>{confirm.question(id)}</strong>
          </p>
          <p id="confirm-detail">{confirm.detail}</p>
          <button ref={confirmRef} type="button" class={asking === 'remove' ? 'danger' : undefined} disabled={busy} onClick={() => void run(asking)}>
            {confirm.yes}
          </button>{' '}
          <button type="button" class="secondary" disabled={busy} onClick={cancel}>
            Cancel
          </button>
        </div>
      ) : null}
      {made !== undefined ? (
        <div ref={materialRef} tabIndex={-1}>
          <BoardLinkMaterialView made={made} rotated={true} />
        </div>
      ) : null}
    </section>
  );
}
