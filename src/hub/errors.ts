// The hub's own error codes, beside the protocol's (protocol.md §6) that it relays from boards.
// docs/api.md lists the same codes; test/hub/error-docs.test.ts fails when the two differ.
import { ERROR_CATALOGUE, type ErrorSpec } from '../protocol/errors.js';

export const HUB_ERROR_CATALOGUE = {
  not_found: { summary: 'No board (or other resource) of that id is registered; list them with GET /api/devices.', httpStatus: 404 },
  device_offline: { summary: 'The board is registered but not linked now; commands are never queued for later.', httpStatus: 409 },
  board_restarted: { summary: 'The board restarted before the command reached it; it was not sent to the new boot (stale commands are never replayed).', httpStatus: 409 },
  timeout: { summary: 'The board did not answer in time; the command may still run when the link comes back.', httpStatus: 504 },
  expired: {
    summary: 'A lease write that could not reach the board in time was dropped, so that it cannot switch an output on late; send it again if it is still wanted.',
    httpStatus: 504,
  },
  rule_invalid: {
    summary: 'The rule does not pass the checks of the hub config (docs/hub-config.md), alone or beside the other rules; `error.problems` lists each problem with the path of its field.',
    httpStatus: 400,
  },
  rule_read_only: { summary: 'The rule comes from the hub config file: change it there and restart the hub; the API changes only the rules it made.', httpStatus: 409 },
  conflict: { summary: 'The resource exists already (a device id registered twice).', httpStatus: 409 },
  bad_request: { summary: 'The request body or query does not match the API; the message names the field.', httpStatus: 400 },
  unauthenticated: { summary: 'The API call has no bearer token or an unknown one; the token is in <data>/api-token.', httpStatus: 401 },
  forbidden: { summary: 'The token is known but its scope does not cover this route; the message names the scope needed.', httpStatus: 403 },
  rate_limited: { summary: 'Too many wrong API tokens came from this address; wait for the Retry-After seconds, then use the right token.', httpStatus: 429 },
  shutting_down: { summary: 'The hub is stopping; try again when it is back.', httpStatus: 503 },
  unknown_release: { summary: 'The hub holds no firmware release of that version; add one with tether hub release add DIR, list them with tether hub release list.', httpStatus: 404 },
  no_boards: { summary: 'A rollout names no board; give the boards to update in `boards`.', httpStatus: 400 },
  board_in_rollout: { summary: 'A board is part of a running rollout already; wait for it to end, or cancel it.', httpStatus: 409 },
  rollout_ended: { summary: 'The rollout has ended already (done, stopped or cancelled); there is nothing to cancel.', httpStatus: 409 },
  storage_full: {
    summary: "The hub cannot write to its database (disk full, read-only or failing); reads still work, and writes resume by themselves once it can. Free disk space in the hub's data folder.",
    httpStatus: 507,
  },
  store_unavailable: {
    summary: 'The hub cannot reach its database (a PostgreSQL server down or unreachable); try again shortly: the hub reconnects by itself.',
    httpStatus: 503,
  },
} as const satisfies Record<string, ErrorSpec>;

export type HubErrorCode = keyof typeof HUB_ERROR_CATALOGUE;

/**
 * Protocol codes the hub itself answers with, for a board: a command longer than the board's
 * max_frame is refused at the API exactly as the board would refuse the frame (protocol.md §10.7).
 */
export type HubRaisedProtocolCode = 'frame_too_large';

/** One problem of a request's field: `path` as the hub config writes it (`then.lease_s`, `(top level)`). */
export interface FieldProblem {
  path: string;
  message: string;
}

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode | HubRaisedProtocolCode,
    message: string,
    /** Each field's problem, when the request had several (rule_invalid). */
    readonly problems?: readonly FieldProblem[],
  ) {
    super(message);
    this.name = 'HubError';
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  toWire(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The HTTP status for any code the API may answer with: the hub's own or a board's. */
export function httpStatusOf(code: string): number {
  if (Object.hasOwn(HUB_ERROR_CATALOGUE, code)) return HUB_ERROR_CATALOGUE[code as HubErrorCode].httpStatus;
  if (Object.hasOwn(ERROR_CATALOGUE, code)) return ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].httpStatus;
  return 500;
}
