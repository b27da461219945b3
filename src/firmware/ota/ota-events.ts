// What an update reports while it runs, in order, so that a caller can show it (the CLI's
// progress line, the hub's board view) without the client printing anything itself.

export type OtaEvent =
  /** What will be sent: `unchanged` files the board already holds, `deleting` files under tether/ it drops. */
  | { type: 'planned'; running: string; version: string; files: number; bytes: number; unchanged: number; deleting: readonly string[] }
  /** The board already stages this very update: the upload resumes after its `receivedBytes`. */
  | { type: 'resuming'; receivedBytes: number }
  /** The board already checked and committed this update: only its restart is awaited. */
  | { type: 'already_committed' }
  | { type: 'upload_started'; totalBytes: number; files: number; receivedBytes: number }
  /** `index` counts from 1. */
  | { type: 'file_started'; index: number; path: string }
  | { type: 'chunk_sent'; bytes: number }
  /** After the last chunk, or when the upload stops. */
  | { type: 'upload_ended' }
  /** The board checked every file and resets in `resetInMs` to apply `version`. */
  | { type: 'committed'; version: string; resetInMs: number }
  /** The board came back running `version` on trial (once per boot). */
  | { type: 'on_trial'; version: string; bootCount: number };

export type OtaListener = (event: OtaEvent) => void;
