// How an OTA client reaches one board: straight over TCP (direct-channel.ts), through a hub's
// REST API (hub-api-channel.ts), or, inside the hub, through its command router
// (hub-command-channel.ts). The client drives the update; the channel only carries requests and
// knows which failures are passing.
import type { JsonObject } from '../../client/index.js';
import type { UpdateStatus } from './update-status.js';

export interface OtaChannel {
  /** For messages: "192.168.1.50:12345" or "board tank (via http://…)". */
  readonly label: string;
  open(): Promise<void>;
  /** One request; resolves with an ok reply, throws TetherError for the board's refusals. */
  request(body: JsonObject, timeoutMs?: number): Promise<JsonObject>;
  /**
   * The fields that vouch for op "commit" (`manifest_mac`, protocol.md §5.19), or none where the
   * path adds its own (the hub signs a commit it relays).
   */
  commitProof(version: string, manifest: string): JsonObject;
  /** Right after commit: the board is about to reset. */
  committed(): Promise<void>;
  /** The update status, or undefined while the board cannot be reached. */
  pollStatus(remainingMs: number): Promise<UpdateStatus | undefined>;
  /** A failure that a retry may cure (the connection, the link, a timeout). */
  transient(err: unknown): boolean;
  close(): Promise<void>;
}

/** Hub error codes that a later try may not see (api.md "Error codes"): the board is away or restarting. */
export const TRANSIENT_HUB_CODES: ReadonlySet<string> = new Set(['device_offline', 'board_restarted', 'timeout', 'shutting_down']);
