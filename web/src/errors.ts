// What to do about an error: the hub's message says what went wrong; these say what to try next,
// by the error's stable code (docs/api.md#error-codes, protocol.md §6).
import { ApiError } from './api.js';

const NEXT_STEP: Record<string, string> = {
  unauthenticated: 'Sign in again: open the link that `tether hub token show` prints on the hub’s computer, or paste the token from the file `api-token` in the hub’s data folder.',
  forbidden: 'This token’s scope does not allow it; sign in with a token that does (tether hub token create NAME --scope control).',
  rate_limited: 'Too many wrong tokens came from this address; wait the time the message says, then sign in with the right one.',
  hub_unreachable: 'Check that `tether hub` is running and that this address is the hub’s.',
  device_offline: 'The board is not linked to the hub now: check its power and WiFi. It shows online again by itself.',
  timeout: 'The board did not answer in time; the command may still run when its link comes back.',
  board_restarted: 'The board restarted before the command reached it; look at its pins, then send it again.',
  not_found: 'The board is not registered with this hub; pick one from the boards list.',
  shutting_down: 'The hub is stopping; try again when it is back.',
  storage_full: 'The hub’s disk is full: free space in its data folder (or set retention.max_mb). It carries on by itself.',
  lease_too_long: 'Pick a shorter lease: the pin’s longest is max_lease_s in the board config.',
  pin_conflict: 'The pin is in use in another way (see the message); change the board config or free the pin first.',
  missing_field: 'The dashboard sent an incomplete command; reload the page and try again.',
  bad_field: 'A value is out of range for this pin; see the message.',
  unauthorized: 'The board has tokens of its own: give the hub one that allows this (board config, auth).',
  busy: 'The board is busy; try again in a moment.',
  internal: 'Something failed inside the hub or the board; its log has the details.',
  rule_invalid: 'Fix the fields marked in the form: each says what the hub expects there.',
  rule_read_only: 'This rule comes from the hub’s config file: change it there and restart the hub, or make a rule of your own on this page.',
};

export interface ShownError {
  code: string;
  message: string;
  next: string;
}

export function describeError(err: unknown, what: string): ShownError {
  if (err instanceof ApiError) {
    return { code: err.code, message: `${what}: ${err.message}`, next: NEXT_STEP[err.code] ?? 'See docs/api.md#error-codes for this code.' };
  }
  return { code: 'internal', message: `${what}: ${err instanceof Error ? err.message : String(err)}`, next: NEXT_STEP['internal'] ?? '' };
}

/**
 * Why signing in failed, for the person at the form: the hub's own message for a refused token is
 * written for API clients (which header to send), so the page says it in its own words.
 */
export function describeSignInError(err: unknown, refused: string): ShownError {
  if (err instanceof ApiError && err.code === 'unauthenticated') {
    return {
      code: err.code,
      message: refused,
      next: 'Check that you pasted the whole token, or open the sign-in link again: `tether hub token show`, run on the hub’s computer, prints it. `tether hub token create` makes a new token.',
    };
  }
  return describeError(err, 'signing in');
}

/**
 * Why a page's code (loaded when the page is first opened: lazy-page.tsx) did not load: the hub
 * is down, or it was updated since this tab loaded the dashboard and no longer has that code.
 */
export function describePageLoadError(err: unknown): ShownError {
  return {
    code: 'page_not_loaded',
    message: `loading this page's code: ${err instanceof Error ? err.message : String(err)}`,
    next: 'Reload the page: the hub may have been updated or restarted since this tab opened the dashboard. If that fails too, check that `tether hub` is running.',
  };
}
