// Small hooks the views share.
import { useEffect, useReducer, useState } from 'preact/hooks';
import type { Api } from './api.js';
import type { HubModel } from './model.js';

/** How often the hub's own state (its storage, its MQTT bridge) is asked again: the stream does not carry it. */
const CHECK_EVERY_MS = 10_000;

/** Re-renders the component after the model changed (once per animation frame at most). */
export function useModel(model: HubModel): void {
  const [, bump] = useReducer((n: number, _: undefined) => n + 1, 0);
  const rendered = model.version;
  useEffect(() => {
    const unsubscribe = model.subscribe(() => bump(undefined));
    // The effect runs after the paint: a change between the render and now (a stream message while
    // a lazily loaded page came in) would stay unseen until the next one, which may never come.
    if (model.version !== rendered) bump(undefined);
    return unsubscribe;
  }, [model]);
}

/** The wall-clock time, moved on every `everyMs` while `active` (for "3 s ago" and countdowns). */
export function useNow(everyMs: number, active = true): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return undefined;
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs, active]);
  return now;
}

/**
 * What `ask` last answered: asked once `ready` (the boards list is in, so that the hub answers the
 * list first), then every 10 s, and again whenever `live` changes (the stream came back, so the
 * hub may have changed meanwhile). A failed ask keeps the last answer: the hub being unreachable
 * has its own banner.
 */
export function useHubCheck<T>(api: Api, ask: (api: Api) => Promise<T>, live: boolean, ready: boolean): T | undefined {
  const [answer, setAnswer] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (!ready) return undefined;
    let stopped = false;
    const check = () =>
      void ask(api).then(
        (value) => !stopped && setAnswer(() => value),
        () => undefined,
      );
    check();
    const timer = window.setInterval(check, CHECK_EVERY_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
    // `ask` is a fixed question of each caller; only a new api, a stream that came back or the list being in asks anew.
  }, [api, live, ready]);
  return answer;
}
