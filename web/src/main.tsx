// The dashboard: sign-in, then the boards list, one board's page, the rules, or the firmware
// updates, chosen by the address's hash (#/, #/board/ID, #/rules, #/updates, #/updates/ID). One
// live stream feeds every page. Only the boards list is in the first script: the other pages are
// loaded when first opened (lazy-page.tsx).
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { Api, ApiError, mayAdmin, mayControl, type ApiIdentity } from './api.js';
import { describeError, describeSignInError, type ShownError } from './errors.js';
import { lazyPage } from './lazy-page.js';
import { LiveStream, type LinkStatus } from './live.js';
import { HubModel } from './model.js';
import { BoardsPage } from './views/boards.js';
import { ErrorDetails } from './views/error-details.js';
import { MqttStatusLine } from './views/mqtt-status.js';
import { SignInPage } from './views/signin.js';
import { StorageBanner } from './views/storage-banner.js';

const BoardPage = lazyPage(() => import('./views/board.js').then((m) => m.BoardPage));
const AddBoardPage = lazyPage(() => import('./views/add-board.js').then((m) => m.AddBoardPage));
const RulesPage = lazyPage(() => import('./views/rules.js').then((m) => m.RulesPage));
const UpdatesPage = lazyPage(() => import('./views/updates.js').then((m) => m.UpdatesPage));
const RolloutPage = lazyPage(() => import('./views/updates.js').then((m) => m.RolloutPage));

const TOKEN_KEY = 'tether.token';

type Route = { page: 'boards' } | { page: 'board'; id: string } | { page: 'rules' } | { page: 'add' } | { page: 'updates' } | { page: 'rollout'; id: number };

function routeOf(hash: string): Route {
  const board = /^#\/board\/(.+)$/.exec(hash);
  if (board?.[1] !== undefined) return { page: 'board', id: decodeURIComponent(board[1]) };
  if (hash === '#/add') return { page: 'add' };
  const rollout = /^#\/updates\/(\d+)$/.exec(hash);
  if (rollout?.[1] !== undefined) return { page: 'rollout', id: Number(rollout[1]) };
  if (hash === '#/updates') return { page: 'updates' };
  return hash === '#/rules' ? { page: 'rules' } : { page: 'boards' };
}

/** A token brought by the sign-in link (#token=…), taken out of the address bar and history at once. */
function tokenFromLink(): string | undefined {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match?.[1] === undefined) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return decodeURIComponent(match[1]);
}

interface Session {
  api: Api;
  model: HubModel;
  live: LiveStream;
}

/** Asks the hub who the token is; undefined when the hub cannot say now (it is tried again at each reconnect). */
async function identify(api: Api): Promise<ApiIdentity | undefined> {
  try {
    return await api.whoami();
  } catch {
    return undefined;
  }
}

