// The hub's REST API as the dashboard calls it: the typed client the CLI uses too
// (src/client/hub-api.ts), on the page's own origin; every failure is an ApiError with the hub's
// code (docs/api.md#errors) and its message. Which controls a token's scope is offered.
import type { ApiIdentity } from '../../src/hub/api-scope.js';
import { HubApi } from '../../src/client/hub-api.js';

export type { ApiIdentity, ApiScope } from '../../src/hub/api-scope.js';
export type {
  BoardLinkMaterial,
  DeviceSensorSummary,
  DeviceView,
  DryRun,
  HubInfo,
  MqttStatus,
  NewBoardLink,
  ReadingBucket,
  ReleaseView,
  RolloutBoardView,
  RolloutView,
  RuleView,
  SensorSummary,
  StorageStatus,
  StoredEvent,
} from '../../src/hub/types.js';
export type { JsonObject } from '../../src/protocol/json.js';

export { HubApiError as ApiError, type FieldProblem } from '../../src/client/hub-api.js';

/**
 * Whether the dashboard offers the token its switches and command forms: control and admin
 * tokens. The hub refuses a read token's commands anyway; until whoami answers, nothing is offered.
 */
export function mayControl(identity: ApiIdentity | undefined): boolean {
  return identity?.scope === 'control' || identity?.scope === 'admin';
}

/** Whether the dashboard offers the token what changes the hub's registry of boards (add, new token, remove) and its rollouts (start, cancel): admin tokens only. */
export function mayAdmin(identity: ApiIdentity | undefined): boolean {
  return identity?.scope === 'admin';
}

/** The hub's API client (src/client/hub-api.ts, shared with the CLI), on the page's own origin. */
export class Api extends HubApi {
  constructor(token: string) {
    super({ token });
  }
}
