// Signing in: an API token of the hub, pasted here or brought by the link `tether hub token show` prints.
import { useEffect, useState } from 'preact/hooks';
import type { ShownError } from '../errors.js';
import { WithCode } from './error-details.js';

export function SignInPage({ error, busy, onSubmit }: { error: ShownError | undefined; busy: boolean; onSubmit: (token: string) => void }) {
  const [token, setToken] = useState('');
  useEffect(() => {
    const before = document.title;
    document.title = 'Sign in · Tether';
    return () => {
      document.title = before;
    };
  }, []);
  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Tether</h1>
      <p class="muted">The dashboard of this Tether hub: your boards, their pins and sensors, live.</p>
      <p>
        Open the link <code>tether hub token show</code> prints (<code>tether hub</code> and <code>tether demo</code> print it when they make the token), or
        paste an API token: the admin token is the file <code>api-token</code> in the hub’s data folder, and <code>tether hub token create</code> makes others.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim() !== '') onSubmit(token.trim());
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          aria-invalid={error !== undefined ? 'true' : undefined}
          aria-describedby={error !== undefined ? 'signin-error' : undefined}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy} aria-busy={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error !== undefined ? (
        <div class="error" role="alert" id="signin-error" data-code={error.code}>
          <p>
            <strong>
              <WithCode text={error.message} />
            </strong>
          </p>
          <p>
            <WithCode text={error.next} />
          </p>
          <p class="muted small">Error code: {error.code}</p>
        </div>
      ) : null}
    </section>
  );
}