function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [signInError, setSignInError] = useState<ShownError | undefined>(undefined);
  const [checking, setChecking] = useState(false);
  /** Until the first sign-in attempt ends: a remembered token must not flash the sign-in form. */
  const [starting, setStarting] = useState(true);
  const [status, setStatus] = useState<LinkStatus>('connecting');
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  /** The token's name and scope; until known, the page offers nothing that needs more than read. */
  const [identity, setIdentity] = useState<ApiIdentity | undefined>(undefined);
  /** Whether the boards list has loaded (or failed to) since signing in: the hub's own checks wait for it. */
  const [boardsIn, setBoardsIn] = useState(false);

  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signOut = (why?: ShownError) => {
    session?.live.stop();
    localStorage.removeItem(TOKEN_KEY);
    setSession(undefined);
    setIdentity(undefined);
    setSignInError(why);
  };

  const signIn = async (token: string) => {
    setChecking(true);
    const api = new Api(token);
    setIdentity(undefined);
    setBoardsIn(false);
    const model = new HubModel();
    // The stream opens while the hub says who the token is, so the boards load a round trip sooner.
    const whoami = api.whoami();
    let firstHello = true;
    /** Until whoami answered, a refused stream is the sign-in's to explain. */
    let signedIn = false;
    const live: LiveStream = new LiveStream(token, {
      opened: () => {
        setError(undefined);
        // At the first hello the sign-in's answer (unless the hub was down then); at each reconnect, asked again.
        const asked = firstHello ? whoami.catch(() => identify(api)) : identify(api);
        firstHello = false;
        void asked.then((who) => who !== undefined && setIdentity(who));
        void model
          .load(api)
          .catch((err: unknown) => setError(describeError(err, 'loading the boards')))
          .finally(() => setBoardsIn(true));
      },
      message: (m) => model.apply(m),
      status: (s) => {
        setStatus(s);
        // Until the next snapshot, what the page last heard may no longer be true.
        if (s !== 'live') model.lost();
      },
      refused: () => {
        if (!signedIn) return;
        // A refused upgrade looks like any dropped socket to a browser; ask the REST API why.
        api.health().catch((err: unknown) => {
          if (err instanceof ApiError && err.code === 'unauthenticated') {
            live.stop();
            localStorage.removeItem(TOKEN_KEY);
            setSession(undefined);
            setSignInError(describeSignInError(err, 'The hub no longer accepts this token: it was deleted or replaced.'));
          }
        });
      },
    });
    setStatus('connecting');
    live.start();
    try {
      setIdentity(await whoami);
    } catch (err) {
      setChecking(false);
      setStarting(false);
      if (err instanceof ApiError && err.code === 'unauthenticated') {
        live.stop();
        localStorage.removeItem(TOKEN_KEY);
        setSignInError(describeSignInError(err, 'The hub did not accept this token.'));
        return;
      }
      // The hub is down or restarting: keep the token, and let the stream keep trying.
      setError(describeError(err, 'reaching the hub'));
    }
    signedIn = true;
    setChecking(false);
    setStarting(false);
    localStorage.setItem(TOKEN_KEY, token);
    setSignInError(undefined);
    setSession({ api, model, live });
  };

  // A layout effect: it runs as soon as the first render is done, not after the next paint, so the
  // requests that sign in and open the stream leave a frame sooner.
  useLayoutEffect(() => {
    const token = tokenFromLink() ?? localStorage.getItem(TOKEN_KEY) ?? undefined;
    if (token !== undefined) void signIn(token);
    else setStarting(false);
    // Once, at start: later sign-ins come from the form.
  }, []);

  if (session === undefined) {
    if (starting) return <p class="loading">Signing in…</p>;
    return (
      <main id="main">
        <SignInPage error={signInError} busy={checking} onSubmit={(t) => void signIn(t)} />
      </main>
    );
  }
  const { api, model } = session;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Tether
        </a>
        <nav aria-label="Pages">
          <a href="#/" aria-current={route.page === 'boards' || route.page === 'board' ? 'page' : undefined}>
            Boards
          </a>
          <a href="#/rules" aria-current={route.page === 'rules' ? 'page' : undefined}>
            Rules
          </a>
          <a href="#/updates" aria-current={route.page === 'updates' || route.page === 'rollout' ? 'page' : undefined}>
            Updates
          </a>
          {mayAdmin(identity) ? (
            <a href="#/add" aria-current={route.page === 'add' ? 'page' : undefined}>
              Add board
            </a>
          ) : null}
        </nav>
        <span class={`link ${status}`} role="status" data-status={status}>
          {status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        {identity !== undefined ? (
          <span class="who" data-scope={identity.scope} title={`The token ${identity.name} may ${identity.scope === 'read' ? 'only read' : identity.scope === 'control' ? 'read and switch outputs' : 'do everything'}`}>
            {identity.name} ({identity.scope})
          </span>
        ) : null}
        <button type="button" class="secondary sign-out" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      {status === 'reconnecting' ? (
        <p class="banner" role="status">
          Cannot reach the hub; reconnecting. Until it answers, whether each board is online is unknown, and what you see may be out of date.
        </p>
      ) : null}
      <StorageBanner api={api} live={status === 'live'} ready={boardsIn} />
      <MqttStatusLine api={api} live={status === 'live'} ready={boardsIn} />
      {/* While the stream is down its notice already says the hub cannot be reached. */}
      {error !== undefined && !(error.code === 'hub_unreachable' && status !== 'live') ? (
        <div class="error banner" role="alert">
          <ErrorDetails error={error} />
          <button type="button" class="secondary" onClick={() => setError(undefined)}>
            Dismiss
          </button>
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>
        {route.page === 'board' ? (
          <BoardPage key={route.id} api={api} model={model} id={route.id} mayControl={mayControl(identity)} identity={identity} onError={setError} />
        ) : route.page === 'add' ? (
          <AddBoardPage api={api} mayAdmin={mayAdmin(identity)} />
        ) : route.page === 'updates' ? (
          <UpdatesPage api={api} model={model} identity={identity} />
        ) : route.page === 'rollout' ? (
          <RolloutPage key={route.id} api={api} model={model} id={route.id} identity={identity} onError={setError} />
        ) : route.page === 'rules' ? (
          <RulesPage api={api} model={model} identity={identity} onError={setError} />
        ) : (
          <BoardsPage model={model} />
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
