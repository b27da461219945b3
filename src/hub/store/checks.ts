// What every store checks and says the same way: the names it accepts and the errors for ids it
// does not have or has already. One place, so that SQLite and PostgreSQL answer alike.
import { ADMIN_TOKEN_NAME } from '../api-scope.js';
import { DEVICE_ID } from '../config-fields.js';
import { HubError } from '../errors.js';

/** Letters, digits, _ . and -, like a board id: a name that is safe in a URL path and a log line. */
export const API_TOKEN_NAME = DEVICE_ID;

export function checkDeviceId(id: string): void {
  if (!DEVICE_ID.test(id)) throw new HubError('bad_request', `device id ${JSON.stringify(id)}: expected 1–64 letters, digits, _ . or -`);
}

export function deviceExists(id: string): HubError {
  return new HubError('conflict', `device ${id} is registered already; to give it a new token, use tether hub add-device --rotate`);
}

export function notFound(id: string): HubError {
  return new HubError('not_found', `no device ${JSON.stringify(id)} is registered`);
}

export function checkTokenName(name: string): void {
  if (!API_TOKEN_NAME.test(name)) throw new HubError('bad_request', `token name ${JSON.stringify(name)}: use 1–64 letters, digits, _ . or -, e.g. kitchen-tablet`);
  if (name === ADMIN_TOKEN_NAME) throw new HubError('conflict', `${ADMIN_TOKEN_NAME} is the name of the admin token in <data>/api-token; pick another name`);
}

export function tokenExists(name: string): HubError {
  return new HubError('conflict', `a token named ${JSON.stringify(name)} exists; revoke it first, or pick another name`);
}

export function boardInRollout(board: string, rollout: number): HubError {
  return new HubError('board_in_rollout', `board ${JSON.stringify(board)} is part of rollout ${rollout}, which is running; wait for it to end, or cancel it (POST /api/rollouts/${rollout}/cancel)`);
}

export function ruleExists(name: string): HubError {
  return new HubError('conflict', `a rule named ${JSON.stringify(name)} exists; pick another name`);
}
