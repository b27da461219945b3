// A page whose code is loaded the first time it is opened (a dynamic import, its own chunk in the
// build: scripts/build-web.js), so that the first load fetches, parses and runs only what shows
// the boards list. Once loaded, it renders at once whenever it is opened again.
import type { ComponentType, FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describePageLoadError, type ShownError } from './errors.js';
import { ErrorDetails } from './views/error-details.js';

export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): FunctionComponent<P> {
  let loaded: ComponentType<P> | undefined;
  let loading: Promise<ComponentType<P>> | undefined;
  const fetchPage = () => {
    // A failed load is tried again the next time the page is opened.
    loading ??= load().then(
      (page) => (loaded = page),
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    );
    return loading;
  };
  return function LazyPage(props: P) {
    // Whether the code is in (not the component itself: useState would call a function it is given).
    const [, setReady] = useState(loaded !== undefined);
    const [error, setError] = useState<ShownError | undefined>(undefined);
    useEffect(() => {
      if (loaded !== undefined) return undefined;
      let gone = false;
      fetchPage().then(
        () => !gone && setReady(true),
        (err: unknown) => !gone && setError(describePageLoadError(err)),
      );
      return () => {
        gone = true;
      };
    }, []);
    if (loaded !== undefined) {
      const Page = loaded;
      return <Page {...props} />;
    }
    if (error !== undefined) {
      return (
        <div class="error banner" role="alert">
          <ErrorDetails error={error} />
        </div>
      );
    }
    return <p class="loading">Loading…</p>;
  };
}
