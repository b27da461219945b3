// Small hooks the views share.
import { useEffect, useReducer, useState } from 'preact/hooks';
import type { HubModel } from './model.js';

/** Re-renders the component after the model changed (once per animation frame at most). */
export function useModel(model: HubModel): void {
  const [, bump] = useReducer((n: number, _: undefined) => n + 1, 0);
  useEffect(() => model.subscribe(() => bump(undefined)), [model]);
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
