// The client SDK's public API.
export { connect, DEFAULT_CONNECT_TIMEOUT_MS, type ConnectOptions } from './connection.js';
export { BoardClient, DEFAULT_TIMEOUT_MS } from './board-client.js';
export { Subscription, EventStream } from './subscription.js';
export { DEFAULT_EVENT_BUFFER } from './event-queue.js';
export { TetherError, isTetherError, CLIENT_ERROR_CATALOGUE, CLIENT_ERROR_CODES, type ClientErrorCode, type TetherErrorCode } from './errors.js';
export type * from './types.js';
export type { JsonObject } from '../protocol/index.js';
export { HubApi, HubApiError, type FieldProblem, type HubApiOptions } from './hub-api.js';
